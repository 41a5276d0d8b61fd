#!/usr/bin/env bash
# `make monitor`: a real Prometheus on http://127.0.0.1:9090 scraping `make run`'s services
# (monitoring/prometheus.yml, every 5 s) with the alert rules loaded. Runs in the foreground;
# Ctrl-C stops it. Its data lives in a temporary directory removed on exit.
#   PROMETHEUS_LISTEN=127.0.0.1:9091 scripts/monitor.sh    another address
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh system prometheus
listen=${PROMETHEUS_LISTEN:-127.0.0.1:9090}
data=$(mktemp -d -t chatbot-prometheus.XXXXXX)
trap 'rm -rf "$data"' EXIT

echo "Prometheus on http://$listen (targets: /targets, alerts: /alerts); Ctrl-C stops it" >&2
/usr/bin/prometheus \
  --config.file=monitoring/prometheus.yml \
  --storage.tsdb.path="$data" \
  --storage.tsdb.retention.time=1d \
  --web.listen-address="$listen" \
  --log.level=warn &
pid=$!
# Forward Ctrl-C / TERM to our own Prometheus only, then wait for it to finish writing.
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
wait "$pid" || true
wait "$pid" 2>/dev/null || true
