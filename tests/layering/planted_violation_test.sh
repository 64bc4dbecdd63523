#!/usr/bin/env bash
# scripts/check-layers.sh must reject an include of a higher layer: in copies of the source
# tree, plant one at a time (core including the DataStream API, api/common including the
# runtime, state including checkpoint) and check that each is reported by file and include,
# while the untouched copy passes.
set -euo pipefail
src="$1"
checker="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp -r "$src" "$tmp/sluice"
bash "$checker" "$tmp/sluice" >/dev/null || { echo "FAIL: the unmodified tree is rejected"; exit 1; }

plant() {  # plant FILE INCLUDE: append the include to FILE and expect the checker to name it.
  local file="$1" include="$2" out
  rm -rf "$tmp/sluice" && cp -r "$src" "$tmp/sluice"
  echo "#include \"$include\"" >>"$tmp/sluice/$file"
  if out=$(bash "$checker" "$tmp/sluice" 2>&1); then
    echo "FAIL: $file including $include was accepted"; exit 1
  fi
  if ! grep -q "sluice/$file:[0-9]*: includes \"$include\"" <<<"$out"; then
    echo "FAIL: the report does not name $file and $include:"; echo "$out"; exit 1
  fi
}
plant core/exceptions.h sluice/api/data_stream.h
plant api/common/output.h sluice/runtime/stream_operator.h
plant state/key_groups.h sluice/checkpoint/checkpoint_config.h
echo "planted layer violations are reported"
