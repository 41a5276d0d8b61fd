#!/usr/bin/env bash
# Import every image of the local cluster (images.sh) from our Docker engine into the
# cluster's containerd (k8s/local/load-image.sh: docker save | ctr import). Needs DOCKER_HOST
# and a running cluster (k8s/local/up.sh).
#
#   scripts/images/cluster/load-all.sh
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
[[ -n "${DOCKER_HOST:-}" ]] || { echo "DOCKER_HOST is not set: scripts/images/dockerd.sh start" >&2; exit 2; }
mapfile -t IMAGES < <("$HERE/images.sh")
"$REPO/k8s/local/load-image.sh" "${IMAGES[@]}"
