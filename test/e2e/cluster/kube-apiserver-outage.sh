#!/usr/bin/env bash
# An API server outage on the harness of kube-up.sh (the reliability suite, test/reliability/):
#   kube-apiserver-outage.sh stop    # stops only kube-apiserver (etcd keeps the data), saving its command line
#   kube-apiserver-outage.sh start   # starts it again with exactly the same flags and waits for /readyz
# KUBE_HARNESS_DIR as for kube-up.sh.
set -euo pipefail
STATE=${KUBE_HARNESS_DIR:-/tmp/kube-harness}
RUN=$STATE/run
KUBECTL=${KUBECTL:-kubectl}
READY_TIMEOUT=${READY_TIMEOUT:-60}
die() { echo "kube-apiserver-outage: $*" >&2; exit 1; }

stop() {
  local pid
  pid=$(cat "$RUN/kube-apiserver.pid" 2>/dev/null) || die "no $RUN/kube-apiserver.pid: is the harness up?"
  kill -0 "$pid" 2>/dev/null || die "kube-apiserver (pid $pid) is not running"
  # The exact argv, NUL-separated, for start.
  cp "/proc/$pid/cmdline" "$RUN/kube-apiserver.cmdline"
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  echo "kube-apiserver-outage: stopped kube-apiserver (pid $pid)"
}

start() {
  [ -s "$RUN/kube-apiserver.cmdline" ] || die "no saved command line; run stop first"
  local -a argv
  mapfile -d '' -t argv < "$RUN/kube-apiserver.cmdline"
  nohup "${argv[@]}" >> "$STATE/logs/kube-apiserver.log" 2>&1 < /dev/null &
  echo $! > "$RUN/kube-apiserver.pid"
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  until out=$("$KUBECTL" --kubeconfig "$STATE/kubeconfig" --request-timeout=5s get --raw /readyz 2>&1) && [ "$out" = ok ]; do
    kill -0 "$(cat "$RUN/kube-apiserver.pid")" 2>/dev/null || die "kube-apiserver exited; see $STATE/logs/kube-apiserver.log"
    [ "$(date +%s)" -lt "$deadline" ] || die "kube-apiserver not ready after ${READY_TIMEOUT}s"
    sleep 0.25
  done
  echo "kube-apiserver-outage: kube-apiserver ready again (pid $(cat "$RUN/kube-apiserver.pid"))"
}

case "${1:-}" in
  stop) stop ;;
  start) start ;;
  *) die "usage: $0 stop|start" ;;
esac
