#!/usr/bin/env bash
# Prepare .build/<service>/ for docker/Dockerfile (build context = repository root):
#   requirements.txt  the service's locked third-party dependencies (uv export, no dev)
#   wheels/           those wheels for CPython 3.11 on manylinux, downloaded on the host
#                     through a cache in ~/.cache/chatbot/wheels (builds need no index)
#   app/              extra files kept at their repository path: the UI's static files and
#                     only the npm library directories it serves
#
#   scripts/images/stage.sh ui_service chat_service ...
#   STAGE_ARCHES="x86_64 aarch64" scripts/images/stage.sh ...   # wheels for a multi-arch build
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/wheels"
# The architectures whose wheels are staged (all into one wheels/: pip picks the build's own).
read -r -a ARCHES <<<"${STAGE_ARCHES:-$(uname -m)}"
# The Python of the base image (Debian bookworm's python3): markers are evaluated for it.
TARGET_PYTHON="${TARGET_PYTHON:-3.11.2}"
PY="${PYTHON:-python3}"
mkdir -p "$REPO/.build" "$CACHE"
printf '*\n' >"$REPO/.build/.gitignore"

stage() {
    local service="$1" package="${1//_/-}" out="$REPO/.build/$1"
    [[ -d "$REPO/services/$service/src/$service" ]] || { echo "no service $service" >&2; exit 2; }
    rm -rf "$out"
    mkdir -p "$out/wheels" "$out/app"
    (cd "$REPO" && uv export --quiet --frozen --package "$package" --no-dev --no-hashes \
        --no-emit-workspace --no-header --no-annotate -o "$out/requirements.lock")
    local arch
    for arch in "${ARCHES[@]}"; do # one requirements.txt must fit every architecture
        "$PY" "$REPO/scripts/images/resolve_markers.py" "$out/requirements.lock" "$TARGET_PYTHON" \
            "$arch" >"$out/requirements.$arch.txt"
        cmp -s "$out/requirements.$arch.txt" "$out/requirements.${ARCHES[0]}.txt" ||
            { echo "$service: requirements differ between ${ARCHES[0]} and $arch" >&2; exit 1; }
    done
    mv "$out/requirements.${ARCHES[0]}.txt" "$out/requirements.txt"
    rm -f "$out"/requirements.*.txt "$out/requirements.lock"
    for arch in "${ARCHES[@]}"; do
        download "$out" "$arch"
    done
    local web="services/$service/web"
    if [[ -d "$REPO/$web" ]]; then
        mkdir -p "$out/app/$web"
        (cd "$REPO/$web" && find . -mindepth 1 -maxdepth 1 ! -name node_modules \
            ! -name 'package*.json' -exec cp -a {} "$out/app/$web/" \;)
        stage_npm "$service" "$out/app/$web"
    fi
    echo "staged $service (${ARCHES[*]}): $(wc -l <"$out/requirements.txt") requirements," \
        "$(du -sh "$out" | cut -f1)"
}

download() { # <staged dir> <arch>: the wheels of requirements.txt for CPython on that arch
    local out="$1" arch="$2"
    local platforms=(--platform "manylinux_2_28_$arch" --platform "manylinux_2_17_$arch"
        --platform "manylinux2014_$arch" --platform "manylinux1_$arch")
    # Offline first (a warm cache needs no network); fill the cache from the index if not.
    if ! "$PY" -m pip download --quiet --disable-pip-version-check --no-index \
        --find-links "$CACHE" --no-deps --only-binary=:all: --python-version "$TARGET_PYTHON" "${platforms[@]}" \
        -d "$out/wheels" -r "$out/requirements.txt" >/dev/null 2>&1; then
        "$PY" -m pip download --quiet --disable-pip-version-check --no-deps \
            --only-binary=:all: --python-version "$TARGET_PYTHON" "${platforms[@]}" -d "$CACHE" -r "$out/requirements.txt"
        "$PY" -m pip download --quiet --disable-pip-version-check --no-index \
            --find-links "$CACHE" --no-deps --only-binary=:all: --python-version "$TARGET_PYTHON" "${platforms[@]}" \
            -d "$out/wheels" -r "$out/requirements.txt"
    fi
}

stage_npm() { # <service> <dest web dir>: copy only the library directories the service serves
    local service="$1" dest="$2" modules="$REPO/services/$1/web/node_modules" dir
    if [[ ! -d "$modules" ]]; then
        npm ci --silent --no-audit --no-fund --prefix "$REPO/services/$service/web"
    fi
    # The service's own list (ui_service.vendor.PACKAGES) says which directories it serves.
    for dir in $(cd "$REPO" && uv run --frozen --no-sync python -c \
        "from $service.vendor import PACKAGES; print(' '.join(PACKAGES.values()))"); do
        mkdir -p "$dest/node_modules/$dir"
        cp -a "$modules/$dir/." "$dest/node_modules/$dir/"
    done
}

[[ $# -gt 0 ]] || set -- ui_service chat_service llm_service history_service
for service in "$@"; do
    stage "$service"
done
