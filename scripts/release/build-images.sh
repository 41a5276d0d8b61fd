#!/usr/bin/env bash
# Build the four service images of a release and push them as <registry>/chatbot/<service>:<version>
# (where the charts' global.imageRegistry points); print one <image>@<digest> line per image.
#
#   scripts/release/build-images.sh VERSION REGISTRY [--push] [--platforms linux/amd64,linux/arm64]
#                                   [--digests FILE]
#
# With --platforms and Docker Buildx (the release workflow): one multi-arch build per service
# with an SBOM and max-mode provenance attached, the base image built and pushed first as
# <registry>/chatbot/python-base:<version>. Without (this machine: the legacy builder, no
# BuildKit): the host's platform only, from the local base image (k8s/prepare-image.sh), then
# `docker push` (a registry on 127.0.0.1 is plain HTTP). Needs DOCKER_HOST or a default daemon.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SERVICES=(ui_service chat_service llm_service history_service)
usage() { sed -n '2,7p' "$0" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
VERSION="$1" REGISTRY="${2%/}"
shift 2
PUSH=0 PLATFORMS="" DIGESTS=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --push) PUSH=1 ;;
        --platforms) PLATFORMS="$2"; shift ;;
        --digests) DIGESTS="$2"; shift ;;
        *) usage ;;
    esac
    shift
done
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || { echo "not a SemVer: $VERSION" >&2; exit 2; }
LOGS="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/release"
mkdir -p "$LOGS"
: >"${DIGESTS:=$LOGS/digests.txt}"
SOURCE="$(git -C "$REPO" config --get remote.origin.url 2>/dev/null || true)"
LABELS=(--label "org.opencontainers.image.version=$VERSION"
    --label "org.opencontainers.image.revision=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)"
    --label "org.opencontainers.image.source=${SOURCE:-https://github.com/chatbot-platform/chatbot}"
    --label "org.opencontainers.image.licenses=Apache-2.0")

image_of() { echo "$REGISTRY/chatbot/${1//_/-}:$VERSION"; }

if [[ -n $PLATFORMS ]]; then
    docker buildx version >/dev/null 2>&1 || { echo "--platforms needs docker buildx" >&2; exit 1; }
    ((PUSH)) || { echo "a multi-platform build is pushed (--push)" >&2; exit 2; }
    arches=()
    IFS=, read -r -a platforms <<<"$PLATFORMS"
    for p in "${platforms[@]}"; do
        case "$p" in
            linux/amd64) arches+=(x86_64) ;;
            linux/arm64) arches+=(aarch64) ;;
            *) echo "unsupported platform $p" >&2; exit 2 ;;
        esac
    done
    STAGE_ARCHES="${arches[*]}" "$REPO/scripts/images/stage.sh" "${SERVICES[@]}" >&2
    base="$REGISTRY/chatbot/python-base:$VERSION"
    docker buildx build --platform "$PLATFORMS" --push -t "$base" "${LABELS[@]}" \
        -f "$REPO/docker/base.Dockerfile" "$REPO/docker" >&2
    for service in "${SERVICES[@]}"; do
        meta="$LOGS/$service.metadata.json"
        docker buildx build --platform "$PLATFORMS" --push --sbom=true --provenance=mode=max \
            --build-arg SERVICE="$service" --build-arg BASE_IMAGE="$base" "${LABELS[@]}" \
            --metadata-file "$meta" -t "$(image_of "$service")" -f "$REPO/docker/Dockerfile" "$REPO" >&2
        digest="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["containerimage.digest"])' "$meta")"
        echo "$(image_of "$service")@$digest" | tee -a "$DIGESTS"
    done
    exit 0
fi

"$REPO/k8s/prepare-image.sh" "${SERVICES[@]}" >&2 # the local base image + staged contexts
for service in "${SERVICES[@]}"; do
    image="$(image_of "$service")"
    docker build --build-arg SERVICE="$service" "${LABELS[@]}" -t "$image" \
        -f "$REPO/docker/Dockerfile" "$REPO" >"$LOGS/build-$service.log" 2>&1 ||
        { tail -30 "$LOGS/build-$service.log" >&2; exit 1; }
    if ((PUSH)); then
        docker push -q "$image" >&2
        # The registry's digest of what was pushed (RepoDigests: <name>@sha256:...).
        digest="$(docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$image" |
            grep -F "${image%:*}@" | head -1 | cut -d@ -f2)"
        echo "$image@$digest" | tee -a "$DIGESTS"
    else
        echo "$image"
    fi
done
