#!/usr/bin/env bash
# Fail (listing them) if any trace of the local cluster is left on this machine:
# a process running out of the state dir, a mount under it, the state dir itself, one
# of its interfaces, a KUBE-*/CNI-* iptables chain, a kubepods cgroup or a CNI cache file.
#
#   tests/cluster/check_clean.sh
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=k8s/local/lib.sh
source "$HERE/../../k8s/local/lib.sh"

left=()
for f in $(grep -laF -- "$K8S_LOCAL_DIR/" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    left+=("process $pid: $(tr '\0' ' ' 2>/dev/null <"$f" | cut -c1-100)")
done
while read -r _ target _; do
    [[ $target == "$K8S_LOCAL_DIR"* ]] && left+=("mount $target")
done </proc/self/mounts
[[ -e $K8S_LOCAL_DIR ]] && left+=("state dir $K8S_LOCAL_DIR")
for link in "$K8S_VETH" "${K8S_VETH%0}1" "$K8S_BRIDGE"; do
    ip link show "$link" >/dev/null 2>&1 && left+=("interface $link")
done
while read -r addr; do left+=("address $addr"); done < <(ip -o addr | grep -F " $K8S_NODE_IP/" || true)
for cmd in iptables ip6tables; do
    for table in filter nat mangle raw; do
        while read -r chain; do
            left+=("$cmd -t $table chain $chain")
        done < <("$cmd-save" -t "$table" 2>/dev/null | awk '/^:(KUBE-|CNI-)/ { print substr($1, 2) }')
    done
done
for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $d ]] && left+=("cgroup $d")
done
# cni-loopback-*: containerd's loopback network (nothing else uses CNI on these machines).
for f in /var/lib/cni/results/"$K8S_CNI_NETWORK"-* /var/lib/cni/results/cni-loopback-*; do
    [[ -e $f ]] && left+=("file $f")
done

if ((${#left[@]})); then
    printf 'LEFT BEHIND: %s\n' "${left[@]}" >&2
    exit 1
fi
echo "clean: nothing of the local cluster is left" >&2
