#!/usr/bin/env bash
# Fails when a source file includes a header of a higher layer (DESIGN.md "Layers"): a file
# under src/sluice/<layer>/ may include "sluice/<other>/..." only when <other> comes at or
# before <layer> in LAYERS. A directory not in LAYERS is an error too, so a new layer must be
# placed in the order before it is used.
#
# Usage: scripts/check-layers.sh [SRC_DIR]   (default: src/sluice beside this script)
# Prints one line per violation (file:line, the include, both layers) and exits 1 when there is
# any; exits 0 and prints a summary otherwise.
set -euo pipefail

root="${1:-$(cd "$(dirname "$0")/.." && pwd)/src/sluice}"
root="${root%/}"

# Bottom-up; a layer may include itself and every layer before it.
LAYERS=(core api/common network state checkpoint runtime window graph cluster api connectors
        sql cli testing)

# Prints the rank of the layer that path `$1` (relative to src/sluice) belongs to, or -1.
rank_of() {
  local path="$1" layer i
  if [[ "$path" == api/common/* ]]; then layer="api/common"; else layer="${path%%/*}"; fi
  for i in "${!LAYERS[@]}"; do
    if [[ "${LAYERS[$i]}" == "$layer" ]]; then echo "$i"; return; fi
  done
  echo -1
}

violations=0
files=0
while IFS= read -r -d '' file; do
  rel="${file#"$root"/}"
  own=$(rank_of "$rel")
  files=$((files + 1))
  if [[ "$own" -lt 0 ]]; then
    echo "$file: directory '${rel%%/*}' is not a layer (add it to LAYERS in $0)"
    violations=$((violations + 1))
    continue
  fi
  while IFS=: read -r line target; do
    [[ -z "$line" ]] && continue
    other=$(rank_of "$target")
    if [[ "$other" -lt 0 || "$other" -gt "$own" ]]; then
      local_layer="${LAYERS[$own]}"
      if [[ "$other" -lt 0 ]]; then other_layer="(no layer)"; else other_layer="${LAYERS[$other]}"; fi
      echo "$file:$line: includes \"sluice/$target\": layer $local_layer may not include $other_layer"
      violations=$((violations + 1))
    fi
  done < <(grep -n -o '^[[:space:]]*#[[:space:]]*include[[:space:]]*"sluice/[^"]*"' "$file" |
           sed -E 's/^([0-9]+):.*"sluice\/([^"]*)"/\1:\2/')
done < <(find "$root" -type f \( -name '*.h' -o -name '*.cc' \) -print0)

if [[ "$violations" -gt 0 ]]; then
  echo "check-layers: $violations include(s) against the layer order (${LAYERS[*]})"
  exit 1
fi
echo "check-layers: $files files follow the layer order (${LAYERS[*]})"
