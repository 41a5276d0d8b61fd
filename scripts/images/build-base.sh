#!/usr/bin/env bash
# Build chatbot/python-base:3.11-bookworm (docker/base.Dockerfile) on a bookworm root
# filesystem made with debootstrap, for machines that reach Debian's mirror but no container
# registry. Cached: does nothing when the image exists. Needs DOCKER_HOST (dockerd.sh start).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${CHATBOT_CACHE:-$HOME/.cache/chatbot}"
BASE_IMAGE="${BASE_IMAGE:-chatbot/python-base:3.11-bookworm}"
ROOTFS_IMAGE="chatbot/debian-minbase:bookworm"

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "base image $BASE_IMAGE: cached"
    exit 0
fi

if ! docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then
    # The machine's own Debian mirror (first non-security entry of its apt sources).
    mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^(URIs:|deb )/ && !/security/ {print $2; exit}' || true)"
    [[ "$mirror" == http* ]] || mirror="http://deb.debian.org/debian"
    rootfs="$CACHE/images/rootfs"
    rm -rf "$rootfs"
    mkdir -p "$rootfs" "$CACHE/images"
    echo "debootstrap bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CACHE/images/debootstrap.log" 2>&1 ||
        { tail -20 "$CACHE/images/debootstrap.log" >&2; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$ROOTFS_IMAGE" >/dev/null
    rm -rf "$rootfs"
fi

# Host network for apt-get: our daemon masquerades nothing, so its bridges stay closed.
log="$CACHE/images/base-build.log"
docker build --network host --build-arg DEBIAN_IMAGE="$ROOTFS_IMAGE" -t "$BASE_IMAGE" \
    -f "$REPO/docker/base.Dockerfile" "$REPO/docker" >"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
echo "base image $BASE_IMAGE: built"
