#!/usr/bin/env bash
# Create the kind cluster (k8s/kind-config.yaml), the chatbot namespace and Traefik as the
# ingress controller; with MONITORING=1 also kube-prometheus-stack. Idempotent.
# Needs docker, kind, kubectl and helm (charts come from their public repositories).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need "$KUBECTL" "https://kubernetes.io/docs/tasks/tools/"

if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    kind create cluster --name "$CLUSTER" --config "$REPO/k8s/kind-config.yaml" --wait 120s
fi
"$KUBECTL" --context "$KUBECONTEXT" apply -f "$REPO/k8s/namespace.yaml"

"$HELM" repo add traefik https://traefik.github.io/charts --force-update >/dev/null
"$HELM" --kube-context "$KUBECONTEXT" upgrade --install traefik traefik/traefik \
    --namespace traefik --create-namespace -f "$REPO/k8s/ingress/traefik-values.yaml" --wait

if [[ "${MONITORING:-0}" == 1 ]]; then
    "$HELM" repo add prometheus-community https://prometheus-community.github.io/helm-charts \
        --force-update >/dev/null
    "$HELM" --kube-context "$KUBECONTEXT" upgrade --install kube-prometheus-stack \
        prometheus-community/kube-prometheus-stack --namespace monitoring --create-namespace \
        -f "$REPO/k8s/monitoring/kube-prometheus-stack-values.yaml" --wait --timeout 10m
fi
echo "kind cluster $CLUSTER ready (context $KUBECONTEXT); next: make deploy or make dev"
