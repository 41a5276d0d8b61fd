# Configuration files of the local cluster's daemons (sourced by up.sh).

write_containerd_config() {
    mkdir -p "$K8S_LOCAL_DIR/containerd" "$K8S_LOCAL_DIR/cni/net.d"
    cat >"$CONF/containerd.toml" <<EOF
version = 2
root = "$K8S_LOCAL_DIR/containerd/root"
state = "$K8S_LOCAL_DIR/containerd/state"
oom_score = 0

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$K8S_LOCAL_DIR/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Root in these VMs lacks CAP_SYS_RESOURCE: without this every sandbox fails with
  # runc "can't get final child's PID from pipe".
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  enable_selinux = false
  # Network namespace mounts under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$K8S_LOCAL_DIR/containerd/runc"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$K8S_CNI_BIN_DIR"
    conf_dir = "$K8S_LOCAL_DIR/cni/net.d"
EOF
}

# The pod network: our own bridge with host-local IPAM; pods get routes to the service
# CIDR and the node IP only (no default route), and no masquerading outward.
write_cni_config() {
    cat >"$K8S_LOCAL_DIR/cni/net.d/10-$K8S_CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$K8S_CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$K8S_BRIDGE",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$K8S_LOCAL_DIR/cni/ipam",
        "ranges": [[{"subnet": "$K8S_POD_CIDR", "gateway": "$K8S_POD_GATEWAY"}]],
        "routes": [{"dst": "$K8S_SERVICE_CIDR"}, {"dst": "$K8S_NODE_IP/32"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"}
  ]
}
EOF
}

write_kubelet_config() {
    mkdir -p "$K8S_LOCAL_DIR/kubelet"
    cat >"$CONF/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $K8S_NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $K8S_KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
resolvConf: ""
clusterDNS: [$K8S_DNS_IP]
clusterDomain: cluster.local
podLogsDir: $K8S_LOCAL_DIR/pod-logs
rotateCertificates: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
EOF
}

write_kube_proxy_config() {
    cat >"$CONF/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $CONF/kube-proxy.conf
mode: iptables
hostnameOverride: $K8S_NODE_NAME
clusterCIDR: $K8S_POD_CIDR
bindAddress: $K8S_NODE_IP
healthzBindAddress: 127.0.0.1:$K8S_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$K8S_PROXY_METRICS_PORT
# NodePorts only on the node IP, never on the machine's own interfaces.
nodePortAddresses: ["$K8S_NODE_IP/32"]
iptables:
  # Masquerade service traffic so replies between pods on one bridge come back through
  # the host whatever br_netfilter says.
  masqueradeAll: true
conntrack:
  maxPerCore: 0
EOF
}

write_configs() {
    write_containerd_config
    write_cni_config
    write_kubelet_config
    write_kube_proxy_config
}
