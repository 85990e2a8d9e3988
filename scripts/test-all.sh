#!/bin/sh
# The whole test suite, as CI runs it: the release build's tests (benchmarks and examples built
# too, so they keep compiling), the same tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer, the concurrency and multi-threaded run tests under
# ThreadSanitizer, the suite on aarch64 under qemu (scripts/test-arm64.sh), then each fuzzer
# (model loader, .npy reader, ONNX converter, state blob loader) for 60 seconds.
# Usage: scripts/test-all.sh [BUILD_ROOT]   (default: build/)
set -eu
cd "$(dirname "$0")/.."
root=${1:-build}
jobs=$(nproc)

scripts/install-deps.sh --bench
scripts/fetch_paddleocr.sh
# For the fully static HTTP function (and its test that it is static).
static_microhttpd=$(scripts/build-static-microhttpd.sh)

echo "== release build and tests"
cmake -S . -B "$root/release" -DCMAKE_BUILD_TYPE=Release -DTHAW_BUILD_EXAMPLES=ON \
  -DTHAW_BUILD_BENCH=ON -DTHAW_STATIC_MICROHTTPD="$static_microhttpd" >/dev/null
cmake --build "$root/release" -j"$jobs"
ctest --test-dir "$root/release" -j"$jobs" --output-on-failure

echo "== address + undefined behaviour sanitizers"
cmake -S . -B "$root/asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTHAW_SANITIZE=address,undefined -DTHAW_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$root/asan" -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/asan" -j"$jobs" --output-on-failure

echo "== thread sanitizer: sessions on 8 threads sharing one model, runs on a session's threads"
cmake -S . -B "$root/tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTHAW_SANITIZE=thread >/dev/null
cmake --build "$root/tsan" -j"$jobs" --target test_concurrency test_threads test_session_controls
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$root/tsan" \
  -R '^(test_concurrency|test_threads|test_session_controls)$' --output-on-failure

echo "== aarch64 under qemu: neoverse-n1 (dotprod) and cortex-a72"
scripts/test-arm64.sh "$root"

echo "== fuzzing: model loader, .npy reader, ONNX converter, state blob loader, 60 s each"
tests/fuzz/run.sh "$root/fuzz" 60
