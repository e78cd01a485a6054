#!/usr/bin/env bash
# The oldest Kubernetes the e2e suite runs on: kube-apiserver and kube-controller-manager 1.20.2
# built from Debian bookworm's `kubernetes` source package (vendored, no module proxy; copied from
# ../shared/k8s/build-apiserver.sh), into ${DAPR_GUARD_CACHE:-$HOME/.cache/dapr-guard}/k8s/v1.20.2/bin,
# with Debian's etcd-server (3.4.23, /usr/bin/etcd) and Go 1.19 (golang-go). No Kubernetes module of
# 1.20 builds with today's Go module graph; Debian's source does. It is the chart's
# no-matchConditions path (below 1.28).
#
# Needs: root, Debian bookworm apt sources (a deb-src entry is added when none is configured).
# Measured: ~5 min on 2 cores from nothing; a no-op (~0.2 s) when the binaries are there.
#
#   KUBE_VERSION=1.20.2 test/e2e/cluster/build.sh   (or this script directly)
#
# Env: DAPR_GUARD_CACHE, GO_BIN (default: golang-go's /usr/lib/go-1.19/bin/go), FORCE=1.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-1.20.2}
case ${KUBE_VERSION#v} in
  1.20|1.20.2) ;;
  *) echo "only 1.20.2 is buildable from Debian's source package (KUBE_VERSION=$KUBE_VERSION); others: build.sh" >&2; exit 2 ;;
esac

CACHE=${DAPR_GUARD_CACHE:-$HOME/.cache/dapr-guard}
SRC_DIR=$CACHE/k8s/v1.20.2/src
BIN_DIR=$CACHE/k8s/v1.20.2/bin
WHAT="kube-apiserver kube-controller-manager"
export DEBIAN_FRONTEND=noninteractive

T0=$(date +%s)
log() { echo "[e2e-cluster build-1.20 $(date -u +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*"; }

# 0. nothing to do when every binary is already there (CI on a machine that built them before)
if [ "${FORCE:-0}" != 1 ] && [ -x "$BIN_DIR/etcd" ]; then
  have=1
  for w in $WHAT; do
    "$BIN_DIR/$w" --version 2>/dev/null | grep -q 'v1.20.2' || have=0
  done
  if [ $have = 1 ]; then log "binaries present in $BIN_DIR ($WHAT); nothing to build"; exit 0; fi
fi

# apt-get source needs a deb-src line; add Debian bookworm's when none is configured
if ! grep -rqsE '^deb-src|Types:.*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding a deb-src source for bookworm"
  # same archive as the configured binary sources, as a deb-src entry
  awk 'BEGIN{RS="";ORS="\n\n"} /Types: *deb/ && /Suites:.*bookworm/ {sub(/Types: *deb[^\n]*/,"Types: deb-src"); print}' \
    /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/bookworm-src.sources
  [ -s /etc/apt/sources.list.d/bookworm-src.sources ] || { echo "could not derive a deb-src entry from debian.sources" >&2; exit 1; }
  apt-get -o DPkg::Lock::Timeout=900 update -qq
fi

# 1. toolchain + etcd + source tooling
need=()
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
[ -n "${GO_BIN:-}" ] || [ -x /usr/lib/go-1.19/bin/go ] || need+=(golang-go)
command -v etcd >/dev/null || need+=(etcd-server)
[ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ] || need+=(golang-github-modern-go-reflect2-dev)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${need[@]}"
fi
# Go 1.19 (Debian bookworm golang-go), what these sources were tested with; newer Go refuses their linknames
GO_BIN=${GO_BIN:-/usr/lib/go-1.19/bin/go}
log "go: $("$GO_BIN" version)"

# 2. Debian source package (full vendored Kubernetes 1.20.2 tree)
mkdir -p "$SRC_DIR" "$BIN_DIR"
src=$(ls -d "$SRC_DIR"/kubernetes-*/ 2>/dev/null | head -n1 || true)
if [ -z "$src" ]; then
  log "apt-get source kubernetes -> $SRC_DIR"
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  (cd "$SRC_DIR" && apt-get source kubernetes)
  src=$(ls -d "$SRC_DIR"/kubernetes-*/ | head -n1)
fi
src=${src%/}
log "source: $src"

