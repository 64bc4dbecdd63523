#!/usr/bin/env bash
# Runs every Nexmark query over EVENTS events (default 10,000,000) at parallelism 2 with
# build/bench/nexmark, keeps the JSON lines in BUILD_DIR/nexmark-results.jsonl and writes a
# Markdown table comparing events per core-second with Flink 2.0's published figures (the
# nexmark/nexmark repository's GUIDE_V2.md, per core) to BUILD_DIR/nexmark-results.md.
# Usage: scripts/bench-nexmark.sh [BUILD_DIR] [EVENTS]
set -euo pipefail
BUILD_DIR=${1:-build}
EVENTS=${2:-10000000}
QUERIES=(q0 q1 q2 q3 q4 q5 q7 q8 q11)
JSONL="$BUILD_DIR/nexmark-results.jsonl"
TABLE="$BUILD_DIR/nexmark-results.md"

: > "$JSONL"
for q in "${QUERIES[@]}"; do
  "$BUILD_DIR/bench/nexmark" --query "$q" --events "$EVENTS" -p 2 2>/dev/null | tail -n 1 | tee -a "$JSONL"
done

# One JSON array for SQLite's json_each.
JSON=$(mktemp)
trap 'rm -f "$JSON"' EXIT
{ echo "["; paste -sd, "$JSONL"; echo "]"; } > "$JSON"

sqlite3 :memory: > "$TABLE" <<SQL
CREATE TABLE flink(query TEXT PRIMARY KEY, per_core REAL);
INSERT INTO flink VALUES ('q0', 379000), ('q1', 395000), ('q2', 414000), ('q3', 219000),
  ('q4', 28000), ('q5', 75000), ('q7', 23000), ('q8', 162000), ('q11', 46000);
CREATE TABLE r AS SELECT json_extract(value, '\$.query') AS query,
  json_extract(value, '\$.events') AS events,
  json_extract(value, '\$.seconds') AS seconds,
  json_extract(value, '\$.events_per_second') AS eps,
  json_extract(value, '\$.cpu_seconds') AS cpu,
  json_extract(value, '\$.events_per_core_second') AS per_core,
  json_extract(value, '\$.peak_rss_bytes') AS rss
  FROM json_each(readfile('$JSON'));
SELECT '| query | events | seconds | events/s | CPU s | events per core-second | Flink 2.0 per core | ratio | peak RSS MiB |';
SELECT '|---|---:|---:|---:|---:|---:|---:|---:|---:|';
SELECT printf('| %s | %d | %.2f | %,d | %.2f | %,d | %,d | %.1f× | %.0f |', r.query, r.events,
  r.seconds, CAST(r.eps AS INTEGER), r.cpu, CAST(r.per_core AS INTEGER), CAST(f.per_core AS INTEGER),
  r.per_core / f.per_core, r.rss / 1048576.0)
  FROM r JOIN flink f USING (query) ORDER BY CAST(substr(r.query, 2) AS INTEGER);
SQL
echo
cat "$TABLE"
