#!/usr/bin/env bash
# Build (once, cached by version outside the repo) everything the local cluster
# runs: the Kubernetes v1.37.2 binaries and etcd in one `go build`, CoreDNS,
# metrics-server, and our own images (pause, httpecho) as image tarballs.
#
#   k8s/local/build.sh            # all of it (a warm run is a no-op)
#   k8s/local/build.sh kube       # only one part: kube | coredns | images | metrics
#
# Output: $K8S_CACHE_DIR (default ~/.cache/chatbot/k8s/v1.37.2)/bin and /images.
# Cold: ~8 min of `go build` on 2 cores, 2.7 GB peak RSS, ~4 GB of Go build cache.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=k8s/local/versions.sh
source "$HERE/versions.sh"

# Go (1.26, as go.mod says) where the machine image installs it, if not on PATH already.
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "build.sh: no Go toolchain on PATH" >&2; exit 1; }

BIN="$K8S_CACHE_DIR/bin"
IMAGES="$K8S_CACHE_DIR/images"
mkdir -p "$BIN" "$IMAGES"
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"

log() { printf '%s build: %s\n' "$(date +%T)" "$*"; }

timed() {  # timed NAME CMD...: run, print the elapsed seconds
    local name=$1 start=$SECONDS
    shift
    log "$name: start"
    "$@"
    log "$name: done in $((SECONDS - start)) s"
}

KUBE_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl etcd)

build_kube() {
    local missing=0 b
    for b in "${KUBE_BINS[@]}"; do [[ -x $BIN/$b ]] || missing=1; done
    if ((missing == 0)); then log "kube: cached in $BIN"; return; fi
    local out
    out="$(mktemp -d "$K8S_CACHE_DIR/tmp.kube.XXXXXX")"
    local vpkg=k8s.io/component-base/version
    local ldflags="-s -w -X $vpkg.gitVersion=$KUBE_VERSION -X $vpkg.gitMajor=${KUBE_VERSION_MAJOR}
        -X $vpkg.gitMinor=${KUBE_VERSION_MINOR} -X $vpkg.gitTreeState=clean
        -X $vpkg.buildDate=1970-01-01T00:00:00Z"
    (
        cd "$HERE/kube-build"
        go build -trimpath -ldflags "$ldflags" -o "$out/" \
            k8s.io/kubernetes/cmd/kube-apiserver \
            k8s.io/kubernetes/cmd/kube-controller-manager \
            k8s.io/kubernetes/cmd/kube-scheduler \
            k8s.io/kubernetes/cmd/kubelet \
            k8s.io/kubernetes/cmd/kube-proxy \
            k8s.io/kubernetes/cmd/kubectl \
            go.etcd.io/etcd/server/v3
    ) || { rm -rf "$out"; return 1; }
    mv "$out/server" "$out/etcd"
    for b in "${KUBE_BINS[@]}"; do mv "$out/$b" "$BIN/$b"; done
    rmdir "$out"
}

build_coredns() {
    if [[ ! -x $BIN/coredns ]]; then
        GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
    fi
    if [[ ! -f $IMAGES/coredns.tar ]]; then
        python3 "$HERE/mkimage.py" --binary "$BIN/coredns" --path /coredns \
            --image "$COREDNS_IMAGE" --out "$IMAGES/coredns.tar"
    fi
}

build_metrics() {
    if [[ ! -x $BIN/metrics-server ]]; then
        GOBIN="$BIN" go install -trimpath -ldflags "-s -w" \
            "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
    fi
    if [[ ! -f $IMAGES/metrics-server.tar ]]; then
        python3 "$HERE/mkimage.py" --binary "$BIN/metrics-server" --path /metrics-server \
            --image "$METRICS_SERVER_IMAGE" --out "$IMAGES/metrics-server.tar"
    fi
}

build_images() {
    # Our own tiny images: rebuilt when their sources change (a few seconds).
    local stamp src_hash
    src_hash="$(cat "$HERE"/images/go.mod "$HERE"/images/*/main.go "$HERE"/mkimage.py | sha256sum | cut -c1-16)"
    stamp="$IMAGES/.src-$src_hash"
    if [[ -f $stamp ]]; then log "images: cached"; return; fi
    local tmp name
    tmp="$(mktemp -d)"
    for name in pause httpecho; do
        (cd "$HERE/images" && go build -trimpath -ldflags "-s -w" -o "$tmp/$name" "./$name")
    done
    python3 "$HERE/mkimage.py" --binary "$tmp/pause" --path /pause \
        --image "$PAUSE_IMAGE" --out "$IMAGES/pause.tar"
    python3 "$HERE/mkimage.py" --binary "$tmp/httpecho" --path /httpecho \
        --image "$HTTPECHO_IMAGE" --out "$IMAGES/httpecho.tar"
    rm -rf "$tmp" "$IMAGES"/.src-*
    touch "$stamp"
}

main() {
    local parts=("$@")
    ((${#parts[@]})) || parts=(images kube coredns metrics)
    local start=$SECONDS p lock
    # One build at a time per cache (two cold up.sh at once would build twice).
    exec {lock}>"$K8S_CACHE_DIR/.build.lock"
    flock "$lock"
    for p in "${parts[@]}"; do
        case $p in
        kube) timed kube build_kube ;;
        coredns) timed coredns build_coredns ;;
        metrics) timed metrics-server build_metrics || log "metrics-server: build FAILED (optional)" ;;
        images) timed images build_images ;;
        *) echo "unknown part: $p" >&2; exit 2 ;;
        esac
    done
    log "all done in $((SECONDS - start)) s; binaries in $BIN"
}

main "$@"
