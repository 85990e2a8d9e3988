#!/bin/sh
# The whole test suite, as CI runs it: the release build's tests, the same tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then the loader fuzzer for 60 seconds.
# Usage: scripts/test-all.sh [BUILD_ROOT]   (default: build/)
set -eu
cd "$(dirname "$0")/.."
root=${1:-build}
jobs=$(nproc)

scripts/install-deps.sh
scripts/fetch_paddleocr.sh

echo "== release build and tests"
cmake -S . -B "$root/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/release" -j"$jobs"
ctest --test-dir "$root/release" -j"$jobs" --output-on-failure

echo "== address + undefined behaviour sanitizers"
cmake -S . -B "$root/asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTHAW_SANITIZE=address,undefined >/dev/null
cmake --build "$root/asan" -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/asan" -j"$jobs" --output-on-failure

echo "== fuzzing the loader for 60 s"
tests/fuzz/run.sh "$root/fuzz" 60
