#!/usr/bin/env bash
# dapr-guard's e2e control plane (copied from ../shared/k8s/kube-up.sh, now the project's own):
# a minimal, REAL Kubernetes control plane on loopback: etcd + kube-apiserver (+ kube-controller-manager
# with KUBE_CONTROLLER_MANAGER=1) of KUBE_VERSION, built by build.sh into
# ${DAPR_GUARD_CACHE:-$HOME/.cache/dapr-guard}/k8s/v<version>/bin.
# No kubelet, no nodes, no scheduler: Pods are stored and stay Pending.
#
# Usage:  test/e2e/cluster/build.sh && eval "$(KUBE_CONTROLLER_MANAGER=1 test/e2e/cluster/kube-up.sh | tail -n1)"
#         test/e2e/cluster/kube-down.sh    # stops exactly what this started (PIDs in $KUBE_HARNESS_DIR)
#
# Env overrides (all optional):
#   KUBE_VERSION         1.37.2 (default) or 1.20.2 (build-1.20.sh); picks the default KUBE_BIN_DIR only:
#                        the flags follow what the binary itself reports
#   KUBE_BIN_DIR         where kube-apiserver lives        default $DAPR_GUARD_CACHE/k8s/v$KUBE_VERSION/bin
#   KUBE_HARNESS_DIR     state dir (certs, etcd data, logs, pids, kubeconfig)  default /tmp/kube-harness
#   ETCD_BIN             etcd binary                       default: $KUBE_BIN_DIR/etcd if there, else etcd on PATH
#   KUBE_APISERVER_PORT  secure port on 127.0.0.1                                default 6443
#   ETCD_CLIENT_PORT     etcd client port on 127.0.0.1                           default 2379
#   ETCD_PEER_PORT       etcd peer port on 127.0.0.1                             default 2380
#   KUBE_DISABLE_ADMISSION_PLUGINS  default "ServiceAccount" (no token controller => pods would be
#                        rejected); default "" (nothing disabled) when KUBE_CONTROLLER_MANAGER=1
#   KUBE_EXTRA_ENABLE_ADMISSION_PLUGINS  extra plugins to enable on top of the webhook ones, comma list
#   KUBE_APISERVER_EXTRA_ARGS  extra args appended to kube-apiserver (word-split)
#   KUBE_READY_TIMEOUT   seconds to wait for /readyz                             default 120
#   KUBE_CONTROLLER_MANAGER_EXTRA_ARGS  extra args for kube-controller-manager (word-split)
#   KUBE_CONTROLLER_MANAGER_PORT  only used if a KCM refuses --secure-port=0: 127.0.0.1 port, default 10257
#   KUBECTL              kubectl binary                    default: $KUBE_BIN_DIR/kubectl if there, else kubectl
#   KUBE_KEEP_STATE=1    reuse existing etcd data (default: wipe etcd data dir on start)
#   KUBE_CONTROLLER_MANAGER=1  also start kube-controller-manager (if $KUBE_BIN_DIR has it;
#                        build with WHAT=kube-controller-manager build-apiserver.sh). Then
#                        Deployments get ReplicaSets/Pods, namespaces get 'default' SAs.
#
# The last line printed on success is:   export KUBECONFIG=<state>/kubeconfig
set -euo pipefail

