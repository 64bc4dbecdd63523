#!/usr/bin/env bash
# Runs the main job on the embedded local cluster: WordCount over the Gutenberg books in
# $SLUICE_DATA_DIR (default ../shared/data), writing (word,count) updates to out/wordcount and
# printing the most frequent words. Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
DATA_DIR=${SLUICE_DATA_DIR:-../shared/data}
OUT=out/wordcount
rm -rf "$OUT"
echo "WordCount over $DATA_DIR/gutenberg (parallelism ${PARALLELISM:-2}) -> $OUT"
"$BUILD_DIR/examples/wordcount" --input "$DATA_DIR/gutenberg" --output "$OUT" -p "${PARALLELISM:-2}"
echo "Updates written: $(find "$OUT" -type f -name 'part-*' -exec cat {} + | wc -l)"
echo "Most frequent words (final counts):"
find "$OUT" -type f -name 'part-*' -exec cat {} + \
  | awk -F'[(,)]' '{ if ($3 + 0 > max[$2]) max[$2] = $3 + 0 } END { for (w in max) print max[w], w }' \
  | sort -k1,1nr | sed -n 1,10p
