"""A small pre-quantized ONNX model in QDQ form, as ONNX Runtime's quantize_static writes it.

    /usr/bin/python3 scripts/export_qdq_model.py --out DIR

ONNX Runtime's quantizer is not in Debian (it needs PyPI), so the QDQ graph is written with
onnx.helper: a float network with seeded weights is calibrated on its own inputs with PyTorch,
then every Conv/Gemm/MatMul gets QuantizeLinear -> DequantizeLinear (u8, per tensor) on its
activation input and a DequantizeLinear of constant integer weights, with int32 biases scaled by
input scale x weight scale, as ORT does. The weights cover what thaw maps onto its int8 kernels:
int8 per output channel (Conv, Gemm with transB, MatMul per column) and uint8 per tensor with
zero point 128. Writes DIR/qdq_convnet (scripts/model_cases.py); ort_reference.js adds the
expected outputs.
"""

import argparse
import json
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

from model_cases import write_case

OPSET = 13
# ONNX Runtime runs the QDQ pattern on integer kernels whose fixed-point requantization rounds
# an occasional level one step away from ONNX's float definition (round(x / scale)), which thaw
# follows; one pooled feature a step off moves a logit by about 0.012 here. A simulation of the
# definition in NumPy matches thaw to 1e-7 on both input sets.
ATOL = 0.02


def activation_parameters(tensor):
    """u8 scale and zero point covering the tensor's range and 0, like ORT's MinMax calibrator."""
    low = min(0.0, float(tensor.min()))
    high = max(0.0, float(tensor.max()))
    scale = np.float32((high - low) / 255.0)
    return scale, np.uint8(round(-low / scale))


def symmetric_int8(weights, axis):
    """int8 levels in [-127, 127] and per-channel scales along `axis` (None: per tensor)."""
    reduce = tuple(d for d in range(weights.ndim) if d != axis) if axis is not None else None
    scale = (np.abs(weights).max(axis=reduce) / 127.0).astype(np.float32)
    shape = [1] * weights.ndim
    if axis is not None:
        shape[axis] = -1
    levels = np.clip(np.rint(weights / scale.reshape(shape)), -127, 127).astype(np.int8)
    return levels, scale


class Builder:
    def __init__(self):
        self.nodes, self.initializers = [], []

    def constant(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, output, **attributes):
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def qdq(self, value, scale, zero_point):
        """value -> QuantizeLinear -> DequantizeLinear with the given u8 parameters."""
        s = self.constant(f"{value}_scale", scale)
        z = self.constant(f"{value}_zero_point", zero_point)
        quantized = self.node("QuantizeLinear", [value, s, z], f"{value}_quantized")
        return self.node("DequantizeLinear", [quantized, s, z], f"{value}_dequantized")

    def weights(self, name, levels, scale, zero_point, axis):
        inputs = [self.constant(f"{name}_levels", levels), self.constant(f"{name}_scale", scale),
                  self.constant(f"{name}_zero_point", zero_point)]
        return self.node("DequantizeLinear", inputs, name, axis=axis)

    def bias(self, name, bias, input_scale, weight_scale):
        """int32 levels of bias at scale input_scale * weight_scale, per output channel."""
        scale = (input_scale * weight_scale).astype(np.float32)
        levels = np.rint(bias / scale).astype(np.int32)
        inputs = [self.constant(f"{name}_levels", levels), self.constant(f"{name}_scale", scale),
                  self.constant(f"{name}_zero_point", np.zeros(levels.shape, np.int32))]
        return self.node("DequantizeLinear", inputs, name, axis=0)


def build(rng, calibration):
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 8).astype(np.float32)
    w2 = rng.normal(0, 0.2, (16, 8, 1, 1)).astype(np.float32)
    w3 = rng.normal(0, 0.3, (10, 16)).astype(np.float32)  # Gemm B with transB = 1
    b3 = rng.normal(0, 0.1, 10).astype(np.float32)
    w4 = rng.normal(0, 0.3, (16, 4)).astype(np.float32)  # MatMul B [K, N]

    # The float network on the calibration images, for the activation ranges.
    x = torch.from_numpy(calibration)
    conv1 = F.relu(F.conv2d(x, torch.from_numpy(w1), torch.from_numpy(b1), padding=1))
    conv2 = F.conv2d(conv1, torch.from_numpy(w2))
    pooled = conv2.mean(dim=(2, 3))

    g = Builder()
    image_scale, image_zero = activation_parameters(x)
    a = g.qdq("image", image_scale, image_zero)
    levels, scale = symmetric_int8(w1, axis=0)
    w = g.weights("conv1_weight", levels, scale, np.zeros(8, np.int8), axis=0)
    b = g.bias("conv1_bias", b1, image_scale, scale)
    g.node("Conv", [a, w, b], "conv1", pads=[1, 1, 1, 1])
    g.node("Relu", ["conv1"], "relu1")

    relu_scale, relu_zero = activation_parameters(conv1)
    a = g.qdq("relu1", relu_scale, relu_zero)
    # uint8 weights with zero point 128, per tensor: thaw re-expresses them as int8 exactly.
    step = np.float32(np.abs(w2).max() / 127.0)
    levels = (np.clip(np.rint(w2 / step), -127, 127) + 128).astype(np.uint8)
    w = g.weights("conv2_weight", levels, step, np.uint8(128), axis=1)
    g.node("Conv", [a, w], "conv2")

    a = g.qdq("conv2", *activation_parameters(conv2))
    g.node("GlobalAveragePool", [a], "pooled")
    g.node("Flatten", ["pooled"], "features")

    features_scale, features_zero = activation_parameters(pooled)
    a = g.qdq("features", features_scale, features_zero)
    levels, scale = symmetric_int8(w3, axis=0)
    w = g.weights("classifier_weight", levels, scale, np.zeros(10, np.int8), axis=0)
    b = g.bias("classifier_bias", b3, features_scale, scale)
    g.node("Gemm", [a, w, b], "logits", transB=1)

    levels, scale = symmetric_int8(w4, axis=1)
    w = g.weights("embedding_weight", levels, scale, np.zeros(4, np.int8), axis=1)
    g.node("MatMul", [a, w], "embedding")

    graph = helper.make_graph(
        g.nodes, "qdq_convnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 4])],
        g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="thaw export_qdq_model.py")
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    arguments = parser.parse_args()
    rng = np.random.default_rng(2024)
    images = {name: rng.normal(0, 1, (1, 3, 8, 8)).astype(np.float32) for name in ("0", "1")}
    model = build(rng, np.concatenate(list(images.values())))
    folder = os.path.join(arguments.out, "qdq_convnet")
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    meta_path = write_case(folder, "model.onnx", ["image"], ["logits", "embedding"],
                           {name: {"image": image} for name, image in images.items()})
    with open(meta_path) as stream:
        meta = json.load(stream)
    meta["atol"] = ATOL
    with open(meta_path, "w") as stream:
        json.dump(meta, stream, indent=2)
        stream.write("\n")


if __name__ == "__main__":
    main()
