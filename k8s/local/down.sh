#!/usr/bin/env bash
# Stop the local cluster and leave nothing behind: no process, mount, interface,
# iptables chain (KUBE-*, CNI-*), cgroup, changed sysctl or state directory.
#
#   k8s/local/down.sh      # idempotent; K8S_LOCAL_KEEP_LOGS=DIR keeps the daemons' logs
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_PREFIX=down
# shellcheck source=k8s/local/lib.sh
source "$HERE/lib.sh"

# PIDs of processes whose command line names our state dir (shims, leftover daemons).
our_pids() {
    local f
    for f in $(grep -laF -- "$K8S_LOCAL_DIR/" /proc/[0-9]*/cmdline 2>/dev/null); do
        f=${f#/proc/}
        f=${f%/cmdline}
        [[ $f == "$$" || $f == "$BASHPID" ]] || echo "$f"
    done
    return 0
}

kill_containers() {
    local task
    [[ -S $CONTAINERD_SOCK ]] && timeout 5 "$(command -v ctr)" -a "$CONTAINERD_SOCK" version >/dev/null 2>&1 || return 0
    # libcni caches a result per sandbox and network under /var/lib/cni/results.
    ctr_k8s containers ls -q 2>/dev/null >"$RUN/containers" || true
    for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
        ctr_k8s tasks kill -a -s SIGKILL "$task" >/dev/null 2>&1 || true
    done
    for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
        ctr_k8s tasks delete -f "$task" >/dev/null 2>&1 || true
    done
}

kill_cgroup_procs() {
    local pids i
    for ((i = 0; i < 20; i++)); do
        pids="$(find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods -name cgroup.procs \
            -exec cat {} + 2>/dev/null | sort -u || true)"
        [[ -n $pids ]] || return 0
        ((i > 0)) || log "killing leftover pod processes: $(echo "$pids" | tr '\n' ' ')"
        kill -KILL $pids 2>/dev/null || true
        sleep 0.2
    done
}

stop_processes() {
    local d pid
    for d in kube-proxy kubelet kube-scheduler kube-controller-manager; do stop_daemon "$d"; done
    kill_containers
    stop_daemon containerd
    stop_daemon kube-apiserver 10 # before etcd: it may ignore SIGTERM once etcd is gone
    stop_daemon etcd
    # Containers whose shim or containerd died: every process in the kubelet's cgroups.
    kill_cgroup_procs
    # Shims and anything else still running out of our state dir, by PID.
    for pid in $(our_pids); do stop_pid "$pid" "leftover $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-60)" 5; done
}

unmount_all() {
    local m
    [[ -d $K8S_LOCAL_DIR ]] || return 0
    # Deepest first; a lazy unmount if a plain one fails.
    for m in $(awk -v d="$K8S_LOCAL_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done
}

remove_network() {
    ip link del "$K8S_VETH" 2>/dev/null || true
    ip link del "$K8S_BRIDGE" 2>/dev/null || true
}

# Delete every KUBE-* and CNI-* chain (kube-proxy, kubelet, CNI portmap/firewall) and the
# rules in other chains that jump to them, in every table, for IPv4 and IPv6: one
# iptables-restore transaction per table, rule by rule if that fails.
clean_iptables() {
    local cmd table dump script
    for cmd in iptables ip6tables; do
        command -v "$cmd" >/dev/null || continue
        for table in filter nat mangle raw; do
            dump="$("$cmd-save" -t "$table" 2>/dev/null)" || continue
            script="$(awk '
                /^:(KUBE-|CNI-)/ { chain = substr($1, 2); flush = flush "-F " chain "\n"; del = del "-X " chain "\n" }
                /^-A / && !/^-A (KUBE-|CNI-)/ && / -j (KUBE-|CNI-)/ { sub(/^-A /, "-D "); print }
                END { printf "%s%s", flush, del }' <<<"$dump")"
            [[ -n $script ]] || continue
            printf '*%s\n%s\nCOMMIT\n' "$table" "$script" | "$cmd-restore" --noflush 2>/dev/null && continue
            log "$cmd-restore -t $table failed: deleting rule by rule"
            while read -r line; do
                eval "$cmd -t $table $line" 2>/dev/null || true
            done <<<"$script"
        done
    done
}

remove_cgroups() {
    local d
    for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
        [[ -d $d ]] || continue
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ -d $d ]] && log "cgroup $d still in use"
    done
    return 0
}

restore_sysctls() {
    local line
    [[ -f $RUN/sysctls.saved ]] || return 0
    while read -r line; do
        sysctl -qw "$line" 2>/dev/null || true
    done <"$RUN/sysctls.saved"
}

remove_files() {
    local link
    for link in /var/log/containers/*.log; do
        [[ -L $link ]] && [[ "$(readlink "$link")" == "$K8S_LOCAL_DIR/"* ]] && rm -f "$link"
    done
    local id f
    # Sandbox IDs also from our network's own cache files (if containerd was already gone).
    for f in /var/lib/cni/results/"$K8S_CNI_NETWORK"-*; do
        [[ -e $f ]] || continue
        id="${f#/var/lib/cni/results/"$K8S_CNI_NETWORK"-}"
        rm -f "$f" /var/lib/cni/results/cni-loopback-"${id%-*}"-*
    done
    if [[ -f $RUN/containers ]]; then
        while read -r id; do
            [[ -n $id ]] && rm -f /var/lib/cni/results/*-"$id"-* 2>/dev/null
        done <"$RUN/containers"
    fi
    # Directories the kubelet and libcni create outside the state dir: only when empty.
    rmdir /var/lib/cni/results /var/lib/cni /var/log/containers 2>/dev/null || true
    if [[ -n ${K8S_LOCAL_KEEP_LOGS:-} ]] && [[ -d $LOGS ]]; then
        mkdir -p "$K8S_LOCAL_KEEP_LOGS" && cp -r "$LOGS"/. "$K8S_LOCAL_KEEP_LOGS"/
        log "logs kept in $K8S_LOCAL_KEEP_LOGS"
    fi
    rm -rf "$K8S_LOCAL_DIR"
}

main() {
    [[ $EUID -eq 0 ]] || die "run as root"
    T0="$(date +%s.%N)"
    [[ -n ${K8S_LOCK_HELD:-} ]] || lock_cluster
    local phase
    for phase in stop_processes unmount_all remove_network clean_iptables remove_cgroups \
        restore_sysctls remove_files; do
        "$phase"
        log "$phase done at $(elapsed) s"
    done
    log "cluster down in $(elapsed) s"
}

main "$@"
