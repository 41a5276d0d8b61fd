# Certificates and kubeconfigs for the local cluster, made with openssl (sourced by up.sh).
# kubeadm-style: one cluster CA, a front-proxy CA, a service-account key pair, a serving
# cert for the API server and one client cert per component. EC P-256 keys throughout.

_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# _ca NAME CN: a self-signed CA valid for ten years.
_ca() {
    _key "$PKI/$1.key"
    openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
        -out "$PKI/$1.crt" 2>/dev/null
}

# _cert CA NAME SUBJECT USAGE [SANS]: a leaf certificate signed by CA, valid for one year.
_cert() {
    local ca=$1 name=$2 subj=$3 usage=$4 sans=${5:-} ext="$PKI/$2.ext"
    _key "$PKI/$name.key"
    openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$usage"
        [[ -z $sans ]] || echo "subjectAltName=$sans"
    } >"$ext"
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
        -CAcreateserial -days 365 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
    rm -f "$PKI/$name.csr" "$ext"
}

# _kubeconfig FILE USER CERT_NAME SERVER
_kubeconfig() {
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: chatbot-local
  cluster:
    certificate-authority: $PKI/ca.crt
    server: $4
users:
- name: $2
  user:
    client-certificate: $PKI/$3.crt
    client-key: $PKI/$3.key
contexts:
- name: $2@chatbot-local
  context: {cluster: chatbot-local, user: $2}
current-context: $2@chatbot-local
EOF
}

make_pki() {
    mkdir -p "$PKI" "$CONF"
    umask 077
    _ca ca kubernetes
    _ca front-proxy-ca front-proxy-ca
    _key "$PKI/sa.key"
    openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    local sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
    sans+=",DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$K8S_NODE_NAME"
    sans+=",IP:127.0.0.1,IP:$K8S_API_SERVICE_IP,IP:$K8S_NODE_IP"
    _cert ca apiserver "/CN=kube-apiserver" serverAuth "$sans"
    _cert ca apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
    _cert front-proxy-ca front-proxy-client "/CN=front-proxy-client" clientAuth
    _cert ca admin "/O=system:masters/CN=kubernetes-admin" clientAuth
    _cert ca controller-manager "/CN=system:kube-controller-manager" clientAuth
    _cert ca scheduler "/CN=system:kube-scheduler" clientAuth
    _cert ca kubelet-client "/O=system:nodes/CN=system:node:$K8S_NODE_NAME" clientAuth
    _cert ca kubelet-serving "/O=system:nodes/CN=system:node:$K8S_NODE_NAME" serverAuth \
        "DNS:$K8S_NODE_NAME,DNS:localhost,IP:$K8S_NODE_IP,IP:127.0.0.1"
    _cert ca kube-proxy "/CN=system:kube-proxy" clientAuth
    rm -f "$PKI"/*.srl
    umask 022
    chmod 644 "$PKI"/*.crt "$PKI/sa.pub"
    local server="https://$K8S_NODE_IP:$K8S_API_PORT"
    _kubeconfig "$KUBECONFIG_ADMIN" kubernetes-admin admin "$server"
    _kubeconfig "$CONF/controller-manager.conf" system:kube-controller-manager controller-manager "$server"
    _kubeconfig "$CONF/scheduler.conf" system:kube-scheduler scheduler "$server"
    _kubeconfig "$CONF/kubelet.conf" "system:node:$K8S_NODE_NAME" kubelet-client "$server"
    _kubeconfig "$CONF/kube-proxy.conf" system:kube-proxy kube-proxy "$server"
}
