#!/usr/bin/env bash
# Uninstall the chatbot release (its PVCs too); with DELETE_CLUSTER=1 delete the kind cluster.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [[ "${DELETE_CLUSTER:-0}" == 1 ]]; then
    kind delete cluster --name "$CLUSTER"
    exit 0
fi
"$HELM" --kube-context "$KUBECONTEXT" uninstall "$RELEASE" --namespace "$NAMESPACE" --wait ||
    true
"$KUBECTL" --context "$KUBECONTEXT" -n "$NAMESPACE" delete pvc \
    -l "app.kubernetes.io/instance=$RELEASE" --ignore-not-found
