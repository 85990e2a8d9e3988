#!/bin/sh
# Regenerate the model test cases and their ONNX Runtime reference outputs.
#
#   scripts/make_references.sh          the committed cases: tests/models/<model>/ (small set
#                                       and the quick-start digits sample) and
#                                       tests/models/paddleocr/<model>/ (inputs and references
#                                       only; the models are fetched, not committed)
#   scripts/make_references.sh --all    also the benchmark models (SqueezeNet 1.1, MobileNetV2,
#                                       ResNet-18, MiniLM-L6-shaped encoder at opsets 13 and
#                                       17) with references, into $THAW_MODEL_CACHE (default
#                                       ~/.cache/thaw-models/bench), never into the source tree
#
# Needs Debian's python3-torch, python3-torchvision, python3-onnx, python3-sklearn, and Node
# with npm; onnxruntime-node is installed on first use into $THAW_NODE_CACHE (default
# ~/.cache/thaw-node), outside the source tree.
set -eu

scripts_dir=$(cd "$(dirname "$0")" && pwd)
source_dir=$(dirname "$scripts_dir")
python=/usr/bin/python3
node_cache="${THAW_NODE_CACHE:-$HOME/.cache/thaw-node}"
model_cache="${THAW_MODEL_CACHE:-$HOME/.cache/thaw-models}"

case "${1:-}" in
  "") with_bench=0 ;;
  --all) with_bench=1 ;;
  *) echo "usage: $0 [--all]" >&2; exit 2 ;;
esac

if [ ! -d "$node_cache/node_modules/onnxruntime-node" ]; then
  mkdir -p "$node_cache"
  # The package's install script would download GPU providers; the CPU build ships inside it.
  (cd "$node_cache" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --silent onnxruntime-node)
fi
export NODE_PATH="$node_cache/node_modules"

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

# Replace each case folder as a whole, so files of a renamed input or output do not linger.
install_cases() {
  from="$1"
  to="$2"
  mkdir -p "$to"
  for case_dir in "$from"/*/; do
    name=$(basename "$case_dir")
    rm -rf "${to:?}/$name"
    mv "$case_dir" "$to/$name"
  done
}

"$python" "$scripts_dir/export_models.py" --out "$staging/models" --set small
"$python" "$scripts_dir/export_qdq_model.py" --out "$staging/models"
for case_dir in "$staging"/models/*/; do
  node "$scripts_dir/ort_reference.js" "$case_dir"
done

"$scripts_dir/fetch_paddleocr.sh" "$model_cache"
paddleocr_models="$model_cache/paddleocr/assets"
"$python" "$scripts_dir/paddleocr_inputs.py" --models "$paddleocr_models" --out "$staging/paddleocr"
for case_dir in "$staging"/paddleocr/*/; do
  node "$scripts_dir/ort_reference.js" "$case_dir" --model-dir "$paddleocr_models"
done

install_cases "$staging/models" "$source_dir/tests/models"
install_cases "$staging/paddleocr" "$source_dir/tests/models/paddleocr"

if [ "$with_bench" = 1 ]; then
  "$python" "$scripts_dir/export_models.py" --out "$staging/bench" --set all
  for case_dir in "$staging"/bench/*/; do
    node "$scripts_dir/ort_reference.js" "$case_dir"
  done
  install_cases "$staging/bench" "$model_cache/bench"
fi
du -sh "$source_dir/tests/models"
