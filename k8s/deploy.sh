#!/usr/bin/env bash
# Build the four images, load them into the kind cluster and install or upgrade the umbrella
# chart with k8s/values-kind.yaml (plus any extra helm arguments given, e.g.
# -f ci/monitoring-values.yaml). A fresh tag per run makes every deploy roll the pods.
# NVIDIA_API_KEY in the environment goes into Secret nvidia-api-key (the LLM upstream key).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need docker "https://docs.docker.com/engine/install/"
need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"

TAG="${TAG:-dev-$(git -C "$REPO" rev-parse --short HEAD)-$(date +%s)}"
"$REPO/k8s/prepare-image.sh" "${SERVICES[@]}"
sets=()
for service in "${SERVICES[@]}"; do
    image="chatbot/${service//_/-}:$TAG"
    docker build -q --build-arg SERVICE="$service" --build-arg BASE_IMAGE="$BASE_IMAGE" \
        -f "$REPO/docker/Dockerfile" -t "$image" "$REPO" >/dev/null
    kind load docker-image --name "$CLUSTER" "$image"
    sets+=(--set "${service//_/-}.image.tag=$TAG")
done

HELM="$HELM" "$REPO/charts/tools/build-deps.sh"
"$KUBECTL" --context "$KUBECONTEXT" apply -f "$REPO/k8s/namespace.yaml"
if [[ -n "${NVIDIA_API_KEY:-}" ]]; then
    "$KUBECTL" --context "$KUBECONTEXT" -n "$NAMESPACE" create secret generic nvidia-api-key \
        --from-literal=NVIDIA_API_KEY="$NVIDIA_API_KEY" --dry-run=client -o yaml |
        "$KUBECTL" --context "$KUBECONTEXT" apply -f -
fi
"$HELM" --kube-context "$KUBECONTEXT" upgrade --install "$RELEASE" "$REPO/charts/chatbot" \
    --namespace "$NAMESPACE" -f "$REPO/k8s/values-kind.yaml" "${sets[@]}" "$@" \
    --wait --timeout 10m
echo "deployed $RELEASE ($TAG): http://chatbot.localtest.me"
