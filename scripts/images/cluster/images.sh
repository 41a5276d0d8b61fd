#!/usr/bin/env bash
# The images of the local cluster, one name a line: the four services (tagged with their
# pyproject versions) and the extras built by build-all.sh. Their tags are the ones
# k8s/local-values.yaml and k8s/local-ingress/*.yaml reference.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../../.." && pwd)"
for service in ui_service chat_service llm_service history_service; do
    version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/services/$service/pyproject.toml" | head -1)"
    echo "chatbot/${service//_/-}:$version"
done
llm_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/services/llm_service/pyproject.toml" | head -1)"
echo "chatbot/redis:7.0-bookworm"
echo "chatbot/ferretdb:1.24.2"
echo "chatbot/fake-upstream:$llm_version"
echo "chatbot/haproxy-ingress:0.14.0-haproxy2.6"
