#!/usr/bin/env bash
# Package every chart's file:// dependencies into its charts/ directory (not committed:
# charts/.gitignore), leaves first: the service, MongoDB and Redis charts take chatbot-lib,
# then the umbrella packages them. Run before `helm install|template|lint charts/<chart>`
# from a checkout; Tilt, Skaffold, k8s/deploy.sh and the tests call it.
#
#   charts/tools/build-deps.sh [CHARTS_DIR]   # default: this repository's charts/
set -euo pipefail

CHARTS="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
if [[ -z ${HELM:-} ]]; then
    if command -v helm >/dev/null; then HELM=helm
    else HELM="$("$(dirname "$0")/../../scripts/helm-tools.sh" | sed -n 's/^HELM3=//p')"; fi
fi
for chart in ui-service chat-service llm-service history-service mongodb redis chatbot; do
    "$HELM" dependency build --skip-refresh "$CHARTS/$chart" 2>&1 >/dev/null | { grep -v "found symbolic link" >&2 || true; }
done
