#!/usr/bin/env bash
# Build every image of the local cluster with our Docker engine and print their names:
# the four service images (scripts/images/build.sh) and the extras of docker/cluster/ on the
# same debootstrap base: Redis (Debian's redis-server), the MongoDB-wire stand-in (FerretDB),
# the fake OpenAI-compatible upstream and the HAProxy Ingress controller (Debian's haproxy).
# Go programs come from the module proxy (build-go.sh), Debian packages from the mirror over
# plain HTTP inside `docker build --network host`; nothing from a container registry.
#
#   eval "export $(scripts/images/dockerd.sh start)"   # if DOCKER_HOST is not set yet
#   scripts/images/cluster/build-all.sh
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
LOG_DIR="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/images"
STAGE="$REPO/.build/cluster"
DEBIAN_IMAGE=chatbot/debian-minbase:bookworm
[[ -n "${DOCKER_HOST:-}" ]] || { echo "DOCKER_HOST is not set: scripts/images/dockerd.sh start" >&2; exit 2; }
mkdir -p "$LOG_DIR" "$STAGE"
printf '*\n' >"$REPO/.build/.gitignore"

mapfile -t IMAGES < <("$HERE/images.sh")
image_named() { printf '%s\n' "${IMAGES[@]}" | grep "^chatbot/$1:"; }

"$REPO/scripts/images/build.sh"
docker image inspect "$DEBIAN_IMAGE" >/dev/null ||
    { echo "$DEBIAN_IMAGE missing: remove chatbot/python-base and rerun build-base.sh" >&2; exit 1; }
mapfile -t GO_DIRS < <("$HERE/build-go.sh")

build() { # <image> <dockerfile> <context> [build args...]
    local image="$1" dockerfile="$2" context="$3" log start size tenths
    shift 3
    log="$LOG_DIR/build-cluster-${image//[\/:]/-}.log"
    start=$(date +%s%N)
    docker build --network host "$@" -f "$dockerfile" -t "$image" "$context" >"$log" 2>&1 ||
        { tail -30 "$log" >&2; exit 1; }
    size=$(docker image inspect -f '{{.Size}}' "$image")
    tenths=$((($(date +%s%N) - start) / 100000000))
    printf 'built %-42s %4d MB in %d.%d s\n' "$image" $((size / 1000000)) \
        $((tenths / 10)) $((tenths % 10))
}

# Contexts: only what each Dockerfile copies.
rm -rf "${STAGE:?}"/*
mkdir -p "$STAGE/redis" "$STAGE/ferretdb" "$STAGE/fake-upstream/tests/support"
cp "${GO_DIRS[0]}/ferretdb" "$STAGE/ferretdb/"
cp "$REPO/tests/__init__.py" "$STAGE/fake-upstream/tests/"
cp "$REPO/tests/support/__init__.py" "$REPO/tests/support/fake_upstream.py" "$REPO/tests/support/holds.py" \
    "$STAGE/fake-upstream/tests/support/"
cp -r "${GO_DIRS[1]}" "$STAGE/haproxy-ingress"

build "$(image_named redis)" "$REPO/docker/cluster/redis.Dockerfile" "$STAGE/redis" \
    --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE"
build "$(image_named ferretdb)" "$REPO/docker/cluster/ferretdb.Dockerfile" "$STAGE/ferretdb"
build "$(image_named fake-upstream)" "$REPO/docker/cluster/fake-upstream.Dockerfile" \
    "$STAGE/fake-upstream" --build-arg LLM_IMAGE="$(image_named llm-service)"
build "$(image_named haproxy-ingress)" "$REPO/docker/cluster/haproxy-ingress.Dockerfile" \
    "$STAGE/haproxy-ingress" --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE"

printf '%s\n' "${IMAGES[@]}"
