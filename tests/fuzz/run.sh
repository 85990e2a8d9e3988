#!/bin/sh
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
# Configures BUILD_DIR with clang and THAW_BUILD_FUZZ=ON, seeds the corpora and runs
# every fuzz target for SECONDS each: the .thaw loader (seeds from the writer), the .npy reader
# (seeds: the committed .npy files), the ONNX converter (seeds: the committed models,
# tests/fuzz/seeds and ONNX's per-operator test models) and the state-blob loader (a seed saved by a session). Corpora grow in BUILD_DIR/fuzz-corpus/<target>; crashes
# are left in BUILD_DIR/fuzz-artifacts/<target>.
# Exits non-zero when any target found a crash, after all of them ran.
# Extra libFuzzer flags go in THAW_FUZZ_FLAGS. A run of hours that keeps going past crashes
# (each is still written to fuzz-artifacts):
#   THAW_FUZZ_FLAGS='-fork=2 -ignore_crashes=1' tests/fuzz/run.sh build-fuzz 14400
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_dir="$source_dir/tests/fuzz"

# Configured every time, so a folder configured before the tools were fuzzed gets them.
CC=clang cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTHAW_BUILD_FUZZ=ON -DTHAW_BUILD_TOOLS=ON -DTHAW_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j2 --target fuzz_model_load fuzz_npy fuzz_onnx_convert \
  fuzz_state_load fuzz_seed_corpus

for target in fuzz_model_load fuzz_npy fuzz_onnx_convert fuzz_state_load; do
  mkdir -p "$build_dir/fuzz-corpus/$target" "$build_dir/fuzz-artifacts/$target"
done
"$build_dir/tests/fuzz/fuzz_seed_corpus" "$build_dir/fuzz-corpus/fuzz_model_load" \
  "$build_dir/fuzz-corpus/fuzz_state_load"
# Seeds are named after their path so models with the same file name do not collide.
seed() {
  find "$source_dir/tests/models" -name "$1" | while read -r path; do
    relative=${path#"$source_dir/tests/models/"}
    cp "$path" "$build_dir/fuzz-corpus/$2/seed-$(echo "$relative" | tr / _)"
  done
}
seed '*.npy' fuzz_npy
seed '*.onnx' fuzz_onnx_convert
# ONNX graphs no committed model has (ONNX Runtime's dynamic quantization chains), and inputs a
# fuzzer once crashed on (crash-*: kept so that every fuzz run replays them first).
for model in "$fuzz_dir"/seeds/*.onnx; do
  cp "$model" "$build_dir/fuzz-corpus/fuzz_onnx_convert/seed-$(basename "$model")"
done
# ONNX's per-operator suite (Debian libonnx-testdata) adds a small model for every op.
onnx_node_tests=/usr/share/libonnx-testdata/data/node
if [ -d "$onnx_node_tests" ]; then
  for model in "$onnx_node_tests"/*/model.onnx; do
    case_name=$(basename "$(dirname "$model")")
    cp "$model" "$build_dir/fuzz-corpus/fuzz_onnx_convert/seed-$case_name.onnx"
  done
fi

# target, dictionary, longest input
failed=0
while read -r target dictionary max_len; do
  echo "== $target: $seconds s"
  # shellcheck disable=SC2086 # THAW_FUZZ_FLAGS is a list of flags
  "$build_dir/tests/fuzz/$target" -max_total_time="$seconds" -max_len="$max_len" \
    -dict="$fuzz_dir/$dictionary" -artifact_prefix="$build_dir/fuzz-artifacts/$target/" \
    ${THAW_FUZZ_FLAGS:-} "$build_dir/fuzz-corpus/$target" </dev/null || failed=1
done <<TARGETS
fuzz_model_load thaw.dict 65536
fuzz_npy npy.dict 65536
fuzz_onnx_convert onnx.dict 1048576
fuzz_state_load state.dict 4096
TARGETS
exit $failed
