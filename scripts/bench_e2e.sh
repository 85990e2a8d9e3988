#!/bin/sh
# The end-to-end benchmark, one command (bench/e2e/README.md explains every figure):
#
#   scripts/bench_e2e.sh [--quick] [--build-dir DIR] [--models a,b,...] [--threads N]
#
# Builds what it needs into DIR (default build/: the thaw CLI and bench/e2e's programs, with
# -DTHAW_BUILD_BENCH=ON, keeping the folder's other settings), measures thaw, ONNX Runtime and
# PyTorch on every model it finds in $THAW_MODEL_CACHE (default ~/.cache/thaw-models; made by
# scripts/make_references.sh --all), and writes bench/results/e2e.{json,md} and the plots.
# --quick: fewer repetitions and no 500 MB scaling model (with the AVX2 kernels the full run
# takes about 6 minutes, the scalar ones make it several times longer). --models: a subset,
# "scaling" included. --threads N: the steady state of thaw and ORT is also measured on N
# threads (default 2; 1 skips it).
set -eu

scripts_dir=$(cd "$(dirname "$0")" && pwd)
source_dir=$(dirname "$scripts_dir")
build_dir="$source_dir/build"
python=/usr/bin/python3
quick=
models=
threads=2

usage() {
  echo "usage: $0 [--quick] [--build-dir DIR] [--models a,b,...] [--threads N]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=--quick ;;
    --build-dir) [ $# -ge 2 ] || usage; build_dir="$2"; shift ;;
    --models) [ $# -ge 2 ] || usage; models="--models=$2"; shift ;;
    --threads) [ $# -ge 2 ] || usage; threads="$2"; shift ;;
    *) usage ;;
  esac
  shift
done

cmake -S "$source_dir" -B "$build_dir" -DTHAW_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" -j2 --target thaw_cli thaw_e2e_static bench_e2e_launch thaw_threads \
  >/dev/null

results="$source_dir/bench/results"
"$python" "$scripts_dir/bench_e2e.py" --build-dir "$build_dir" --out "$results" \
  --threads "$threads" $quick $models
"$python" "$scripts_dir/bench_e2e_report.py" "$results"
