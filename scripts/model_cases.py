"""A test case folder: the layout that export_models.py and paddleocr_inputs.py write,
ort_reference.js completes with ONNX Runtime's outputs and tests/unit/test_models.c reads.

    <case>/meta.json                  what follows, and the model file to convert
    <case>/inputs/<set>/<file>.npy    one file per model input, for every input set
    <case>/expected/<set>/<file>.npy  one file per model output (ort_reference.js)

meta.json:
    model      the ONNX file, relative to the case folder or, when "package" is set, to the
               folder the named third-party package was fetched into (not committed)
    package    optional: "paddleocr" (scripts/fetch_paddleocr.sh)
    inputs     [{name, file, dtype, shape}]: shape is what the test pins with --input-shape
    outputs    [{name, file}]
    sets       names of the input sets
    labels     optional, one class per set: the argmax the first output must have
    rtol, atol the comparison is |thaw - ort| <= atol * max(1, max|ort|) + rtol * |ort|
"""

import json
import os
import re

import numpy as np

RTOL = 1e-3
ATOL = 1e-4


def file_name(tensor_name):
    """ONNX names may hold '/', ':' or '.'; file names get a portable spelling."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", tensor_name) + ".npy"


def write_case(folder, model, inputs, outputs, input_sets, package=None, labels=None):
    """`inputs` is [(name, array)] for the first set's order; `input_sets` maps each set name to
    {input name: array}. Writes the inputs and meta.json; returns meta.json's path."""
    os.makedirs(folder, exist_ok=True)
    for set_name, arrays in input_sets.items():
        set_folder = os.path.join(folder, "inputs", set_name)
        os.makedirs(set_folder, exist_ok=True)
        for name, array in arrays.items():
            np.save(os.path.join(set_folder, file_name(name)), np.ascontiguousarray(array))
    first = next(iter(input_sets.values()))
    meta = {"model": model}
    if package:
        meta["package"] = package
    meta["inputs"] = [{"name": name, "file": file_name(name), "dtype": str(first[name].dtype),
                       "shape": list(first[name].shape)} for name in inputs]
    meta["outputs"] = [{"name": name, "file": file_name(name)} for name in outputs]
    meta["sets"] = list(input_sets)
    if labels is not None:
        meta["labels"] = labels
    meta["rtol"] = RTOL
    meta["atol"] = ATOL
    path = os.path.join(folder, "meta.json")
    with open(path, "w") as stream:
        json.dump(meta, stream, indent=2)
        stream.write("\n")
    return path
