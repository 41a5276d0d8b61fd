#!/usr/bin/env bash
# Build the MongoDB-wire test server (FerretDB v1.24.2 on SQLite) once, from the Go module proxy.
# Output: ${CHATBOT_CACHE:-~/.cache/chatbot}/ferretdb-v1.24.2/ferretdb. A no-op when already built.
set -euo pipefail

version=v1.24.2
src="$(cd "$(dirname "$0")/../tests/support/ferretdb" && pwd)"
out_dir="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/ferretdb-$version"
out="$out_dir/ferretdb"

if [[ -x "$out" ]]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "build-ferretdb: Go is required (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$out_dir"
tmp="$(mktemp "$out_dir/.ferretdb.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp" .)
mv "$tmp" "$out"
trap - EXIT
echo "$out"
