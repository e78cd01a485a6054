#!/usr/bin/env bash
# Builds Dapr's control plane pieces the e2e suite runs on loopback, the sidecar injector and Sentry
# (the injector gets its serving certificate from Sentry), from github.com/dapr/dapr at DAPR_VERSION,
# into ${DAPR_GUARD_CACHE:-$HOME/.cache/dapr-guard}/dapr/v<version>/bin. A no-op when they are there.
#
# Built inside Dapr's own module (as extracted into the module cache), so that Dapr's go.mod with
# its replace directives and go.sum decide every dependency, as in Dapr's release build. Its chart
# (charts/dapr in the same module) is what the suite renders to configure them.
#
#   test/e2e/cluster/build-dapr.sh            # Dapr 1.18.3, the newest 1.18.x the module proxy serves
#
# Env: DAPR_VERSION (1.18.3), DAPR_GUARD_CACHE, GO_BIN, FORCE=1.
set -euo pipefail

VER=${DAPR_VERSION:-1.18.3}; VER=${VER#v}
CACHE=${DAPR_GUARD_CACHE:-$HOME/.cache/dapr-guard}
BIN_DIR=$CACHE/dapr/v$VER/bin
WHAT="injector sentry"
export GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOPATH=$CACHE/go/path
export GO111MODULE=on CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=readonly

T0=$(date +%s)
log() { echo "[e2e-cluster build-dapr $(date -u +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*"; }
die() { log "ERROR: $*"; exit 1; }

has_version() { [ -x "$BIN_DIR/$1" ] && [ "$(cat "$BIN_DIR/.$1.version" 2>/dev/null)" = "$VER" ]; }

if [ "${FORCE:-0}" != 1 ]; then
  missing=""
  for w in $WHAT; do has_version "$w" || missing+=" $w"; done
  if [ -z "$missing" ]; then log "Dapr v$VER ($WHAT) present in $BIN_DIR; nothing to build"; exit 0; fi
  log "to build:$missing"
fi

GO=${GO_BIN:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || die "no Go found (set GO_BIN, or install Go >= 1.21, e.g. to /usr/local/go)"
mkdir -p "$BIN_DIR" "$GOMODCACHE" "$GOCACHE"

t=$(date +%s)
log "go mod download github.com/dapr/dapr@v$VER"
meta=$(cd "$CACHE" && GOFLAGS='' GOTOOLCHAIN=auto "$GO" mod download -json "github.com/dapr/dapr@v$VER") \
  || die "cannot download github.com/dapr/dapr@v$VER through the Go module proxy ($("$GO" env GOPROXY))"
DIR=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$meta" | head -n1)
[ -d "$DIR" ] || die "no source directory for github.com/dapr/dapr@v$VER: $meta"
log "downloaded github.com/dapr/dapr v$VER in $(( $(date +%s) - t ))s ($DIR)"
# Dapr's go directive names the Go it needs; the go command fetches a newer toolchain when asked to.
export GOTOOLCHAIN=auto

t=$(date +%s)
log "go mod download (the dependencies of cmd/injector and cmd/sentry)"
(cd "$DIR" && "$GO" list -deps ./cmd/injector ./cmd/sentry >/dev/null)
log "dependencies downloaded in $(( $(date +%s) - t ))s (module cache $(du -sh "$GOMODCACHE" | cut -f1))"

for w in $WHAT; do
  if [ "${FORCE:-0}" != 1 ] && has_version "$w"; then log "$w v$VER already built"; continue; fi
  t=$(date +%s)
  log "go build ./cmd/$w"
  (cd "$DIR" && "$GO" build -trimpath -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$VER" -o "$BIN_DIR/$w" "./cmd/$w")
  echo "$VER" > "$BIN_DIR/.$w.version"
  log "built $w in $(( $(date +%s) - t ))s ($(du -h "$BIN_DIR/$w" | cut -f1))"
done
ln -sfn "$DIR/charts/dapr" "$BIN_DIR/../chart"
log "done in $(( $(date +%s) - T0 ))s; bin $(du -sh "$BIN_DIR" | cut -f1); Dapr's chart: $BIN_DIR/../chart"
