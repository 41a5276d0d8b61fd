#!/usr/bin/env bash
# Live-cluster acceptance (issue 12), as root, from empty state to nothing left behind:
#   1. k8s/local/up.sh; the images built (scripts/images/cluster/build-all.sh) and loaded
#      (load-all.sh); HAProxy Ingress + fake upstream; `helm install --wait` of charts/chatbot
#      with k8s/local-values.yaml; `helm test` (every chart's test hooks)
#   2. tests/cluster/live/live_conversation.py: a conversation through the ingress
#   3. tests/cluster/live/live_chat_kill.py: the chat pod serving an answer deleted mid-answer
#   4. tests/cluster/live/live_store_outage.py: history and MongoDB pods deleted;
#      tests/cluster/live/live_redis_outage.py: Redis away mid-answer, chat pods stay Ready
#   5. `chaos run stress_tests/chaos/pod-kill.json` per target service, then chaos_test.py --mode k8s
#   6. tests/cluster/live/live_upgrade.py: `helm upgrade` with a changed config mid-answer
#   7. tests/cluster/release.sh: the release path (images and charts pushed to a local OCI
#      registry, `helm install oci://...` with global.imageRegistry, upgrade keeps MongoDB)
#   8. helm uninstall, k8s/local/down.sh, tests/cluster/check_clean.sh
# Prints the time of each step, the cluster's memory and each pod kill's recovery time.
#
#   tests/cluster/test-cluster.sh            # exit 0 = pass
#   TEST_CLUSTER_KEEP=1 tests/cluster/test-cluster.sh   # leave the cluster running (debug)
#   TEST_CLUSTER_REUSE=1 TEST_CLUSTER_KEEP=1 ...        # install on the running one (debug)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOG_PREFIX=test-cluster
# shellcheck source=k8s/local/lib.sh
source "$ROOT/k8s/local/lib.sh"
# shellcheck source=tests/cluster/release.sh
source "$HERE/release.sh"
# shellcheck source=scripts/lib/machine-lock.sh
source "$ROOT/scripts/lib/machine-lock.sh"
eval "$("$ROOT/scripts/helm-tools.sh")"
HELM="$HELM3"

NS="${CHATBOT_NAMESPACE:-chatbot}"
RELEASE="${CHATBOT_RELEASE:-chatbot}"
HOST="$(awk '/^ingress:/ { s = 1 } s && $1 == "host:" { print $2; exit }' "$ROOT/k8s/local-values.yaml")"
INGRESS_URL="http://$K8S_NODE_IP:30080"
WORK="" # made once the trap is set
STARTED_DOCKERD=0
STEPS=()
FAILURES=()

fail() { # record a failed check and go on (the steps after it still run); exit 1 at the end
    log "FAILED: $*"
    FAILURES+=("$*")
    save_logs "$*"
}

