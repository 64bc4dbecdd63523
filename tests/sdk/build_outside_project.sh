#!/usr/bin/env bash
# Builds and runs a job as an outside project would, against the installed SDK only: installs
# this build into a temporary prefix, writes README "Build your own job"'s CMakeLists.txt and
# README's first program as main.cc into an empty directory, configures it with nothing but
# CMAKE_PREFIX_PATH=<prefix>, builds it and runs it.
# Usage: build_outside_project.sh BUILD_DIR README EXPECTED_OUTPUT_PART
set -euo pipefail
build_dir="$1"; readme="$2"; expected="$3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log"

mkdir "$tmp/project"
# The first ```cmake block that calls find_package(Sluice), and the first ```cpp block with main.
awk '/^```cmake$/ {inb=1; buf=""; next} inb && /^```$/ {inb=0; if (buf ~ /find_package\(Sluice/ && !done) {printf "%s", buf; done=1}; next} inb {buf = buf $0 "\n"}' \
  "$readme" >"$tmp/project/CMakeLists.txt"
awk '/^```cpp$/ {inb=1; buf=""; next} inb && /^```$/ {inb=0; if (buf ~ /int main\(/ && !done) {printf "%s", buf; done=1}; next} inb {buf = buf $0 "\n"}' \
  "$readme" >"$tmp/project/main.cc"
[[ -s "$tmp/project/CMakeLists.txt" && -s "$tmp/project/main.cc" ]] || {
  echo "FAIL: README lacks the outside CMakeLists.txt or the first program"; exit 1; }
job=$(sed -n 's/^sluice_add_job(\([A-Za-z0-9_]*\) .*/\1/p' "$tmp/project/CMakeLists.txt")

# No path into the source or build tree: only the installed prefix.
cmake -S "$tmp/project" -B "$tmp/project/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" 2>&1 || {
  cat "$tmp/configure.log"; echo "FAIL: configuring the outside project"; exit 1; }
cmake --build "$tmp/project/build" >"$tmp/build.log" 2>&1 || {
  cat "$tmp/build.log"; echo "FAIL: building the outside project"; exit 1; }
if grep -q -- "-I$(cd "$build_dir/.." && pwd)/src" "$tmp/build.log" "$tmp/project/build/build.ninja"; then
  echo "FAIL: the outside project compiled against the source tree"; exit 1
fi
out=$("$tmp/project/build/$job" -p 2 2>&1) || { echo "$out"; echo "FAIL: the job failed"; exit 1; }
grep -qF -- "$expected" <<<"$out" || { echo "$out"; echo "FAIL: output lacks '$expected'"; exit 1; }
echo "outside project '$job' built against the installed SDK and ran"
