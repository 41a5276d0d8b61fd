#!/usr/bin/env bash
# Start a real single-node Kubernetes cluster on this machine (as root), from empty state.
#
#   k8s/local/up.sh        # builds the binaries first if they are not cached (build.sh)
#
# All state lives in $K8S_LOCAL_DIR (default /tmp/chatbot-k8s); settings in lib.sh.
# Prints the admin kubeconfig path on stdout; progress and timings go to stderr.
# If the cluster is already up and healthy, it is reused as is; a broken one is torn down
# and started afresh.
# Stop it with k8s/local/down.sh, which leaves nothing behind.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_PREFIX=up
# shellcheck source=k8s/local/lib.sh
source "$HERE/lib.sh"
# shellcheck source=k8s/local/pki.sh
source "$HERE/pki.sh"
# shellcheck source=k8s/local/configs.sh
source "$HERE/configs.sh"

APT_PACKAGES=(containerd runc containernetworking-plugins conntrack socat iptables openssl
    iproute2 curl ca-certificates)

install_packages() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

save_sysctls() {
    local s
    for s in "${K8S_SYSCTLS[@]}"; do
        [[ -e /proc/sys/${s//.//} ]] && echo "$s=$(cat "/proc/sys/${s//.//}")"
    done >"$RUN/sysctls.saved"
}

setup_network() {
    local peer="${K8S_VETH%0}1"
    ip link add "$K8S_VETH" type veth peer name "$peer"
    ip addr add "$K8S_NODE_IP/32" dev "$K8S_VETH"
    ip link set "$peer" up
    ip link set "$K8S_VETH" up
    # Pods talk to each other through services (DNAT, then routed back out the bridge).
    sysctl -qw net.ipv4.ip_forward=1
}

healthy() { curl -fsS --max-time 2 "$@"; }

api_ready() {
    healthy --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        "https://$K8S_NODE_IP:$K8S_API_PORT/readyz"
}

start_control_plane() {
    local ca="$PKI/ca.crt" kconf
    start_daemon etcd "$K8S_BIN/etcd" --name "$K8S_NODE_NAME" --data-dir "$K8S_LOCAL_DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
        --initial-cluster "$K8S_NODE_NAME=http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
        --listen-metrics-urls "" --log-level warn
    wait_for etcd 30 healthy "http://127.0.0.1:$K8S_ETCD_PORT/health"
    log "etcd healthy at $(elapsed) s"

    start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$K8S_ETCD_PORT" \
        --bind-address "$K8S_NODE_IP" --advertise-address "$K8S_NODE_IP" \
        --secure-port "$K8S_API_PORT" \
        --service-cluster-ip-range "$K8S_SERVICE_CIDR" \
        --client-ca-file "$ca" \
        --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
        --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
        --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
        --kubelet-preferred-address-types InternalIP \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$PKI/sa.pub" \
        --service-account-signing-key-file "$PKI/sa.key" \
        --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
        --allow-privileged=true --profiling=false \
        --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" \
        --requestheader-allowed-names front-proxy-client \
        --requestheader-extra-headers-prefix X-Remote-Extra- \
        --requestheader-group-headers X-Remote-Group \
        --requestheader-username-headers X-Remote-User \
        --proxy-client-cert-file "$PKI/front-proxy-client.crt" \
        --proxy-client-key-file "$PKI/front-proxy-client.key" \
        --enable-aggregator-routing=true
    wait_for kube-apiserver 90 api_ready
    log "kube-apiserver ready at $(elapsed) s"

    kconf="$CONF/controller-manager.conf"
    start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
        --kubeconfig "$kconf" --authentication-kubeconfig "$kconf" --authorization-kubeconfig "$kconf" \
        --bind-address 127.0.0.1 --secure-port "$K8S_KCM_PORT" \
        --cluster-signing-cert-file "$ca" --cluster-signing-key-file "$PKI/ca.key" \
        --root-ca-file "$ca" --service-account-private-key-file "$PKI/sa.key" \
        --use-service-account-credentials=true \
        --service-cluster-ip-range "$K8S_SERVICE_CIDR" \
        --allocate-node-cidrs=true --cluster-cidr "$K8S_POD_CIDR" \
        --node-cidr-mask-size "${K8S_POD_CIDR#*/}" \
        --leader-elect=false --profiling=false
    kconf="$CONF/scheduler.conf"
    start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
        --kubeconfig "$kconf" --authentication-kubeconfig "$kconf" --authorization-kubeconfig "$kconf" \
        --bind-address 127.0.0.1 --secure-port "$K8S_SCHED_PORT" \
        --leader-elect=false --profiling=false
}

start_node() {
    start_daemon kubelet "$K8S_BIN/kubelet" --config "$CONF/kubelet.yaml" \
        --kubeconfig "$CONF/kubelet.conf" --root-dir "$K8S_LOCAL_DIR/kubelet" \
        --cert-dir "$K8S_LOCAL_DIR/kubelet/pki" \
        --hostname-override "$K8S_NODE_NAME" --node-ip "$K8S_NODE_IP"
    start_daemon kube-proxy "$K8S_BIN/kube-proxy" --config "$CONF/kube-proxy.yaml"
}

import_images() {
    local tar
    for tar in "$K8S_IMAGES"/*.tar; do
        ctr_k8s images import --no-unpack=false "$tar" >/dev/null
    done
}

install_addons() {
    sed -e "s|@DNS_IP@|$K8S_DNS_IP|g" -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" \
        "$HERE/manifests/coredns.yaml" | kubectl_admin apply -f - >/dev/null
    if [[ -f $K8S_IMAGES/metrics-server.tar ]]; then
        sed -e "s|@METRICS_SERVER_IMAGE@|$METRICS_SERVER_IMAGE|g" \
            "$HERE/manifests/metrics-server.yaml" | kubectl_admin apply -f - >/dev/null
    fi
}

node_ready() {
    [[ "$(kubectl_admin get node "$K8S_NODE_NAME" \
        -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

coredns_ready() {
    [[ "$(kubectl_admin -n kube-system get deploy coredns -o 'jsonpath={.status.readyReplicas}')" == 1 ]]
}

main() {
    [[ $EUID -eq 0 ]] || die "run as root"
    T0="$(date +%s.%N)"
    trap 'log "FAILED at $(elapsed) s: logs in $LOGS; k8s/local/down.sh cleans up"' ERR
    install_packages
    # shellcheck disable=SC2086 # a list of parts
    "$HERE/build.sh" ${K8S_LOCAL_BUILD_PARTS:-} >&2
    log "packages and binaries ready at $(elapsed) s"
    lock_cluster
    if cluster_running && api_ready >/dev/null 2>&1; then
        log "already running: reusing it (k8s/local/down.sh stops it)"
        echo "$KUBECONFIG_ADMIN"
        return 0
    fi
    if [[ -d $K8S_LOCAL_DIR ]]; then
        log "state dir $K8S_LOCAL_DIR exists: running down.sh first"
        K8S_LOCK_HELD=1 "$HERE/down.sh"
    fi
    mkdir -p "$K8S_LOCAL_DIR" "$LOGS" "$RUN" "$CONF"
    save_sysctls
    setup_network
    make_pki
    write_configs
    log "certificates and configs at $(elapsed) s"

    start_daemon containerd "$(command -v containerd)" --config "$CONF/containerd.toml"
    wait_for containerd 30 ctr_k8s version
    import_images
    log "containerd up, images imported at $(elapsed) s"

    start_control_plane
    start_node
    install_addons
    wait_for "node Ready" 120 node_ready
    log "node Ready at $(elapsed) s"
    wait_for "CoreDNS ready" 120 coredns_ready
    log "CoreDNS ready at $(elapsed) s"
    log "cluster up in $(elapsed) s; export KUBECONFIG=$KUBECONFIG_ADMIN"
    echo "$KUBECONFIG_ADMIN"
}

main "$@"
