#!/usr/bin/env bash
# What docker/Dockerfile needs before `docker build`, for the given services (default all):
#  1. the base image chatbot/python-base:3.11-bookworm: built from docker/base.Dockerfile on
#     debian:bookworm-slim when a registry is reachable, else with debootstrap
#     (scripts/images/build-base.sh);
#  2. the staged build context .build/<service>/ (scripts/images/stage.sh): locked
#     requirements, their wheels downloaded on the host (the build itself needs no index),
#     the UI's static files and npm libraries.
# Tilt runs it as a local_resource, Skaffold as a before-build hook, k8s/deploy.sh directly.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    docker build -q -f "$REPO/docker/base.Dockerfile" -t "$BASE_IMAGE" "$REPO/docker" >/dev/null ||
        "$REPO/scripts/images/build-base.sh"
fi
"$REPO/scripts/images/stage.sh" "$@"
