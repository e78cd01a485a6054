#!/usr/bin/env bash
# Stop exactly the processes kube-up.sh (and the e2e suite: dapr-guard, Dapr) started, by the
# PIDs recorded in $KUBE_HARNESS_DIR/run/*.pid. Never kills by name.
# A PID is only signalled if /proc/PID/cmdline still mentions this state dir
# (guards against PID reuse).
#
# Usage: test/e2e/cluster/kube-down.sh          # stop, keep state dir (certs, logs)
#        KUBE_DOWN_PURGE=1 test/e2e/cluster/kube-down.sh   # stop and delete the state dir
set -uo pipefail

STATE=${KUBE_HARNESS_DIR:-/tmp/kube-harness}
RUN=$STATE/run
log() { echo "[kube-down $(date -u +%H:%M:%S)] $*" >&2; }

[ -d "$RUN" ] || { log "no $RUN; nothing to stop"; exit 0; }

ours() {  # ours PID -> 0 if PID is alive and its cmdline references $STATE
  local pid=$1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$STATE"
}

stop_one() {
  local name=$1 pidfile=$RUN/$1.pid pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if ! kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) not running"; rm -f "$pidfile"; return 0
  fi
  if ! ours "$pid"; then
    log "pid $pid is alive but its cmdline does not mention $STATE; NOT killing it (stale pidfile?)"
    rm -f "$pidfile"; return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) did not exit after 10s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    sleep 0.2
  fi
  rm -f "$pidfile"
}

# Order: webhook(s) and apiserver first, etcd last.
for f in "$RUN"/*.pid; do
  [ -e "$f" ] || continue
  n=$(basename "$f" .pid)
  case $n in etcd|kube-apiserver) ;; *) stop_one "$n" ;; esac   # webhook(s), kube-controller-manager
done
stop_one kube-apiserver
stop_one etcd

if [ "${KUBE_DOWN_PURGE:-0}" = 1 ]; then
  log "removing $STATE"
  rm -rf "$STATE"
fi
log "stopped"
