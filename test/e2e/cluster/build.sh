#!/usr/bin/env bash
# Builds the e2e control plane from Go modules: kube-apiserver, kube-controller-manager and kubectl
# of KUBE_VERSION, and etcd, into a cache outside the repository:
#
#   ${DAPR_GUARD_CACHE:-$HOME/.cache/dapr-guard}/k8s/v<version>/bin
#
# A no-op (well under a second) when the binaries of that version are there. Nothing of Kubernetes
# is committed: a throwaway module under the cache requires k8s.io/kubernetes with one `replace`
# per staging module that k8s.io/kubernetes's own go.mod lists (they point at ./staging/src there,
# which a module dependency cannot use), pinned to v0.<minor>.<patch>.
#
#   test/e2e/cluster/build.sh                      # Kubernetes 1.37.2 (default)
#   KUBE_VERSION=1.20.2 test/e2e/cluster/build.sh  # the oldest supported: see build-1.20.sh
#
# Env: KUBE_VERSION (1.37.2), DAPR_GUARD_CACHE, ETCD_VERSION (default: the etcd client version
# Kubernetes pins), GO_BIN (default: go on PATH, else /usr/local/go/bin/go), FORCE=1 (rebuild).
# Needs Go >= 1.21 and the Go module proxy; the go command fetches the Go toolchain Kubernetes
# builds with (its .go-version) when the local one is older.
set -euo pipefail

VER=${KUBE_VERSION:-1.37.2}; VER=${VER#v}
case $VER in
  1.20|1.20.*) exec "$(dirname "$0")/build-1.20.sh" ;;
  1.[0-9]*.[0-9]*) ;;
  *) echo "KUBE_VERSION must look like 1.37.2 (got '$VER')" >&2; exit 2 ;;
esac
MINOR=${VER#1.}; MINOR=${MINOR%%.*}; PATCH=${VER##*.}
STAGING_VER=v0.$MINOR.$PATCH
CACHE=${DAPR_GUARD_CACHE:-$HOME/.cache/dapr-guard}
BIN_DIR=$CACHE/k8s/v$VER/bin
WORK=$CACHE/k8s/v$VER/module
WHAT="kube-apiserver kube-controller-manager kubectl"
export GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOPATH=$CACHE/go/path
export GO111MODULE=on CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off

T0=$(date +%s)
log() { echo "[e2e-cluster build $(date -u +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*"; }
die() { log "ERROR: $*"; exit 1; }
step_start() { STEP_T=$(date +%s); log "$1"; }
step_done() { log "$1 in $(( $(date +%s) - STEP_T ))s"; }

has_version() {  # has_version NAME: $BIN_DIR/NAME is there and reports the wanted version
  local binary=$BIN_DIR/$1
  [ -x "$binary" ] || return 1
  case $1 in
    kubectl) "$binary" version --client 2>/dev/null | grep -q "v$VER\$" ;;
    etcd) "$binary" --version 2>/dev/null | grep -q "^etcd Version: ${ETCD_VERSION:-3.}" ;;
    *) "$binary" --version 2>/dev/null | grep -q "v$VER\$" ;;
  esac
}

if [ "${FORCE:-0}" != 1 ]; then
  missing=""
  for w in $WHAT etcd; do has_version "$w" || missing+=" $w"; done
  if [ -z "$missing" ]; then log "Kubernetes v$VER and etcd present in $BIN_DIR; nothing to build"; exit 0; fi
  log "to build:$missing"
fi

