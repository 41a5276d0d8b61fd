# Versions and cache location shared by build.sh, up.sh and load-image.sh (sourced).
KUBE_VERSION=v1.37.2
KUBE_VERSION_MAJOR=1
KUBE_VERSION_MINOR=37
COREDNS_VERSION=v1.15.0
METRICS_SERVER_VERSION=v0.9.0
K8S_CACHE_DIR="${K8S_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chatbot/k8s/$KUBE_VERSION}"
PAUSE_IMAGE=chatbot.local/pause:1
HTTPECHO_IMAGE=chatbot.local/httpecho:1
COREDNS_IMAGE=chatbot.local/coredns:${COREDNS_VERSION#v}
METRICS_SERVER_IMAGE=chatbot.local/metrics-server:${METRICS_SERVER_VERSION#v}
