#!/usr/bin/env bash
# A Docker engine of our own for image builds and tests: its own data root (cached, so
# images survive between runs), exec root, pidfile, socket, bridge and address pool, so it
# never touches another daemon on the machine.
#
#   scripts/images/dockerd.sh start   # prints DOCKER_HOST=unix://...
#   scripts/images/dockerd.sh stop    # stops it by PID, removes its iptables rules and bridges
set -euo pipefail

CACHE="${CHATBOT_CACHE:-$HOME/.cache/chatbot}"
DATA_ROOT="$CACHE/docker/data"
RUN_DIR="${CHATBOT_DOCKER_RUN:-/run/chatbot-images}"
SOCK="$RUN_DIR/docker.sock"
PIDFILE="$RUN_DIR/dockerd.pid"
BRIDGE="${CHATBOT_DOCKER_BRIDGE:-cbimg0}"
POOL="172.30.100.0/22"
BRIDGE_CIDR="172.30.100.1/24"
# Bridges of user-defined networks are named by test-images.sh with this prefix.
NET_PREFIX="cbnet"
export DOCKER_HOST="unix://$SOCK"

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
    if running; then
        echo "DOCKER_HOST=$DOCKER_HOST"
        return
    fi
    command -v dockerd >/dev/null || { echo "dockerd missing: apt-get install docker.io" >&2; exit 1; }
    mkdir -p "$DATA_ROOT" "$RUN_DIR/exec"
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add name "$BRIDGE" type bridge
        ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    nohup dockerd --data-root "$DATA_ROOT" --exec-root "$RUN_DIR/exec" --pidfile "$PIDFILE" \
        -H "unix://$SOCK" -b "$BRIDGE" --default-address-pool "base=$POOL,size=24" \
        --ip-masq=false --storage-driver overlay2 >"$RUN_DIR/dockerd.log" 2>&1 &
    local i
    for i in $(seq 1 150); do
        if docker version >/dev/null 2>&1; then
            echo "DOCKER_HOST=$DOCKER_HOST"
            return
        fi
        sleep 0.2
    done
    echo "dockerd did not start; see $RUN_DIR/dockerd.log" >&2
    tail -20 "$RUN_DIR/dockerd.log" >&2
    exit 1
}

remove_rules() {
    # Delete every rule that names one of our bridges or our address pool (172.30.100-103.x).
    local table rule pattern="($BRIDGE|$NET_PREFIX[0-9a-z]*|172\.30\.10[0-3]\.)"
    for table in filter nat; do
        iptables-save -t "$table" 2>/dev/null | { grep -E -- "^-A .*$pattern" || true; } | sed 's/^-A /-D /' |
            while read -r rule; do
                eval "iptables -t $table $rule" 2>/dev/null || true
            done
    done
    # The DOCKER* chains are shared by every daemon: remove them only when none is left.
    if pgrep -x dockerd >/dev/null; then
        return
    fi
    for table in filter nat; do
        iptables-save -t "$table" 2>/dev/null | { grep -E -- '^-A .*-j DOCKER' || true; } | sed 's/^-A /-D /' |
            while read -r rule; do
                eval "iptables -t $table $rule" 2>/dev/null || true
            done
        for chain in $(iptables-save -t "$table" 2>/dev/null | sed -n 's/^:\(DOCKER[A-Z0-9-]*\) .*/\1/p'); do
            iptables -t "$table" -F "$chain" 2>/dev/null || true
            iptables -t "$table" -X "$chain" 2>/dev/null || true
        done
    done
}

stop() {
    if running; then
        local pid
        pid="$(cat "$PIDFILE")"
        kill -TERM "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    remove_rules
    # dockerd leaves its network namespace bind-mounts behind in its exec root.
    local mnt
    for mnt in $(awk -v d="$RUN_DIR/exec/" 'index($2, d) == 1 {print $2}' /proc/mounts); do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    done
    local link
    for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^($BRIDGE|$NET_PREFIX[0-9a-z]*)$" || true); do
        ip link del "$link" 2>/dev/null || true
    done
    rm -f "$PIDFILE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
