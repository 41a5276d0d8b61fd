#!/usr/bin/env bash
# The inner loop: the kind cluster (created when missing), then Tilt (Tiltfile) with live
# update. Arguments go to `tilt up`, e.g. `k8s/dev.sh --stream`. Ctrl-C stops Tilt; the
# deployment stays (`tilt down` or make undeploy removes it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need tilt "https://docs.tilt.dev/install.html"
kind get clusters 2>/dev/null | grep -qx "$CLUSTER" || "$REPO/k8s/kind-up.sh"
cd "$REPO"
exec tilt up --context "$KUBECONTEXT" "$@"
