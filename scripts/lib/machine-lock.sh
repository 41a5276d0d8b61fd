# shellcheck shell=bash
# machine_lock WHO: one Docker/cluster stage per machine. `make test-images` and
# `make test-cluster` share the Docker engine (whoever started it stops it), the fixed
# network and bridge names and the one cluster kube-proxy allows, so a second checkout's
# stage waits here (up to CHATBOT_MACHINE_LOCK_WAIT seconds, default 3 h) instead of
# breaking the first. The lock is released when the calling script exits.
machine_lock() {
    local who=$1 dir=${CHATBOT_LOCK_DIR:-/run/lock} wait=${CHATBOT_MACHINE_LOCK_WAIT:-10800} t0
    mkdir -p "$dir"
    exec {CHATBOT_MACHINE_LOCK_FD}>>"$dir/chatbot-machine.lock"
    if ! flock -n "$CHATBOT_MACHINE_LOCK_FD"; then
        printf '[%s] waiting for the machine lock, held by: %s\n' "$who" \
            "$(cat "$dir/chatbot-machine.owner" 2>/dev/null || echo unknown)" >&2
        t0=$SECONDS
        flock -w "$wait" "$CHATBOT_MACHINE_LOCK_FD" || {
            printf '[%s] the machine lock was still held after %s s\n' "$who" "$wait" >&2
            return 1
        }
        printf '[%s] got the machine lock after %d s\n' "$who" "$((SECONDS - t0))" >&2
    fi
    printf '%s (pid %d, %s, since %s)\n' "$who" "$$" "$PWD" "$(date -u +%H:%M:%S)" \
        >"$dir/chatbot-machine.owner"
}
