#!/usr/bin/env bash
# Build the service images chatbot/<name>-service:<version> (docker/Dockerfile) after staging
# their build contexts; builds the base image first if it is missing. Needs DOCKER_HOST.
#
#   scripts/images/build.sh [ui_service chat_service llm_service history_service]
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$REPO/scripts/images"
LOG_DIR="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/images"
mkdir -p "$LOG_DIR"
[[ $# -gt 0 ]] || set -- ui_service chat_service llm_service history_service

"$HERE/build-base.sh"
"$HERE/stage.sh" "$@"
for service in "$@"; do
    version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/services/$service/pyproject.toml" | head -1)"
    image="chatbot/${service//_/-}:$version"
    start=$(date +%s%N)
    docker build --build-arg SERVICE="$service" -f "$REPO/docker/Dockerfile" -t "$image" "$REPO" \
        >"$LOG_DIR/build-$service.log" 2>&1 || { tail -30 "$LOG_DIR/build-$service.log" >&2; exit 1; }
    size=$(docker image inspect -f '{{.Size}}' "$image")
    tenths=$((($(date +%s%N) - start) / 100000000))
    printf 'built %-36s %4d MB in %d.%d s\n' "$image" $((size / 1000000)) \
        $((tenths / 10)) $((tenths % 10))
done
