#!/usr/bin/env bash
# Build the Go programs of the cluster's extra images from the Go module proxy, once, into
# ${CHATBOT_CACHE:-~/.cache/chatbot}/cluster/ (a no-op when they exist):
#   ferretdb-v1.24.2/          FerretDB's own command (cmd/ferretdb, SQLite handler): unlike the
#                              embedded test server (scripts/build-ferretdb.sh) it has SCRAM
#                              authentication and a setup user, which the chart's URI needs
#   haproxy-ingress-v0.14.0/   HAProxy Ingress (github.com/jcmoraisjr/haproxy-ingress) plus its
#                              rootfs (start script, templates, Lua) for the image
#
#   scripts/images/cluster/build-go.sh      # prints the two directories
set -euo pipefail

CACHE="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/cluster"
FERRETDB_VERSION=v1.24.2
HAPROXY_INGRESS_VERSION=v0.14.0
mkdir -p "$CACHE"
command -v go >/dev/null || { echo "build-go: Go is required" >&2; exit 1; }

# Copy a module from the module cache into a writable directory (the cache is read-only).
fetch() { # <module@version> <dest>
    local dir
    dir="$(GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$dir" ]] || { echo "build-go: go mod download $1 failed" >&2; exit 1; }
    rm -rf "$2"
    cp -r "$dir" "$2"
    chmod -R u+w "$2"
}

build_ferretdb() {
    local out="$CACHE/ferretdb-$FERRETDB_VERSION" src="$CACHE/src-ferretdb"
    [[ -x "$out/ferretdb" ]] && return
    fetch "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" "$src"
    # What upstream's `task gen-version` writes: the command refuses to start without it.
    echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
    echo "cluster-image" >"$src/build/version/package.txt"
    mkdir -p "$out"
    (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" \
        -o "$out/ferretdb" ./cmd/ferretdb)
    rm -rf "$src"
}

build_haproxy_ingress() {
    local out="$CACHE/haproxy-ingress-$HAPROXY_INGRESS_VERSION" src="$CACHE/src-haproxy-ingress"
    [[ -x "$out/haproxy-ingress-controller" ]] && return
    fetch "github.com/jcmoraisjr/haproxy-ingress@$HAPROXY_INGRESS_VERSION" "$src"
    mkdir -p "$out"
    (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w \
        -X github.com/jcmoraisjr/haproxy-ingress/pkg/version.RELEASE=$HAPROXY_INGRESS_VERSION" \
        -o "$out/haproxy-ingress-controller" ./pkg/main.go)
    rm -rf "$out/rootfs"
    cp -r "$src/rootfs" "$out/rootfs"
    cp "$src/LICENSE" "$out/LICENSE"
    rm -rf "$src"
}

build_ferretdb
build_haproxy_ingress
echo "$CACHE/ferretdb-$FERRETDB_VERSION"
echo "$CACHE/haproxy-ingress-$HAPROXY_INGRESS_VERSION"
