#!/usr/bin/env bash
# `make test-images`: build the base and the four service images with a Docker engine of our
# own, run them as read-only, non-root containers on a network of their own (the LLM service
# pointed at the fake upstream, run from the llm image), hold one conversation through them
# from the host (published ports on 127.0.0.1 only), then remove everything it started.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$REPO/scripts/images"
NET=chatbot-e2e
# shellcheck source=scripts/lib/machine-lock.sh
source "$REPO/scripts/lib/machine-lock.sh"
machine_lock test-images
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || ! command -v iptables >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        docker.io debootstrap iptables >/dev/null
fi
eval "export $("$HERE/dockerd.sh" start)"

cleanup() {
    docker rm -f "${NET}-ui" "${NET}-chat" "${NET}-llm" "${NET}-history" "${NET}-upstream" \
        >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    "$HERE/dockerd.sh" stop
}
trap cleanup EXIT

"$HERE/build.sh"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/services/chat_service/pyproject.toml" | head -1)"
docker network rm "$NET" >/dev/null 2>&1 || true
docker network create -o com.docker.network.bridge.name=cbnet0 "$NET" >/dev/null

auth="$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
internal="$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
hardening=(--read-only --tmpfs /tmp --tmpfs /var/lib/chatbot:uid=10001,gid=10001
    --cap-drop ALL --security-opt no-new-privileges --user 10001:10001 --network "$NET")
run() { # <name> <service> <port> [docker args...]
    local name="$1" service="$2" port="$3"
    shift 3
    docker run -d --name "${NET}-$name" --network-alias "$name" "${hardening[@]}" \
        -e PORT="$port" "$@" "chatbot/${service//_/-}:$version" >/dev/null
}
docker run -d --name "${NET}-upstream" --network-alias upstream "${hardening[@]}" \
    -v "$REPO/tests:/app/tests:ro" -w /app -e PORT=9000 -e HOST=0.0.0.0 \
    "chatbot/llm-service:$version" python -m tests.support.fake_upstream --host 0.0.0.0 --port 9000 >/dev/null
run history history_service 8083 -e INTERNAL_TOKEN="$internal"
run llm llm_service 8082 -e INTERNAL_TOKEN="$internal" -e LLM_BASE_URL=http://upstream:9000/v1 \
    -e LLM_API_KEY=fake -e LLM_MODEL=fake-model
run chat chat_service 8081 -p 127.0.0.1::8081 -e AUTH_SECRET="$auth" -e INTERNAL_TOKEN="$internal" \
    -e LLM_SERVICE_URL=http://llm:8082/v1 -e HISTORY_SERVICE_URL=http://history:8083 \
    -e SHUTDOWN_GRACE_SECONDS=5 -e ALLOWED_ORIGINS=
run ui ui_service 8080 -p 127.0.0.1::8080 -e AUTH_SECRET="$auth" -e INTERNAL_TOKEN="$internal" \
    -e CHAT_PUBLIC_URL= -e LLM_SERVICE_URL=http://llm:8082/v1

ui_port="$(docker port "${NET}-ui" 8080/tcp | head -1 | cut -d: -f2)"
chat_port="$(docker port "${NET}-chat" 8081/tcp | head -1 | cut -d: -f2)"
for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$chat_port/readyz" >/dev/null 2>&1 &&
        curl -fsS "http://127.0.0.1:$ui_port/readyz" >/dev/null 2>&1; then
        break
    fi
    sleep 0.5
done
for name in upstream history llm chat ui; do
    echo "--- $name: $(docker inspect -f '{{.State.Status}}' "${NET}-$name")"
    docker logs --tail 3 "${NET}-$name" 2>&1 | cut -c1-200
done
curl -fsS "http://127.0.0.1:$chat_port/readyz" >/dev/null
(cd "$REPO" && uv run --frozen --no-sync python "$HERE/e2e_conversation.py" "$ui_port" "$chat_port")
# SIGTERM reaches the service through tini: the container stops well before docker's 10 s kill.
start=$(date +%s%N)
docker stop -t 10 "${NET}-chat" >/dev/null
echo "chat container stopped on SIGTERM in $((($(date +%s%N) - start) / 1000000)) ms"
echo "test-images: passed"
