#!/usr/bin/env bash
# Runs each benchmark case in its own process (so peak RSS is per case) and prints one JSON
# object per line. Usage: scripts/bench.sh [BUILD_DIR]
set -euo pipefail
BUILD_DIR=${1:-build}
export SLUICE_DATA_DIR=${SLUICE_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
for c in chained keyed wordcount; do
  "$BUILD_DIR/bench/throughput_bench" "$c"
done
for c in tumbling sliding; do
  "$BUILD_DIR/bench/window_bench" "$c"
done
"$BUILD_DIR/bench/retail_bench" -p 2
for c in value_direct value noop list timers memory; do
  "$BUILD_DIR/bench/state_bench" "$c"
done
