# Settings and helpers shared by up.sh, down.sh and load-image.sh (sourced, not run).
# Every setting can be overridden from the environment.

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=k8s/local/versions.sh
source "$LIB_DIR/versions.sh"

K8S_LOCAL_DIR="${K8S_LOCAL_DIR:-/tmp/chatbot-k8s}"  # ALL cluster state lives here
K8S_NODE_NAME="${K8S_NODE_NAME:-chatbot-local}"
# Addresses: a node IP on a veth pair of our own, pods on our own CNI bridge,
# services through kube-proxy. None of them is routed outward.
K8S_NODE_IP="${K8S_NODE_IP:-10.236.0.2}"
K8S_POD_CIDR="${K8S_POD_CIDR:-10.234.0.0/24}"    # the node's pod subnet (= cluster CIDR)
K8S_POD_GATEWAY="${K8S_POD_GATEWAY:-10.234.0.1}" # the bridge's address
K8S_SERVICE_CIDR="${K8S_SERVICE_CIDR:-10.235.0.0/24}"
K8S_API_SERVICE_IP="${K8S_API_SERVICE_IP:-10.235.0.1}" # first IP of the service CIDR
K8S_DNS_IP="${K8S_DNS_IP:-10.235.0.10}"
K8S_BRIDGE="${K8S_BRIDGE:-ck8s-br0}"
K8S_VETH="${K8S_VETH:-ck8s-node0}" # its peer is ${K8S_VETH%0}1
K8S_CNI_NETWORK="${K8S_CNI_NETWORK:-chatbot-k8s}"
# Ports: the API server on the node IP; everything else on 127.0.0.1.
K8S_API_PORT="${K8S_API_PORT:-6443}"
K8S_ETCD_PORT="${K8S_ETCD_PORT:-23790}"
K8S_ETCD_PEER_PORT="${K8S_ETCD_PEER_PORT:-23800}"
K8S_KCM_PORT="${K8S_KCM_PORT:-10257}"
K8S_SCHED_PORT="${K8S_SCHED_PORT:-10259}"
K8S_KUBELET_HEALTHZ_PORT="${K8S_KUBELET_HEALTHZ_PORT:-10248}"
K8S_PROXY_HEALTHZ_PORT="${K8S_PROXY_HEALTHZ_PORT:-10256}"
K8S_PROXY_METRICS_PORT="${K8S_PROXY_METRICS_PORT:-10249}"
K8S_CNI_BIN_DIR="${K8S_CNI_BIN_DIR:-/usr/lib/cni}"
# K8S_LOCAL_BUILD_PARTS: what up.sh asks build.sh for (default: all; see build.sh).

K8S_BIN="$K8S_CACHE_DIR/bin"
K8S_IMAGES="$K8S_CACHE_DIR/images"
PKI="$K8S_LOCAL_DIR/pki"
CONF="$K8S_LOCAL_DIR/conf"
LOGS="$K8S_LOCAL_DIR/logs"
RUN="$K8S_LOCAL_DIR/run"
CONTAINERD_SOCK="$K8S_LOCAL_DIR/containerd/containerd.sock"
KUBECONFIG_ADMIN="$K8S_LOCAL_DIR/kubeconfig"
# Sysctls the kubelet, kube-proxy or we may change; up.sh saves them, down.sh restores them.
K8S_SYSCTLS=(net.ipv4.ip_forward kernel.panic kernel.panic_on_oops vm.overcommit_memory
    vm.panic_on_oom kernel.keys.root_maxkeys kernel.keys.root_maxbytes
    net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables)
# Daemons in start order; down.sh stops them in reverse (API server before etcd).
K8S_DAEMONS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

log() { printf '%s %s: %s\n' "$(date +%T)" "${LOG_PREFIX:-k8s-local}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

elapsed() { # seconds since $T0 with one decimal
    awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

ctr_k8s() { "$(command -v ctr)" -a "$CONTAINERD_SOCK" -n k8s.io "$@"; }

kubectl_admin() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# start_daemon NAME CMD...: nohup with the pidfile holding the daemon's own PID.
start_daemon() {
    local name=$1
    shift
    if [[ -n ${K8S_LOCK_FD:-} ]]; then # the daemon must not hold up.sh's lock
        nohup "$@" >"$LOGS/$name.log" 2>&1 {K8S_LOCK_FD}<&- &
    else
        nohup "$@" >"$LOGS/$name.log" 2>&1 &
    fi
    echo $! >"$RUN/$name.pid"
}

# alive PID: the process exists and is not a zombie (our daemons' parent has exited, so
# whoever adopted them may reap them late).
alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ ${stat##*) } != Z* ]]
}

# stop_pid PID NAME [TIMEOUT]: SIGTERM, then SIGKILL after TIMEOUT seconds.
stop_pid() {
    local pid=$1 name=$2 timeout=${3:-10} i
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    log "$name ($pid) ignored SIGTERM for ${timeout}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
}

# stop_daemon NAME [TIMEOUT]: stop the process in NAME's pidfile, if it is still that daemon.
stop_daemon() {
    local name=$1 timeout=${2:-10} pidfile="$RUN/$1.pid" pid
    [[ -f $pidfile ]] || return 0
    pid="$(cat "$pidfile")"
    if [[ -n $pid ]] && [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' </proc/"$pid"/cmdline | grep -q "$K8S_LOCAL_DIR"; then
        local t
        t="$(date +%s.%N)"
        stop_pid "$pid" "$name" "$timeout"
        log "stopped $name in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
    fi
    rm -f "$pidfile"
}

# cluster_running: some daemon of ours is alive.
cluster_running() {
    local f pid
    for f in "$RUN"/*.pid; do
        [[ -f $f ]] || continue
        pid="$(cat "$f")"
        [[ -n $pid ]] && alive "$pid" && return 0
    done
    return 1
}

# lock_cluster: serialise up.sh and down.sh (one cluster per machine: kube-proxy owns the
# host's KUBE-* chains). Held until the calling script exits; the lock is on this file, so
# it leaves nothing behind.
lock_cluster() {
    exec {K8S_LOCK_FD}<"$LIB_DIR/lib.sh"
    flock -w 300 "$K8S_LOCK_FD" || die "another up.sh/down.sh has been running for 5 min"
}

# wait_for DESCRIPTION TIMEOUT CMD...: retry CMD every 0.2 s until it succeeds.
wait_for() {
    local what=$1 timeout=$2 deadline
    shift 2
    deadline=$(($(date +%s) + timeout))
    until "$@" >/dev/null 2>&1; do
        (($(date +%s) < deadline)) || die "timed out after ${timeout}s waiting for $what"
        sleep 0.2
    done
}