save_logs() { # save_logs WHAT: the namespace's pod logs now (later steps replace the pods)
    local dir pod pods
    dir="$ROOT/results/cluster-logs/$(date -u +%H%M%S)-$(printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '_' | cut -c1-60)"
    mkdir -p "$dir" || return 0
    pods="$(kubectl_admin -n "$NS" get pods -o name 2>/dev/null)" || true
    for pod in $pods; do
        kubectl_admin -n "$NS" logs "$pod" --all-containers --tail=5000 >"$dir/${pod#pod/}.log" 2>&1 || true
    done
    log "pod logs of $NS saved in ${dir#"$ROOT"/}"
}

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
    set +e
    if ((rc != 0)) && [[ -f $KUBECONFIG_ADMIN ]]; then
        kubectl_admin -n "$NS" get pods -o wide >&2
        kubectl_admin -n "$NS" get events --sort-by=.lastTimestamp 2>/dev/null | tail -30 >&2
    fi
    if [[ ${TEST_CLUSTER_KEEP:-0} != 1 && -d $K8S_LOCAL_DIR ]]; then
        ((rc == 0)) || K8S_LOCAL_KEEP_LOGS="${K8S_LOCAL_KEEP_LOGS:-$ROOT/.test-logs/cluster}"
        export K8S_LOCAL_KEEP_LOGS
        "$ROOT/k8s/local/down.sh"
    fi
    release_stop_registry
    ((STARTED_DOCKERD)) && "$ROOT/scripts/images/dockerd.sh" stop >/dev/null
    [[ -z $WORK ]] || rm -rf "$WORK"
    printf '%s\n' "${STEPS[@]}" >&2
    ((${#FAILURES[@]})) && printf 'FAILED: %s\n' "${FAILURES[@]}" >&2
    ((rc == 0)) && log "PASS" || log "FAIL (rc=$rc)"
    exit "$rc"
}

docker_engine() {
    if [[ -z ${DOCKER_HOST:-} ]]; then
        if ! pgrep -F /run/chatbot-images/dockerd.pid >/dev/null 2>&1; then STARTED_DOCKERD=1; fi
        eval "export $("$ROOT/scripts/images/dockerd.sh" start)"
    fi
}

cluster_up() {
    local kind=warm
    [[ -x $K8S_BIN/kubelet ]] || kind="cold (binaries built)"
    "$ROOT/k8s/local/up.sh" >/dev/null
    log "cluster up: $kind"
}

build_images() { "$ROOT/scripts/images/cluster/build-all.sh" >&2; }
load_images() { "$ROOT/scripts/images/cluster/load-all.sh"; }

# The umbrella chart with its dependencies packaged from the chart sources as they are now
# (in a copy, so the checkout's charts/ is left as it is).
chart_dir() {
    [[ -d $WORK/charts ]] || {
        cp -rL "$ROOT/charts" "$WORK/charts"
        HELM="$HELM" "$ROOT/charts/tools/build-deps.sh" "$WORK/charts"
    }
    echo "$WORK/charts/chatbot"
}

ingress_ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST" "$INGRESS_URL/readyz") == 200 ]]; }

install() {
    local chart
    chart="$(chart_dir)"
    kubectl_admin apply -f "$ROOT/k8s/local-ingress/haproxy-ingress.yaml" >/dev/null
    kubectl_admin create namespace "$NS" >/dev/null
    kubectl_admin -n "$NS" apply -f "$ROOT/k8s/local-ingress/fake-upstream.yaml" >/dev/null
    "$ROOT/k8s/local/volume.sh" "$NS" "$RELEASE" >/dev/null # k8s/local-values.yaml keeps MongoDB on it
    KUBECONFIG="$KUBECONFIG_ADMIN" "$HELM" install "$RELEASE" "$chart" -n "$NS" \
        -f "$ROOT/k8s/local-values.yaml" --wait --timeout 6m
    kubectl_admin -n ingress-haproxy rollout status deploy/haproxy-ingress --timeout=120s
    kubectl_admin -n "$NS" rollout status deploy/chatbot-fake-llm --timeout=120s
    # The chaos experiments' probes call their base URL without a Host header: the same two
    # routes for any host (this file's own Ingress; the chart's keeps its host).
    kubectl_admin -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $RELEASE-any-host
  annotations:
    haproxy-ingress.github.io/affinity: cookie
    haproxy-ingress.github.io/session-cookie-name: chatbot_chat
spec:
  ingressClassName: haproxy
  rules:
    - http:
        paths:
          - {path: /socket.io/, pathType: Prefix, backend: {service: {name: $RELEASE-chat, port: {name: http}}}}
          - {path: /, pathType: Prefix, backend: {service: {name: $RELEASE-ui, port: {name: http}}}}
EOF
    wait_for "the ingress to route $HOST" 120 ingress_ready
}

helm_test() { KUBECONFIG="$KUBECONFIG_ADMIN" "$HELM" test "$RELEASE" -n "$NS" --timeout 5m >&2; }

report_memory() {
    local daemons pods=0 stat=/sys/fs/cgroup/memory/kubepods/memory.stat
    daemons="$(ps -eo rss=,args= | grep -F "$K8S_LOCAL_DIR/" | grep -v grep |
        awk '{ s += $1 } END { printf "%d", s / 1024 }')"
    [[ -r $stat ]] && pods="$(awk '$1 == "total_rss" { printf "%d", $2 / 1048576 }' "$stat")"
    log "memory: daemons and shims ${daemons} MB RSS, pods (kubepods cgroup) ${pods} MB RSS"
}

live_env() {
    env CHATBOT_KUBECONFIG="$KUBECONFIG_ADMIN" CHATBOT_INGRESS_URL="$INGRESS_URL" \
        CHATBOT_HOST="$HOST" CHATBOT_NAMESPACE="$NS" CHATBOT_RELEASE="$RELEASE" \
        CHATBOT_HELM="$HELM" CHATBOT_CHART="${LIVE_CHART:-$(chart_dir)}" \
        CHATBOT_VALUES="$ROOT/k8s/local-values.yaml" "$@"
}

live() { # live MODULE...: pytest on tests/cluster/live/MODULE.py (not collected by plain pytest)
    local files=()
    for m in "$@"; do files+=("tests/cluster/live/$m.py"); done
    (cd "$ROOT" && live_env uv run --frozen pytest -p no:cacheprovider -o addopts="" -o timeout=600 \
        --import-mode=importlib -v -s "${files[@]}") || fail "live tests: $*"
}

# A journal passes when the run completed with the steady state holding before and after, and
# the method really did something: every action's pod list is non-empty, every probe True.
journal_check() {
    python3 - "$1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
bad = [] if j["status"] == "completed" and not j["deviated"] else [f"{j['status']}, deviated={j['deviated']}"]
for r in j["run"]:
    a, out = r["activity"], r.get("output")
    if r["status"] != "succeeded" or (a["type"] == "action" and not out) or (a["type"] == "probe" and out is False):
        bad.append(f"{a['name']}: {r['status']}, output {str(out)[:200]}")
print("; ".join(bad) or "ok")
PY
}

chaos_experiments() { # the one experiment, once per target service, as the README runs it
    local target status
    for target in chat llm history mongodb; do
        log "chaos run pod-kill.json, CHATBOT_TARGET=$target"
        (cd "$WORK" && env -u PYTHONPATH KUBECONFIG="$KUBECONFIG_ADMIN" \
            CHATBOT_BASE_URL="$INGRESS_URL" CHATBOT_NAMESPACE="$NS" CHATBOT_RELEASE="$RELEASE" \
            CHATBOT_TARGET="$target" CHATBOT_READY_TIMEOUT=300 \
            "$ROOT/.venv/bin/chaos" --log-file "$WORK/chaos-$target.log" run \
            --journal-path "$WORK/journal-$target.json" "$ROOT/stress_tests/chaos/pod-kill.json") >&2 || true
        status="$(journal_check "$WORK/journal-$target.json" 2>&1)"
        log "chaos $target: $status"
        [[ $status == ok ]] || fail "chaos experiment pod-kill ($target): $status"
    done
}

chaos_k8s() {
    (cd "$ROOT" && uv run --frozen python -m stress_tests.chaos_test --mode k8s \
        --kubeconfig "$KUBECONFIG_ADMIN" --base-url "$INGRESS_URL" --namespace "$NS" \
        --release "$RELEASE" --quick --name chaos_k8s_cluster) >&2 ||
        fail "stress_tests/chaos_test.py --mode k8s against the cluster"
}

uninstall() {
    KUBECONFIG="$KUBECONFIG_ADMIN" "$HELM" uninstall "$RELEASE" -n "$NS" --wait --timeout 3m
    kubectl_admin delete namespace "$NS" --wait=true --timeout=120s
    kubectl_admin delete -f "$ROOT/k8s/local-ingress/haproxy-ingress.yaml" --wait=true --timeout=120s >/dev/null
    kubectl_admin delete pv "$NS-$RELEASE-mongodb-0" --ignore-not-found --wait=true --timeout=60s
}

cluster_down() { "$ROOT/k8s/local/down.sh"; }

main() {
    [[ $EUID -eq 0 ]] || die "run as root"
    local t0
    machine_lock test-cluster
    t0="$(date +%s.%N)"
    if cluster_running && [[ ${TEST_CLUSTER_REUSE:-0} != 1 ]]; then
        die "a cluster is already running in $K8S_LOCAL_DIR (in use?): stop it with k8s/local/down.sh first"
    fi
    trap cleanup EXIT
    WORK="$(mktemp -d /tmp/test-cluster.XXXXXX)"
    step "docker engine" docker_engine
    if [[ ${TEST_CLUSTER_REUSE:-0} != 1 ]]; then
        step "cluster up" cluster_up
        step "build images" build_images
        step "load images" load_images
    fi
    step "ingress + fake upstream + helm install --wait" install
    step "helm test" helm_test
    report_memory
    step "conversation through the ingress" live live_conversation
    step "chat pod deleted mid-answer" live live_chat_kill
    step "history and MongoDB pods deleted" live live_store_outage
    step "Redis away mid-answer, chat stays Ready" live live_redis_outage
    step "chaos run pod-kill.json x4" chaos_experiments
    step "chaos_test.py --mode k8s" chaos_k8s
    step "helm upgrade mid-answer" live live_upgrade
    step "release from OCI: push, helm install oci://, upgrade" release_from_oci
    report_memory
    if [[ ${TEST_CLUSTER_KEEP:-0} == 1 ]]; then
        ((${#FAILURES[@]} == 0)) || exit 1
        return
    fi
    step "helm uninstall" uninstall
    step "cluster down" cluster_down
    step "nothing left behind" "$HERE/check_clean.sh"
    if ((${#FAILURES[@]})); then
        printf 'FAILED: %s\n' "${FAILURES[@]}" >&2
        exit 1
    fi
    log "total $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
}

main "$@"