GO=${GO_BIN:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || die "no Go found (set GO_BIN, or install Go >= 1.21, e.g. to /usr/local/go)"
log "go: $GO ($(GOTOOLCHAIN=local "$GO" env GOVERSION)); cache $CACHE"
mkdir -p "$BIN_DIR" "$WORK" "$GOMODCACHE" "$GOCACHE"

# 1. Kubernetes' own go.mod and Go version
step_start "go mod download k8s.io/kubernetes@v$VER"
meta=$(cd "$WORK" && GOFLAGS='' "$GO" mod download -json "k8s.io/kubernetes@v$VER") \
  || die "cannot download k8s.io/kubernetes@v$VER through the Go module proxy ($("$GO" env GOPROXY))"
field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\{0,1\}\$/\\1/p" <<<"$meta" | head -n1; }
KGOMOD=$(field GoMod); KDIR=$(field Dir)
[ -s "$KGOMOD" ] || die "no go.mod for k8s.io/kubernetes@v$VER: $meta"
step_done "downloaded k8s.io/kubernetes v$VER"

kgo=$(awk '$1=="go"{print $2; exit}' "$KGOMOD")
want=$(tr -d ' \n' < "$KDIR/.go-version" 2>/dev/null || true)
grep -qE '^[0-9]+\.[0-9]+(\.[0-9]+)?$' <<<"$want" || want=$kgo
have=$(GOTOOLCHAIN=local "$GO" env GOVERSION); have=${have#go}
if [ "$(printf '%s\n' "$want" "$have" | sort -V | head -n1)" = "$want" ]; then
  export GOTOOLCHAIN=local
else
  export GOTOOLCHAIN=go$want   # fetched from the module proxy by the go command
fi
log "Kubernetes v$VER builds with go$want (go directive $kgo); GOTOOLCHAIN=$GOTOOLCHAIN"

# 2. the throwaway module
staging=$(awk '$2=="=>" && $3 ~ /^\.\/staging\/src\// {print $1}' "$KGOMOD" | sort -u)
[ -n "$staging" ] || die "no ./staging/src replace directives in $KGOMOD"
{
  echo "// Made by dapr-guard's test/e2e/cluster/build.sh to build Kubernetes v$VER; not a source of its own."
  echo "module dapr-guard.local/e2e-k8s-build"
  echo
  echo "go $kgo"
  echo
  # the same runtime GODEBUG defaults as upstream's binaries
  awk 'b{print; if ($0 ~ /^\)/) b=0; next} /^godebug[ \t]*\(/{print; b=1; next} /^godebug[ \t]/{print}' "$KGOMOD"
  echo
  echo "require k8s.io/kubernetes v$VER"
  echo
  echo "replace ("
  for m in $staging; do echo "	$m => $m $STAGING_VER"; done
  echo ")"
} > "$WORK/go.mod"
log "wrote $WORK/go.mod: $(wc -w <<<"$staging") staging modules -> $STAGING_VER"

pkgs=(); gets=()
for w in $WHAT; do pkgs+=("k8s.io/kubernetes/cmd/$w"); gets+=("k8s.io/kubernetes/cmd/$w@v$VER"); done
step_start "go get ${gets[*]}"
(cd "$WORK" && "$GO" get "${gets[@]}")
step_done "dependencies downloaded (module cache $(du -sh "$GOMODCACHE" | cut -f1))"

# 3. build, as upstream does (tags, trimpath, version ldflags so /version says v$VER)
bdate=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X $p.gitVersion=v$VER -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean -X $p.buildDate=$bdate"
done
for w in $WHAT; do
  if [ "${FORCE:-0}" != 1 ] && has_version "$w"; then log "$w v$VER already built"; continue; fi
  step_start "go build $w"
  (cd "$WORK" && "$GO" build -trimpath -tags=selinux,notest,grpcnotrace -ldflags "$ld" -o "$BIN_DIR/$w" "k8s.io/kubernetes/cmd/$w")
  step_done "built $w ($(du -h "$BIN_DIR/$w" | cut -f1))"
done

# 4. etcd at the client version Kubernetes pins
ETCD_VERSION=${ETCD_VERSION:-$(awk '$1=="go.etcd.io/etcd/client/v3"{print $2; exit}' "$KGOMOD")}
[ -n "$ETCD_VERSION" ] || die "no go.etcd.io/etcd/client/v3 in $KGOMOD; set ETCD_VERSION"
ETCD_VERSION=${ETCD_VERSION#v}
if [ "${FORCE:-0}" != 1 ] && has_version etcd; then
  log "etcd $ETCD_VERSION already built"
else
  EW=$CACHE/etcd/v$ETCD_VERSION/module
  mkdir -p "$EW"
  printf '// Made by dapr-guard test/e2e/cluster/build.sh to build etcd v%s.\nmodule dapr-guard.local/e2e-etcd-build\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' \
    "$ETCD_VERSION" "$kgo" "$ETCD_VERSION" > "$EW/go.mod"
  step_start "go get go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  (cd "$EW" && "$GO" get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION")
  step_done "etcd dependencies downloaded"
  step_start "go build etcd"
  (cd "$EW" && "$GO" build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd" go.etcd.io/etcd/server/v3)
  step_done "built etcd ($("$BIN_DIR/etcd" --version | head -n1))"
fi

log "done in $(( $(date +%s) - T0 ))s; bin $(du -sh "$BIN_DIR" | cut -f1), module cache $(du -sh "$GOMODCACHE" | cut -f1), build cache $(du -sh "$GOCACHE" | cut -f1)"
