#!/usr/bin/env bash
# make bench-server: see bench/server/bench.mjs. Env: BENCH_SECONDS (5), BENCH_CONNECTIONS (16), BENCH_OPS (10).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node bench/server/bench.mjs "$@"