STATE=${KUBE_HARNESS_DIR:-/tmp/kube-harness}
KUBE_VERSION=${KUBE_VERSION:-1.37.2}; KUBE_VERSION=${KUBE_VERSION#v}
BIN=${KUBE_BIN_DIR:-${DAPR_GUARD_CACHE:-$HOME/.cache/dapr-guard}/k8s/v$KUBE_VERSION/bin}
APISERVER=$BIN/kube-apiserver
if [ -x "$BIN/etcd" ]; then ETCD=${ETCD_BIN:-$BIN/etcd}; else ETCD=${ETCD_BIN:-$(command -v etcd || echo /usr/bin/etcd)}; fi
KPORT=${KUBE_APISERVER_PORT:-6443}
ECPORT=${ETCD_CLIENT_PORT:-2379}
EPPORT=${ETCD_PEER_PORT:-2380}
# ServiceAccount admission rejects every Pod unless the namespace's 'default' SA
# (and its token Secret) exist, which only kube-controller-manager creates. So it
# is off by default, and on (as in a real cluster) when KUBE_CONTROLLER_MANAGER=1.
if [ "${KUBE_CONTROLLER_MANAGER:-0}" = 1 ]; then
  DISABLE_PLUGINS=${KUBE_DISABLE_ADMISSION_PLUGINS-}
else
  DISABLE_PLUGINS=${KUBE_DISABLE_ADMISSION_PLUGINS-ServiceAccount}
fi
ENABLE_PLUGINS="MutatingAdmissionWebhook,ValidatingAdmissionWebhook${KUBE_EXTRA_ENABLE_ADMISSION_PLUGINS:+,$KUBE_EXTRA_ENABLE_ADMISSION_PLUGINS}"
READY_TIMEOUT=${KUBE_READY_TIMEOUT:-120}
if [ -x "$BIN/kubectl" ]; then KUBECTL=${KUBECTL:-$BIN/kubectl}; else KUBECTL=${KUBECTL:-kubectl}; fi

log() { echo "[kube-up $(date -u +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%01d' $((d/1000)) $(((d%1000)/100)); }
t_start=$(now_ms)

[ -x "$APISERVER" ] || die "$APISERVER missing: run KUBE_VERSION=$KUBE_VERSION $(dirname "$0")/build.sh first"
[ -x "$ETCD" ] || die "etcd missing: run KUBE_VERSION=$KUBE_VERSION $(dirname "$0")/build.sh first"
KCM=$BIN/kube-controller-manager
if [ "${KUBE_CONTROLLER_MANAGER:-0}" = 1 ]; then
  [ -x "$KCM" ] || die "$KCM missing: run KUBE_VERSION=$KUBE_VERSION $(dirname "$0")/build.sh first"
fi
command -v openssl >/dev/null || die "openssl missing"
command -v "$KUBECTL" >/dev/null || die "kubectl missing"
KUBECTL=$(command -v "$KUBECTL")
# Flags differ by version: go by what the binary says ("Kubernetes v1.37.2").
KVER=$("$APISERVER" --version 2>/dev/null | awk '{print $2}')
KMINOR=$(sed -n 's/^v1\.\([0-9][0-9]*\).*/\1/p' <<<"$KVER"); KMINOR=${KMINOR:-20}
# ValidatingAdmissionPolicy is GA (and default-on) since 1.30; name it like the webhook plugins.
if [ "$KMINOR" -ge 30 ]; then ENABLE_PLUGINS="MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy${KUBE_EXTRA_ENABLE_ADMISSION_PLUGINS:+,$KUBE_EXTRA_ENABLE_ADMISSION_PLUGINS}"; fi

mkdir -p "$STATE"/{pki,logs,run}
PKI=$STATE/pki

# Refuse to start twice on the same state dir.
for n in etcd kube-apiserver kube-controller-manager; do
  if [ -s "$STATE/run/$n.pid" ] && kill -0 "$(cat "$STATE/run/$n.pid")" 2>/dev/null; then
    die "$n already running (pid $(cat "$STATE/run/$n.pid")) for $STATE; run kube-down.sh first"
  fi
done
# Refuse to start if the ports are taken (by anything).
for p in "$KPORT" "$ECPORT" "$EPPORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "127.0.0.1:$p already in use"
  fi
done

# From here on, a failure stops whatever this run started (via kube-down.sh).
up_ok=0
on_exit() { if [ "$up_ok" != 1 ]; then log "start failed; stopping what was started"; KUBE_HARNESS_DIR=$STATE "$(dirname "$0")/kube-down.sh" || true; fi; }
trap on_exit EXIT
rm -f "$STATE/run/ready-seconds"
echo "$KUBECTL" > "$STATE/run/kubectl"   # webhook-e2e.sh uses the same kubectl

# ---------------------------------------------------------------- certs
# Generated once per state dir; reused on later starts.
gen_certs() {
  log "generating certs in $PKI"
  cd "$PKI"
  # CA
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -keyout ca.key -out ca.crt -subj "/CN=kube-harness-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  # kube-apiserver serving cert
  cat > apiserver.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  openssl req -new -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
    -subj "/CN=kube-apiserver" 2>/dev/null
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -extfile apiserver.ext -out apiserver.crt 2>/dev/null
  # admin client cert (O=system:masters => cluster-admin, bypasses RBAC)
  cat > admin.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
  openssl req -new -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
    -subj "/O=system:masters/CN=kubernetes-admin" 2>/dev/null
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -extfile admin.ext -out admin.crt 2>/dev/null
  # service-account signing key pair
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  rm -f ./*.csr
  chmod 600 ./*.key
  cd - >/dev/null
}
if [ ! -s "$PKI/ca.crt" ] || [ ! -s "$PKI/admin.crt" ] || [ ! -s "$PKI/sa.pub" ] || [ ! -s "$PKI/apiserver.crt" ]; then
  gen_certs
else
  log "reusing certs in $PKI"
fi

# ---------------------------------------------------------------- kubeconfig
b64() { base64 -w0 < "$1"; }
cat > "$STATE/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kube-harness
  cluster:
    server: https://127.0.0.1:$KPORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: kube-harness-admin
  user:
    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")
contexts:
- name: kube-harness
  context:
    cluster: kube-harness
    user: kube-harness-admin
    namespace: default
current-context: kube-harness
EOF
chmod 600 "$STATE/kubeconfig"

# ---------------------------------------------------------------- etcd
if [ "${KUBE_KEEP_STATE:-0}" != 1 ]; then rm -rf "$STATE/etcd"; fi
mkdir -p "$STATE/etcd"; chmod 700 "$STATE/etcd"
log "starting etcd ($("$ETCD" --version | head -n1)) on 127.0.0.1:$ECPORT"
# etcd reads every ETCD_* env var as a flag (and this script's own ETCD_CLIENT_PORT
# etc. would leak in), so start it with all ETCD_* vars unset.
unset_etcd=()
for v in $(compgen -e | grep '^ETCD_' || true); do unset_etcd+=(-u "$v"); done
nohup env "${unset_etcd[@]}" "$ETCD" \
  --name kube-harness \
  --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ECPORT" \
  --advertise-client-urls "http://127.0.0.1:$ECPORT" \
  --listen-peer-urls "http://127.0.0.1:$EPPORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$EPPORT" \
  --initial-cluster "kube-harness=http://127.0.0.1:$EPPORT" \
  --initial-cluster-state new \
  --logger zap --log-level warn \
  > "$STATE/logs/etcd.log" 2>&1 < /dev/null &
echo $! > "$STATE/run/etcd.pid"
log "etcd pid $(cat "$STATE/run/etcd.pid")"

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$ECPORT/health" 2>/dev/null | grep -q '"health":"true"'; then break; fi
  kill -0 "$(cat "$STATE/run/etcd.pid")" 2>/dev/null || { tail -n 30 "$STATE/logs/etcd.log" >&2; die "etcd exited"; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$ECPORT/health" | grep -q '"health":"true"' || die "etcd not healthy; see $STATE/logs/etcd.log"
log "etcd healthy after $(secs_since "$t_start")s"

# ---------------------------------------------------------------- kube-apiserver
log "starting kube-apiserver ($("$APISERVER" --version 2>/dev/null)) on https://127.0.0.1:$KPORT"
# shellcheck disable=SC2086
nohup "$APISERVER" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$KPORT" \
  --etcd-servers="http://127.0.0.1:$ECPORT" \
  --etcd-prefix=/registry \
  --service-cluster-ip-range=10.96.0.0/16 \
  --endpoint-reconciler-type=none \
  --cert-dir="$STATE/pki/generated" \
  --tls-cert-file="$PKI/apiserver.crt" \
  --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --api-audiences=https://kubernetes.default.svc.cluster.local \
  --authorization-mode=RBAC \
  --anonymous-auth=false \
  --allow-privileged=true \
  --enable-admission-plugins="$ENABLE_PLUGINS" \
  ${DISABLE_PLUGINS:+--disable-admission-plugins="$DISABLE_PLUGINS"} \
  --profiling=false \
  --v=1 \
  ${KUBE_APISERVER_EXTRA_ARGS:-} \
  > "$STATE/logs/kube-apiserver.log" 2>&1 < /dev/null &
echo $! > "$STATE/run/kube-apiserver.pid"
log "kube-apiserver pid $(cat "$STATE/run/kube-apiserver.pid")"

deadline=$(( $(date +%s) + READY_TIMEOUT ))
until out=$("$KUBECTL" --kubeconfig "$STATE/kubeconfig" --request-timeout=5s get --raw /readyz 2>&1) && [ "$out" = ok ]; do
  if ! kill -0 "$(cat "$STATE/run/kube-apiserver.pid")" 2>/dev/null; then
    tail -n 40 "$STATE/logs/kube-apiserver.log" >&2
    die "kube-apiserver exited; see $STATE/logs/kube-apiserver.log"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    "$KUBECTL" --kubeconfig "$STATE/kubeconfig" get --raw '/readyz?verbose' >&2 || true
    die "kube-apiserver not ready after ${READY_TIMEOUT}s; see $STATE/logs/kube-apiserver.log"
  fi
  sleep 0.25
done
t_ready=$(secs_since "$t_start")
echo "$t_ready" > "$STATE/run/ready-seconds"
log "kube-apiserver ready (/readyz ok) after ${t_ready}s total (from kube-up.sh start)"

# ---------------------------------------------------------------- kube-controller-manager (opt-in)
if [ "${KUBE_CONTROLLER_MANAGER:-0}" = 1 ]; then
  log "starting kube-controller-manager ($("$KCM" --version 2>/dev/null)); no listening ports"
  # --port=0/--secure-port=0: 1.20 KCM would otherwise serve HTTP on 0.0.0.0:10252.
  # The insecure --port flag is gone from newer KCMs (unknown flag => exit): pass it only where --help lists it.
  # Should a KCM no longer accept --secure-port=0 (its --help says so), serve it on loopback only.
  kcm_help=$("$KCM" --help 2>&1 || true)   # (not piped into grep -q: with pipefail, SIGPIPE would read as "no")
  kcm_ports=(--secure-port=0)
  grep -qF "If 0, don't serve HTTPS at all" <<<"$kcm_help" \
    || kcm_ports=(--bind-address=127.0.0.1 --secure-port="${KUBE_CONTROLLER_MANAGER_PORT:-10257}")
  if grep -qE '^[[:space:]]+--port int' <<<"$kcm_help"; then kcm_ports=(--port=0 "${kcm_ports[@]}"); fi
  # shellcheck disable=SC2086
  nohup "$KCM" \
    --kubeconfig="$STATE/kubeconfig" \
    "${kcm_ports[@]}" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" \
    --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --controllers='*' \
    --v=1 \
    ${KUBE_CONTROLLER_MANAGER_EXTRA_ARGS:-} \
    > "$STATE/logs/kube-controller-manager.log" 2>&1 < /dev/null &
  echo $! > "$STATE/run/kube-controller-manager.pid"
  log "kube-controller-manager pid $(cat "$STATE/run/kube-controller-manager.pid")"
  # ready enough when the serviceaccount + token controllers have done namespace default.
  # 1.24+ no longer makes token Secrets (Pods get projected tokens): there, the SA itself is the sign.
  if [ "$KMINOR" -ge 24 ]; then sa_path='{.metadata.name}'; sa_what="exists"; else sa_path='{.secrets[0].name}'; sa_what="has its token"; fi
  until [ -n "$("$KUBECTL" --kubeconfig "$STATE/kubeconfig" -n default get sa default -o jsonpath="$sa_path" 2>/dev/null)" ]; do
    kill -0 "$(cat "$STATE/run/kube-controller-manager.pid")" 2>/dev/null || {
      tail -n 40 "$STATE/logs/kube-controller-manager.log" >&2; die "kube-controller-manager exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "kube-controller-manager: default/default SA not ready ($sa_what) after ${READY_TIMEOUT}s"
    sleep 0.25
  done
  log "kube-controller-manager working (default/default SA $sa_what) after $(secs_since "$t_start")s total"
fi
log "logs: $STATE/logs/{etcd,kube-apiserver}.log; stop with: $(dirname "$0")/kube-down.sh"
up_ok=1
echo "export KUBECONFIG=$STATE/kubeconfig"
