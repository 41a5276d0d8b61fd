#!/usr/bin/env bash
# Package every chart of charts/ at the release's version (chart version and appVersion, and
# the MongoDB and Redis charts' secret-Job image tag) and push each to an OCI registry with
# `helm push`; print one oci://...:<version>@<digest> line per chart. A copy of charts/ is
# packaged: the checkout stays as it is.
#
#   scripts/release/push-charts.sh VERSION oci://ghcr.io/<owner>/charts [--plain-http] [--out DIR]
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
[[ $# -ge 2 ]] || { sed -n '2,7p' "$0" >&2; exit 2; }
VERSION="$1" TARGET="${2%/}"
shift 2
FLAGS=() OUT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --plain-http) FLAGS+=(--plain-http) ;;
        --out) OUT="$2"; shift ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $TARGET == oci://* ]] || { echo "the target must be oci://..." >&2; exit 2; }
if [[ -z ${HELM:-} ]]; then
    if command -v helm >/dev/null; then HELM=helm
    else HELM="$("$REPO/scripts/helm-tools.sh" | sed -n 's/^HELM3=//p')"; fi
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
OUT="${OUT:-$WORK/packages}"
mkdir -p "$OUT"
cp -rL "$REPO/charts" "$WORK/charts"
rm -rf "$WORK"/charts/*/charts "$WORK"/charts/*/Chart.lock

# One version for the release: every chart, its file:// dependencies, the project's images.
python3 - "$WORK/charts" "$VERSION" <<'PY'
import pathlib, re, sys
charts, version = pathlib.Path(sys.argv[1]), sys.argv[2]
ours = {p.parent.name for p in charts.glob("*/Chart.yaml")}
for chart in charts.glob("*/Chart.yaml"):
    text = chart.read_text()
    text = re.sub(r"(?m)^version: .*$", f"version: {version}", text)
    if chart.parent.name not in ("mongodb", "redis"):  # their appVersion is the database's
        text = re.sub(r'(?m)^appVersion: .*$', f'appVersion: "{version}"', text)
    for name in ours:  # dependencies on our own charts: this version
        text = re.sub(rf"(- name: {re.escape(name)}\n\s+version: ).*", rf"\g<1>{version}", text)
    chart.write_text(text)
for name in ("mongodb", "redis"):  # their secret Job runs the project's ui-service image
    values = charts / name / "values.yaml"
    text = values.read_text()
    text = re.sub(r'(secretJob:\n(?:.*\n)*?\s+tag: )"[^"]*"', rf'\g<1>"{version}"', text, count=1)
    values.write_text(text)
PY
HELM="$HELM" "$REPO/charts/tools/build-deps.sh" "$WORK/charts"
for chart in chatbot-lib ui-service chat-service llm-service history-service mongodb redis chatbot; do
    "$HELM" package "$WORK/charts/$chart" -d "$OUT" >/dev/null
    pushed="$("$HELM" push "$OUT/$chart-$VERSION.tgz" "$TARGET" "${FLAGS[@]}" 2>&1)" ||
        { echo "$pushed" >&2; exit 1; }
    digest="$(sed -n 's/^Digest: //p' <<<"$pushed")"
    echo "$TARGET/$chart:$VERSION@$digest"
done