# 2b. Go >= 1.18 fix: Kubernetes 1.20 vendors github.com/modern-go/reflect2 v1.0.1,
#     which calls runtime's reflect.mapiterinit through go:linkname with the
#     pre-1.18 signature. Built with Go 1.19 the apiserver then dies with
#     "fatal error: fault / SIGSEGV ... aeshashbody ... mapiternext ... reflect2"
#     the first time json-iterator encodes a map with sorted keys (e.g. when a
#     mutating webhook returns a JSONPatch). Upstream fixed this by bumping to
#     reflect2 v1.0.2 (Kubernetes 1.23+); Debian packages v1.0.2, so swap it in.
r2=vendor/github.com/modern-go/reflect2
if [ ! -f "$src/$r2/go_above_118.go" ]; then
  if [ ! -d /usr/share/gocode/src/github.com/modern-go/reflect2 ]; then
    log "apt-get install golang-github-modern-go-reflect2-dev (reflect2 1.0.2)"
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq golang-github-modern-go-reflect2-dev
  fi
  log "replacing vendored reflect2 v1.0.1 with Debian's $(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev)"
  rm -rf "$SRC_DIR/reflect2-v1.0.1.orig"
  mv "$src/$r2" "$SRC_DIR/reflect2-v1.0.1.orig"
  mkdir -p "$src/$r2"
  cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$src/$r2/"
  cp "$SRC_DIR/reflect2-v1.0.1.orig/LICENSE" "$src/$r2/"
fi

# 3. go build, vendored, offline.
#    Kubernetes 1.20's own build (hack/lib/init.sh) and Debian's debian/rules
#    build in GOPATH mode (GO111MODULE=off) with the tree symlinked at
#    $GOPATH/src/k8s.io/kubernetes; the vendor/ dir is then used implicitly.
#    Module mode (GOFLAGS=-mod=vendor) does NOT work with Go 1.19 on this tree:
#    "go: updates to go.mod needed, disabled by -mod=vendor".
#    Version ldflags so `kubectl version` and /version report v1.20.2
#    instead of v0.0.0-master.
export GO111MODULE=off GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=
export GOPATH=$SRC_DIR/.gopath
export GOCACHE=$SRC_DIR/.gocache
mkdir -p "$GOPATH/src/k8s.io"
ln -sfn "$src" "$GOPATH/src/k8s.io/kubernetes"
ver=v1.20.2
ld="-s -w"
for p in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  ld+=" -X $p.gitVersion=$ver -X $p.gitMajor=1 -X $p.gitMinor=20"
  ld+=" -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done

cd "$GOPATH/src/k8s.io/kubernetes"

# 3a. The release tarball (and so Debian's source) does not ship
#     pkg/generated/openapi/zz_generated.openapi.go; upstream's `make` generates it
#     (Makefile.generated_files, gen_openapi). Without it: "undefined:
#     openapi.GetOpenAPIDefinitions". Do exactly what that rule does for the KUBE target.
if [ ! -s pkg/generated/openapi/zz_generated.openapi.go ]; then
  log "generating pkg/generated/openapi/zz_generated.openapi.go (openapi-gen)"
  t0=$(date +%s)
  "$GO_BIN" build -o "$GOPATH/bin/openapi-gen" k8s.io/kubernetes/vendor/k8s.io/kube-openapi/cmd/openapi-gen
  dirs=$(find -H . \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune -o -type f -name '*.go' -print \
    | sed 's|^./staging/src|vendor|; s|^./||' \
    | xargs grep --color=never -l '^// *+k8s:' | xargs grep --color=never -l '+k8s:openapi-gen=' \
    | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
    | xargs -n1 dirname | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)
  "$GOPATH/bin/openapi-gen" --logtostderr -i "$dirs" \
    -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
    -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
    -r "$SRC_DIR/openapi-violations.report"
  # Sanity check, same as upstream's make rule: the API-rule report must match the known list.
  diff -q "$SRC_DIR/openapi-violations.report" api/api-rules/violation_exceptions.list >/dev/null \
    || log "WARNING: openapi-gen API-rule report differs from api/api-rules/violation_exceptions.list"
  log "openapi generated in $(( $(date +%s) - t0 ))s"
fi

for w in $WHAT; do
  log "go build k8s.io/kubernetes/cmd/$w -> $BIN_DIR/$w"
  t0=$(date +%s)
  "$GO_BIN" build -trimpath -ldflags "$ld" -o "$BIN_DIR/$w" "k8s.io/kubernetes/cmd/$w"
  log "built $w in $(( $(date +%s) - t0 ))s: $("$BIN_DIR/$w" --version 2>/dev/null)"
done
# kube-up.sh takes etcd from the bin dir when it is there
ln -sfn "$(command -v etcd)" "$BIN_DIR/etcd"
log "done in $(( $(date +%s) - T0 ))s; bin $(du -shL "$BIN_DIR" | cut -f1), source + caches $(du -sh "$SRC_DIR" | cut -f1)"
