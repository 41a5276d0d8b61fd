#!/usr/bin/env bash
# The test identity provider: Keycloak (Apache-2.0) from Maven Central, cached by version.
#   scripts/keycloak.sh ensure   fetch and unpack it once; prints its home directory
#   scripts/keycloak.sh home     print the home directory (empty and exit 1 if not installed)
# Home: ${CHATBOT_CACHE:-~/.cache/chatbot}/keycloak/<version>/keycloak-<version>. The tests start
# it themselves (tests/support/keycloak.py), once per session, in dev mode on loopback.
set -euo pipefail

version="${KEYCLOAK_VERSION:-26.7.3}"
cache="${CHATBOT_CACHE:-$HOME/.cache/chatbot}/keycloak/$version"
home="$cache/keycloak-$version"

log() { printf '\033[1;34m[keycloak]\033[0m %s\n' "$*" >&2; }

ensure() {
  if [[ -x "$home/bin/kc.sh" ]]; then
    echo "$home"
    return
  fi
  command -v mvn >/dev/null || { log "Maven (mvn) is required: apt-get install maven"; exit 1; }
  command -v java >/dev/null || { log "Java 17+ is required: apt-get install openjdk-17-jre-headless"; exit 1; }
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "fetching org.keycloak:keycloak-quarkus-dist:$version (~170 MiB) from Maven Central"
  mvn -q -B dependency:copy \
    "-Dartifact=org.keycloak:keycloak-quarkus-dist:$version:tar.gz" "-DoutputDirectory=$tmp" >&2
  tar -xzf "$tmp/keycloak-quarkus-dist-$version.tar.gz" -C "$tmp"
  [[ -x "$tmp/keycloak-$version/bin/kc.sh" ]] || { log "unexpected archive layout"; exit 1; }
  rm -rf "$home"
  mv "$tmp/keycloak-$version" "$home"
  echo "$home"
}

case "${1:-}" in
  ensure) ensure ;;
  home)
    if [[ -x "$home/bin/kc.sh" ]]; then echo "$home"; else exit 1; fi
    ;;
  *)
    echo "usage: $0 ensure|home" >&2
    exit 2
    ;;
esac
