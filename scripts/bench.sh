#!/usr/bin/env bash
# `make bench`: benchmarks against the fake upstream; results/*.json, results/*.png and a summary.
#   scripts/bench.sh            the real run (a few minutes on 2 cores)
#   scripts/bench.sh --quick    seconds (what the smoke tests exercise)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"
scripts/setup.sh python
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec uv run --frozen --no-sync python -m stress_tests.run_bench "$@"
