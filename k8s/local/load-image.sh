#!/usr/bin/env bash
# Load images into the local cluster's containerd (namespace k8s.io), no registry involved.
#
#   k8s/local/load-image.sh IMAGE.tar ...       # docker-save / OCI tarballs
#   k8s/local/load-image.sh chatbot/api:dev ... # names in a Docker engine (honours DOCKER_HOST)
#
# Pods then use the name as is, with imagePullPolicy: IfNotPresent (or Never).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_PREFIX=load-image
# shellcheck source=k8s/local/lib.sh
source "$HERE/lib.sh"

(($#)) || die "usage: $0 IMAGE.tar|IMAGE-NAME ..."
[[ -S $CONTAINERD_SOCK ]] || die "no containerd socket at $CONTAINERD_SOCK: run k8s/local/up.sh"
for arg in "$@"; do
    T0="$(date +%s.%N)"
    if [[ -f $arg ]]; then
        ctr_k8s images import "$arg" >/dev/null
    else
        docker image inspect "$arg" >/dev/null || die "$arg: neither a file nor a Docker image"
        docker save "$arg" | ctr_k8s images import - >/dev/null
    fi
    log "loaded $arg in $(elapsed) s"
done
