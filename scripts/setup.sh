#!/usr/bin/env bash
# Install what the project needs; every step is skipped when already done.
#   scripts/setup.sh python [uv sync args...]   uv + the workspace's Python packages
#   scripts/setup.sh web                        the page's npm packages
#   scripts/setup.sh system PKG...              Debian packages (apt-get), if missing
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then return; fi
  if [ -x "$HOME/.local/bin/uv" ]; then export PATH="$HOME/.local/bin:$PATH"; return; fi
  log "installing uv from PyPI"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv \
    || python3 -m pip install --quiet --break-system-packages --user uv
  export PATH="$HOME/.local/bin:$PATH"
}

installed() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk '$1 == "ii" {print $2}' | sort; }

# Debian starts a package's daemon when it installs it (redis-server, nginx, prometheus...). The
# tests start their own servers on free ports, so nothing of what we install may keep running:
# a policy-rc.d (only if the machine has none) refuses the starts during the install, and every
# service of a newly installed package (dependencies included) is then stopped and disabled.
install_debs() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing Debian packages: ${missing[*]}"
  local before policy=/usr/sbin/policy-rc.d own_policy=""
  before=$(mktemp)
  installed >"$before"
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/setup.sh: no daemon starts while it installs packages\nexit 101\n' \
      | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    own_policy=1
    trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
  if [ -n "$own_policy" ]; then as_root rm -f "$policy"; trap - EXIT; fi
  # shellcheck disable=SC2046
  quiesce_services $(installed | comm -13 "$before" -)
  rm -f "$before"
}

# Stop and disable the daemons that packages ship (systemd units and SysV init scripts).
quiesce_services() {
  local pkg path unit systemd=""
  [ -d /run/systemd/system ] && systemd=1
  for pkg in "$@"; do
    while read -r path; do
      case "$path" in
        /lib/systemd/system/*.service | /usr/lib/systemd/system/*.service)
          unit=${path##*/}
          [[ "$unit" == *@.service ]] && continue
          if [ -n "$systemd" ]; then
            as_root systemctl disable --now "$unit" >&2 2>&1 || true
          elif command -v systemctl >/dev/null; then
            as_root systemctl disable "$unit" >/dev/null 2>&1 || true
          fi
          log "disabled $unit (from $pkg)"
          ;;
        /etc/init.d/*)
          if [ -z "$systemd" ]; then
            as_root "$path" stop >/dev/null 2>&1 || true
            as_root update-rc.d "${path##*/}" disable >/dev/null 2>&1 || true
          fi
          ;;
      esac
    done < <(dpkg-query -L "$pkg" 2>/dev/null)
  done
}

case "${1:-}" in
  python)
    shift
    ensure_uv
    uv sync --all-packages --frozen --inexact "$@" >&2
    # The repository root on the environment's path (a .pth file, as editable installs use):
    # `uv run chaos run stress_tests/chaos/...` imports its probes from a fresh shell.
    site=$(uv run --frozen --no-sync python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    [ "$(cat "$site/chatbot_repository.pth" 2>/dev/null)" = "$PWD" ] || echo "$PWD" >"$site/chatbot_repository.pth"
    ;;
  web)
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
      log "Node.js 20+ and npm are needed for the chat page's packages, and were not found."
      log "Install them, e.g. on Debian/Ubuntu: sudo apt-get install nodejs npm"
      log "(or from https://nodejs.org/), then run this again."
      exit 1
    fi
    dir=services/ui_service/web
    stamp=$dir/node_modules/.lock-sha
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      log "installing the page's npm packages"
      npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
      echo "$want" >"$stamp"
    fi
    ;;
  system)
    shift
    install_debs "$@"
    ;;
  *)
    echo "usage: $0 python|web|system ..." >&2
    exit 2
    ;;
esac
