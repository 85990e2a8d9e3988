#!/bin/sh
# From a fresh Debian 12 machine (as root) to a real model answering: install what is missing,
# build, convert the bundled digits classifier (a small CNN trained on scikit-learn's 8x8
# digits, tests/models/digits) and run it on a handwritten 7.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo
build/tools/thaw convert tests/models/digits/digits.onnx build/digits.thaw
echo
build/tools/thaw run build/digits.thaw --input image=tests/models/digits/inputs/digit_7/image.npy \
  --repeat 20
