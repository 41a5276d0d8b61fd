# Step "release from OCI" of tests/cluster/test-cluster.sh (sourced; its helpers and variables):
# the release path of .github/workflows/release.yml, run here against registries of our own.
#   1. an OCI registry on loopback (scripts/release/tools.sh: go-containerregistry's, built
#      from the Go module proxy);
#   2. scripts/release/build-images.sh pushes the four images to it, push-charts.sh the charts;
#   3. `helm install oci://<registry>/charts/chatbot` with global.imageRegistry=<registry> in a
#      namespace of its own (containerd pulls from 127.0.0.1 over plain HTTP);
#   4. tests/cluster/live/live_release.py: the pods run the pushed images, a conversation,
#      `helm upgrade` keeps the Secrets and MongoDB's data, a restarted MongoDB its credentials;
#   5. uninstall, the registry stopped.
# shellcheck shell=bash

RELEASE_NS="${CHATBOT_RELEASE_NAMESPACE:-chatbot-release}"
RELEASE_NAME=rel
RELEASE_VERSION=0.99.0
RELEASE_HOST=release.localtest.me
REGISTRY_PID=""
REGISTRY_ADDR=""

release_registry() {
    eval "$("$ROOT/scripts/release/tools.sh")"
    "$REGISTRY" -addr 127.0.0.1:0 -dir "$WORK/registry" >"$WORK/registry.log" 2>&1 &
    REGISTRY_PID=$!
    wait_for "the local OCI registry" 30 grep -q "listening on 127.0.0.1:" "$WORK/registry.log"
    REGISTRY_ADDR="$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$WORK/registry.log")"
    log "local OCI registry on $REGISTRY_ADDR"
}

release_push() {
    "$ROOT/scripts/release/build-images.sh" "$RELEASE_VERSION" "$REGISTRY_ADDR" --push >&2
    HELM="$HELM" "$ROOT/scripts/release/push-charts.sh" "$RELEASE_VERSION" \
        "oci://$REGISTRY_ADDR/charts" --plain-http >&2
}

release_ingress_ready() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Host: $RELEASE_HOST" "$INGRESS_URL/readyz") == 200 ]]
}

release_install() {
    local s tags=() # k8s/local-values.yaml pins the locally built tags: the release's instead
    for s in ui chat llm history; do tags+=(--set "$s-service.image.tag=$RELEASE_VERSION"); done
    kubectl_admin create namespace "$RELEASE_NS" >/dev/null
    kubectl_admin -n "$RELEASE_NS" apply -f "$ROOT/k8s/local-ingress/fake-upstream.yaml" >/dev/null
    "$ROOT/k8s/local/volume.sh" "$RELEASE_NS" "$RELEASE_NAME" >/dev/null
    KUBECONFIG="$KUBECONFIG_ADMIN" "$HELM" install "$RELEASE_NAME" \
        "oci://$REGISTRY_ADDR/charts/chatbot" --version "$RELEASE_VERSION" --plain-http \
        -n "$RELEASE_NS" -f "$ROOT/k8s/local-values.yaml" \
        --set global.imageRegistry="$REGISTRY_ADDR" --set ingress.host="$RELEASE_HOST" \
        --set global.publicUrl="http://$RELEASE_HOST" "${tags[@]}" \
        --wait --timeout 8m >&2
    kubectl_admin -n "$RELEASE_NS" rollout status deploy/chatbot-fake-llm --timeout=120s >&2
    wait_for "the ingress to route $RELEASE_HOST" 120 release_ingress_ready
    KUBECONFIG="$KUBECONFIG_ADMIN" "$HELM" test "$RELEASE_NAME" -n "$RELEASE_NS" --timeout 5m >&2
}

release_live() { # live_release.py against this release (dynamic scope: live_env reads these)
    local NS="$RELEASE_NS" RELEASE="$RELEASE_NAME" HOST="$RELEASE_HOST"
    LIVE_CHART="oci://$REGISTRY_ADDR/charts/chatbot" CHATBOT_IMAGE_REGISTRY="$REGISTRY_ADDR" \
        CHATBOT_VERSION="$RELEASE_VERSION" live live_release
}

release_uninstall() {
    KUBECONFIG="$KUBECONFIG_ADMIN" "$HELM" uninstall "$RELEASE_NAME" -n "$RELEASE_NS" --wait \
        --timeout 3m >&2 || true
    kubectl_admin delete namespace "$RELEASE_NS" --wait=true --timeout=120s >/dev/null || true
    kubectl_admin delete pv "$RELEASE_NS-$RELEASE_NAME-mongodb-0" --ignore-not-found \
        --wait=true --timeout=60s >/dev/null || true
    release_stop_registry
}

release_stop_registry() {
    [[ -n $REGISTRY_PID ]] || return 0
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
    REGISTRY_PID=""
}

release_from_oci() {
    release_registry
    release_push
    release_install
    release_live
    release_uninstall
}
