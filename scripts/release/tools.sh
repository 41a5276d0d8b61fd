#!/usr/bin/env bash
# Ensure the release tools are cached (built from the Go module proxy) and print their paths:
#   ACTIONLINT  rhysd/actionlint: lints .github/workflows/*.yml
#   REGISTRY    an OCI registry (go-containerregistry's, scripts/release/registry/: loopback only,
#               blobs on disk), a local stand-in for GHCR
#   CRANE       go-containerregistry's registry client (digests, catalog)
# Cached under ~/.cache/chatbot/tools/go/<module>@<version>/.
#
#   eval "$(scripts/release/tools.sh)"
#   scripts/release/tools.sh --check   # build nothing; fail unless all are cached (test fixtures)
set -euo pipefail
CHECK_ONLY=0
[[ "${1:-}" == --check ]] && CHECK_ONLY=1

CACHE="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/tools/go"
ACTIONLINT_VERSION=v1.7.12
GGCR_VERSION=v0.20.6

ensure() { # <name> <package@version>: go install into a directory of its own
    local name="$1" pkg="$2" dir="$CACHE/${2//\//_}"
    if [[ ! -x $dir/$name ]]; then
        ((CHECK_ONLY == 0)) || { echo "$name is not built: run scripts/test-prereqs.sh release" >&2; exit 1; }
        mkdir -p "$dir"
        GOBIN="$dir" GOFLAGS=-trimpath CGO_ENABLED=0 go install "$pkg" >&2
    fi
    echo "$dir/$name"
}

echo "ACTIONLINT=$(ensure actionlint "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION")"
# hash the sources' contents only: sha256sum's output names each file, and the path differs
# between callers (relative from test-prereqs.sh, absolute from the test fixtures)
registry_dir="$CACHE/registry-$(cat "$(dirname "$0")/registry/go.sum" "$(dirname "$0")/registry/main.go" | sha256sum | cut -c1-12)"
if [[ ! -x $registry_dir/registry ]]; then
    ((CHECK_ONLY == 0)) || { echo "registry is not built: run scripts/test-prereqs.sh release" >&2; exit 1; }
    mkdir -p "$registry_dir"
    (cd "$(dirname "$0")/registry" && CGO_ENABLED=0 go build -trimpath -o "$registry_dir/registry" .) >&2
fi
echo "REGISTRY=$registry_dir/registry"
echo "CRANE=$(ensure crane "github.com/google/go-containerregistry/cmd/crane@$GGCR_VERSION")"
