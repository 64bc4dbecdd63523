#!/usr/bin/env bash
# Runs one of the README's programs and checks it as a new user would: `--help` prints usage
# and exits 0, and a run with the given arguments exits 0 and prints every expected line part.
# Usage: run_program.sh BINARY "EXPECTED1|EXPECTED2|..." [ARGS...]
set -uo pipefail
binary="$1"; expected="$2"; shift 2

help=$("$binary" --help 2>&1); rc=$?
if [[ $rc -ne 0 ]]; then echo "FAIL: '$binary --help' exited $rc:"; echo "$help"; exit 1; fi
if ! grep -qi "usage" <<<"$help"; then echo "FAIL: '$binary --help' printed no usage:"; echo "$help"; exit 1; fi

out=$("$binary" "$@" 2>&1); rc=$?
if [[ $rc -ne 0 ]]; then echo "FAIL: '$binary $*' exited $rc:"; echo "$out"; exit 1; fi
IFS='|' read -ra parts <<<"$expected"
for part in "${parts[@]}"; do
  if ! grep -qF -- "$part" <<<"$out"; then
    echo "FAIL: the output of '$binary $*' lacks '$part':"; echo "$out"; exit 1
  fi
done
echo "README program $(basename "$binary") ran and printed what the README promises"
