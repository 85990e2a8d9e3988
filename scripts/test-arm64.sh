#!/bin/sh
# The test suite on aarch64, emulated: cross-builds thaw with cmake/toolchains/aarch64-linux-gnu.cmake,
# then runs ctest under qemu-aarch64 twice, as a CPU with the dotprod extension (neoverse-n1,
# Graviton 2) and as one without (cortex-a72, Graviton 1). The committed models are first
# converted by an x86-64 build, and test_models_foreign_converted checks that those very .thaw
# files give the reference outputs on aarch64.
#
# Not run under emulation: install_consumer (it builds a consumer with the host's compiler
# against the installed arm64 libthaw, which cannot link), test_cost (each of its calibrations
# times every kernel class for real: about a minute of emulation apiece, measuring nothing; the
# cost model's counting is ISA-neutral and runs on x86-64), and what this build leaves off by
# default: the benchmarks (qemu time is no timing), the fuzzers (they need clang's libFuzzer on
# the target) and the HTTP/Lambda examples (they serve on sockets for seconds at a time).
#
# Usage: scripts/test-arm64.sh [BUILD_ROOT]   (default: build/)
set -eu
cd "$(dirname "$0")/.."
root=$(mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)
jobs=$(nproc)
host=$root/arm64-host-converter
cross=$root/arm64
converted=$root/arm64-x86-converted-models
sysroot=$cross/arm64-sysroot
cross_libc=/usr/aarch64-linux-gnu

scripts/install-deps.sh --arm64
scripts/fetch-arm64-deps.sh "$sysroot"

echo "== x86-64: converting the committed models"
cmake -S . -B "$host" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$host" -j"$jobs" --target test_models
rm -rf "$converted"
mkdir -p "$converted"
THAW_SOURCE_DIR=$PWD THAW_MODELS_SAVE_CONVERTED=$converted "$host/tests/test_models" >/dev/null

echo "== aarch64 cross build"
cmake -S . -B "$cross" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DTHAW_ARM64_SYSROOT="$sysroot" \
  -DTHAW_FOREIGN_CONVERTED_MODELS="$converted" >/dev/null
cmake --build "$cross" -j"$jobs"

total=0
for cpu in neoverse-n1 cortex-a72; do
  cmake "$cross" -DTHAW_QEMU_CPU="$cpu" >/dev/null
  # What getauxval(AT_HWCAP) reports to the program, as glibc prints it on request (hex): the
  # NEON table needs HWCAP_ASIMD (bit 1), the neondot table (int8 products on SDOT) also
  # HWCAP_ASIMDDP (bit 20). The kernel testers run every table the CPU can use, so the
  # neoverse-n1 run tests both int8 paths and the cortex-a72 run the one without SDOT.
  hwcap=$(qemu-aarch64 -cpu "$cpu" -L "$cross_libc" -E LD_SHOW_AUXV=1 \
    -E LD_LIBRARY_PATH="$sysroot/usr/lib/aarch64-linux-gnu" "$cross/tools/thaw" 2>/dev/null |
    sed -n 's/^AT_HWCAP: *\(0x\)\{0,1\}//p' || true)
  hwcap=$((0x${hwcap:-0}))
  asimd=no dotprod=no
  [ $((hwcap & 0x2)) -ne 0 ] && asimd=yes
  [ $((hwcap & 0x100000)) -ne 0 ] && dotprod=yes
  int8=scalar
  [ $asimd = yes ] && int8=neon
  [ $asimd$dotprod = yesyes ] && int8=neondot
  echo "== qemu -cpu $cpu: AT_HWCAP=$(printf '%#x' "$hwcap"): asimd $asimd (the neon table), dotprod $dotprod (int8 products: $int8 table)"
  start=$(date +%s)
  ctest --test-dir "$cross" -j"$jobs" --output-on-failure -E '^(install_consumer|test_cost)$'
  seconds=$(($(date +%s) - start))
  total=$((total + seconds))
  echo "== qemu -cpu $cpu: ctest took ${seconds}s"
done
echo "== emulated ctest runs: ${total}s in all"
