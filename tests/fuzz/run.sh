#!/bin/sh
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
# Configures BUILD_DIR with clang and THAW_BUILD_FUZZ=ON if needed, writes the seed corpus and
# fuzzes the loader for SECONDS. Crashes are left in BUILD_DIR/fuzz-artifacts.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
source_dir=$(cd "$(dirname "$0")/../.." && pwd)

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  CC=clang cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTHAW_BUILD_FUZZ=ON -DTHAW_BUILD_TOOLS=OFF -DTHAW_BUILD_TESTS=OFF
fi
cmake --build "$build_dir" -j2 --target fuzz_model_load fuzz_seed_corpus

corpus="$build_dir/fuzz-corpus"
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"
"$build_dir/tests/fuzz/fuzz_seed_corpus" "$corpus"
"$build_dir/tests/fuzz/fuzz_model_load" -max_total_time="$seconds" -max_len=65536 \
  -dict="$source_dir/tests/fuzz/thaw.dict" -artifact_prefix="$artifacts/" "$corpus"
