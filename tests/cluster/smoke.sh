#!/usr/bin/env bash
# Smoke test of the local single-node cluster, as root, from empty state to nothing left:
#   1. k8s/local/up.sh (builds the binaries first when they are not cached)
#   2. a two-pod Deployment of our own httpecho image, `kubectl rollout status`
#   3. one pod deleted through the Python kubernetes client, replaced and Ready
#   4. from a pod: the Service name resolves (CoreDNS) to its ClusterIP, an HTTP request
#      through it (kube-proxy) reaches one of the pods; outside names do not resolve and
#      outside addresses are unreachable
#   5. kubectl top pods through metrics-server (when it was built)
#   6. k8s/local/down.sh, then tests/cluster/check_clean.sh: nothing left behind
#
#   tests/cluster/smoke.sh          # prints the time of each step; exit 0 = pass
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOG_PREFIX=smoke
# shellcheck source=k8s/local/lib.sh
source "$ROOT/k8s/local/lib.sh"

STEPS=()
step() { # step NAME CMD...: run and record how long it took
    local name=$1 start
    shift
    start="$(date +%s.%N)"
    log "== $name"
    "$@"
    STEPS+=("$(awk -v a="$start" -v b="$(date +%s.%N)" -v n="$name" 'BEGIN { printf "%6.1f s  %s", b - a, n }')")
}

cleanup() {
    local rc=$?
    if [[ -d $K8S_LOCAL_DIR ]]; then
        ((rc == 0)) || K8S_LOCAL_KEEP_LOGS="${K8S_LOCAL_KEEP_LOGS:-$ROOT/.test-logs/cluster}"
        export K8S_LOCAL_KEEP_LOGS
        "$ROOT/k8s/local/down.sh" || true
    fi
    ((rc == 0)) && log "PASS" || log "FAIL (rc=$rc)"
    exit "$rc"
}

cluster_up() { "$ROOT/k8s/local/up.sh" >/dev/null; }

deploy() {
    kubectl_admin apply -f "$HERE/httpecho.yaml"
    kubectl_admin -n smoke rollout status deploy/httpecho --timeout=90s
}

replace_pod() {
    (cd "$ROOT" && uv run --frozen python tests/cluster/pod_replace.py \
        --kubeconfig "$KUBECONFIG_ADMIN" --namespace smoke --app httpecho --timeout 60)
}

dns_and_service() {
    local pod cluster_ip resolved body
    pod="$(kubectl_admin -n smoke get pods -l app=httpecho -o 'jsonpath={.items[0].metadata.name}')"
    cluster_ip="$(kubectl_admin -n smoke get svc httpecho -o 'jsonpath={.spec.clusterIP}')"
    resolved="$(kubectl_admin -n smoke exec "$pod" -- /httpecho lookup httpecho)"
    log "httpecho resolves to $resolved in $pod (ClusterIP $cluster_ip)"
    [[ $resolved == "$cluster_ip" ]] || die "DNS answer '$resolved' is not the ClusterIP $cluster_ip"
    resolved="$(kubectl_admin -n smoke exec "$pod" -- /httpecho lookup kubernetes.default.svc.cluster.local)"
    [[ $resolved == "$K8S_API_SERVICE_IP" ]] || die "kubernetes.default resolved to '$resolved'"
    body="$(kubectl_admin -n smoke exec "$pod" -- /httpecho get http://httpecho.smoke.svc.cluster.local/hello)"
    log "through the Service: $body"
    [[ $body == httpecho-*" /hello" ]] || die "unexpected answer through the Service: '$body'"
    # Nothing leaves the machine: no upstream DNS, no route outward (203.0.113.1: TEST-NET-3).
    if kubectl_admin -n smoke exec "$pod" -- /httpecho lookup example.com 2>/dev/null; then
        die "example.com resolved: CoreDNS must have no upstream"
    fi
    body="$(kubectl_admin -n smoke exec "$pod" -- /httpecho get http://203.0.113.1/ 2>&1 || true)"
    [[ $body == *"network is unreachable"* ]] || die "a pod has a route outward: '$body'"
}

report_memory() {
    local daemons pods=0 stat=/sys/fs/cgroup/memory/kubepods/memory.stat
    daemons="$(ps -eo rss=,args= | grep -F "$K8S_LOCAL_DIR/" | grep -v grep |
        awk '{ s += $1 } END { printf "%d", s / 1024 }')"
    [[ -r $stat ]] && pods="$(awk '$1 == "total_rss" { printf "%d", $2 / 1048576 }' "$stat")"
    log "memory: daemons and shims ${daemons} MB RSS, pods (kubepods cgroup) ${pods} MB RSS"
}

metrics_api() {
    wait_for "kubectl top pods (metrics-server)" 120 kubectl_admin -n smoke top pods
    kubectl_admin -n smoke top pods >&2
}

cluster_down() { "$ROOT/k8s/local/down.sh"; }

main() {
    [[ $EUID -eq 0 ]] || die "run as root"
    local t0
    t0="$(date +%s.%N)"
    if cluster_running; then
        die "a cluster is already running in $K8S_LOCAL_DIR (in use?): stop it with k8s/local/down.sh first"
    fi
    trap cleanup EXIT
    step "cluster up" cluster_up
    step "deploy 2 pods + rollout status" deploy
    step "delete a pod via the Python client, replacement Ready" replace_pod
    step "DNS of a Service name and a request through it, from a pod" dns_and_service
    report_memory
    if [[ -f $K8S_IMAGES/metrics-server.tar ]]; then
        step "metrics API: kubectl top pods" metrics_api
    fi
    step "cluster down" cluster_down
    step "nothing left behind" "$HERE/check_clean.sh"
    printf '%s\n' "${STEPS[@]}" >&2
    log "total $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
}

main "$@"
