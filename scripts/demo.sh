#!/usr/bin/env bash
# Runs the main job on the embedded local cluster: retail analytics over the UCI Online Retail
# data in $SLUICE_DATA_DIR (default ../shared/data) — hourly revenue per country and customer
# sessions in event time, malformed rows to dead letters — writing to out/retail and printing
# its summary; then WordCount over the Gutenberg books into out/wordcount.
# Usage: scripts/demo.sh [BUILD_DIR]; PARALLELISM (default 2) sets -p.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
DATA_DIR=${SLUICE_DATA_DIR:-../shared/data}
P=${PARALLELISM:-2}

OUT=out/retail
rm -rf "$OUT"
echo "== Retail analytics over $DATA_DIR/retail/by-day (parallelism $P) -> $OUT"
"$BUILD_DIR/examples/retail_analytics" --input "$DATA_DIR/retail/by-day" --output "$OUT" -p "$P"
echo "Top countries by revenue (from $OUT/hourly_revenue):"
find "$OUT/hourly_revenue" -type f -name 'part-*' -exec cat {} + \
  | awk -F, '{ rev[$3] += $5 } END { for (c in rev) printf "  %14.2f  %s\n", rev[c], c }' \
  | sort -nr | sed -n 1,5p

OUT=out/wordcount
rm -rf "$OUT"
echo
echo "== WordCount over $DATA_DIR/gutenberg (parallelism $P) -> $OUT"
"$BUILD_DIR/examples/wordcount" --input "$DATA_DIR/gutenberg" --output "$OUT" -p "$P"
echo "Most frequent words (final counts):"
find "$OUT" -type f -name 'part-*' -exec cat {} + \
  | awk -F'[(,)]' '{ if ($3 + 0 > max[$2]) max[$2] = $3 + 0 } END { for (w in max) print "  " max[w], w }' \
  | sort -k1,1nr | sed -n 1,5p
