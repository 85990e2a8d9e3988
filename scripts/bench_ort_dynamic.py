#!/usr/bin/python3
"""ONNX Runtime's dynamic quantization, converted by thaw, against ONNX Runtime on the same file.

    /usr/bin/python3 scripts/bench_ort_dynamic.py [--model minilm|resnet18] [--build-dir DIR]
                                                  [--rounds 5] [--repeat 30] [--profile]

ONNX Runtime's quantizer needs PyPI, so a benchmark model ($THAW_MODEL_CACHE/bench/<case>, made
by scripts/make_references.sh --all: the MiniLM-shaped encoder or ResNet-18) is rewritten with
onnx.helper as quantize_dynamic writes it by default: every MatMul by a 2-D f32 weight and every
one-group Conv by constant weights becomes DynamicQuantizeLinear on its input, MatMulInteger or
ConvInteger by symmetric per-tensor int8 weights (zero point 0, scale max|w| / 127), Cast to
float and Mul by the input's scale times the weights' (a Conv's bias then added as [1, M, 1, 1]).
thaw converts that file (the chains become QS8MatMul/QS8Conv), the f32 original and the original
with --quantize int8; then thaw runs the three and ONNX Runtime (onnxruntime-node, one thread)
the rewritten file and the original, in turns, on the case's first input set. Prints the medians
of the per-round medians and the cosine between thaw's and ONNX Runtime's outputs on the
rewritten file; with --profile, also ONNX Runtime's profile of its quantized products
(enableProfiling) in one more process.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
import bench_e2e  # noqa: E402  (paths and the quiet runner)

MODELS = {  # case folder, the input shapes thaw convert pins
    "minilm": ("minilm_l6_opset13",
               ["--input-shape", "input_ids=1,128", "--input-shape", "attention_mask=1,128"]),
    "resnet18": ("resnet18", []),
}

# Runs a model on .npy inputs (int64 or float32): one warm-up, then timed runs; prints the median
# and writes the first output's bytes.
ORT_RUNNER = r"""
const ort = require('onnxruntime-node'); const fs = require('fs');
const [model, runs, output, profile, ...inputs] = process.argv.slice(1);
function npy(path) {
  const raw = fs.readFileSync(path), header = raw.readUInt16LE(8);
  const text = raw.toString('latin1', 10, 10 + header);
  const shape = text.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const bytes = raw.buffer.slice(raw.byteOffset + 10 + header, raw.byteOffset + raw.length);
  return text.includes("'<i8'") ? new ort.Tensor('int64', new BigInt64Array(bytes), shape)
                                : new ort.Tensor('float32', new Float32Array(bytes), shape);
}
(async () => {
  const options = {intraOpNumThreads: 1, interOpNumThreads: 1};
  if (profile !== '-') Object.assign(options, {enableProfiling: true, profileFilePrefix: profile});
  const session = await ort.InferenceSession.create(model, options);
  const feeds = {};
  for (const pair of inputs) { const [name, path] = pair.split('='); feeds[name] = npy(path); }
  let result = await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(runs); i++) {
    const start = process.hrtime.bigint();
    result = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const first = result[session.outputNames[0]];
  fs.writeFileSync(output, Buffer.from(first.data.buffer, first.data.byteOffset,
                                       first.data.byteLength));
  if (profile !== '-') await session.endProfiling();
  console.log(JSON.stringify({median_run_ms: times[Math.floor(times.length / 2)]}));
})();
"""


def quantizable(node, initializers):
    """Whether quantize_dynamic makes node an integer product: a MatMul by a 2-D f32 initializer
    or a one-group Conv by constant weights."""
    weight = initializers.get(node.input[1]) if len(node.input) > 1 else None
    if weight is None:
        return False
    if node.op_type == "MatMul":
        return len(weight.dims) == 2
    groups = [attribute.i for attribute in node.attribute if attribute.name == "group"]
    return node.op_type == "Conv" and groups in ([], [1])


def quantize_dynamic(source, target):
    """Rewrite the MatMuls and Convs as quantize_dynamic's default does."""
    model = onnx.load(source)
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    nodes = []
    for index, node in enumerate(graph.node):
        if not quantizable(node, initializers):
            nodes.append(node)
            continue
        w = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float32)
        scale = np.float32(np.abs(w).max() / 127.0)
        levels = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        prefix = f"{node.output[0]}_dynamic{index}"
        conv = node.op_type == "Conv"
        biased = conv and len(node.input) > 2 and node.input[2]
        graph.initializer.extend([
            numpy_helper.from_array(levels, prefix + "_w"),
            numpy_helper.from_array(np.array(0, np.int8), prefix + "_w_zero"),
            numpy_helper.from_array(np.array(scale, np.float32), prefix + "_w_scale")])
        product = helper.make_node("ConvInteger" if conv else "MatMulInteger",
                                   [prefix + "_x", prefix + "_w", prefix + "_x_zero",
                                    prefix + "_w_zero"], [prefix + "_sums"])
        if conv:
            product.attribute.extend(node.attribute)
        scaled = prefix + "_scaled" if biased else node.output[0]
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [node.input[0]],
                             [prefix + "_x", prefix + "_x_scale", prefix + "_x_zero"]),
            product,
            helper.make_node("Cast", [prefix + "_sums"], [prefix + "_float"],
                             to=TensorProto.FLOAT),
            helper.make_node("Mul", [prefix + "_x_scale", prefix + "_w_scale"],
                             [prefix + "_scale"]),
            helper.make_node("Mul", [prefix + "_float", prefix + "_scale"], [scaled])]
        if biased:
            bias = numpy_helper.to_array(initializers[node.input[2]]).astype(np.float32)
            graph.initializer.append(numpy_helper.from_array(bias.reshape(1, -1, 1, 1),
                                                             prefix + "_bias"))
            nodes.append(helper.make_node("Add", [scaled, prefix + "_bias"], [node.output[0]]))
    del graph.node[:]
    graph.node.extend(nodes)
    read = {name for node in graph.node for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.save(model, target)


def first_input_set(case):
    with open(os.path.join(case, "meta.json")) as stream:
        meta = json.load(stream)
    folder = os.path.join(case, "inputs", meta["sets"][0])
    return {tensor["name"]: os.path.join(folder, tensor["file"]) for tensor in meta["inputs"]}


def run_ort(model, runs, output, inputs, profile="-"):
    environment = dict(os.environ, NODE_PATH=bench_e2e.NODE_MODULES)
    run = subprocess.run(["node", "-e", ORT_RUNNER, model, str(runs), output, profile]
                         + [f"{name}={path}" for name, path in inputs.items()],
                         check=True, capture_output=True, text=True, env=environment)
    return json.loads(run.stdout)


def print_ort_products(profile_file):
    """The median time of each quantized product node in ONNX Runtime's profile, largest first."""
    with open(profile_file) as stream:
        events = json.load(stream)
    times = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time") and \
                "MatMul" in event["args"].get("op_name", ""):
            times.setdefault((event["name"], event["args"]["op_name"]), []).append(event["dur"])
    medians = sorted(((statistics.median(durations) / 1000, op)
                      for (_, op), durations in times.items()), reverse=True)
    print("  ONNX Runtime's profile, its quantized products (median ms per node, largest 4):")
    for milliseconds, op in medians[:4]:
        print(f"    {op:28s} {milliseconds:.3f}")


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="minilm")
    parser.add_argument("--build-dir", default=os.path.join(bench_e2e.SOURCE, "build"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args()
    thaw = os.path.join(arguments.build_dir, "tools", "thaw")
    folder, shapes = MODELS[arguments.model]
    case = os.path.join(bench_e2e.MODEL_CACHE, "bench", folder)
    work = os.path.join(bench_e2e.MODEL_CACHE, "ort-dynamic", arguments.model)
    os.makedirs(work, exist_ok=True)
    original = os.path.join(case, "model.onnx")
    rewritten = os.path.join(work, "model.onnx")
    quantize_dynamic(original, rewritten)
    files = {"thaw, ONNX Runtime's dynamic quantization": (rewritten, []),
             "thaw --quantize int8": (original, ["--quantize", "int8"]),
             "thaw f32": (original, [])}
    thaw_files = {}
    for label, (source, extra) in files.items():
        thaw_files[label] = os.path.join(work, f"{len(thaw_files)}.thaw")
        bench_e2e.run_quietly([thaw, "convert", source, thaw_files[label]] + shapes + extra)
    inputs = first_input_set(case)
    thaw_inputs = [argument for name, path in inputs.items()
                   for argument in ("--input", f"{name}={path}")]
    ort_output = os.path.join(work, "ort_output.bin")
    samples = {label: [] for label in list(thaw_files) + ["ONNX Runtime", "ONNX Runtime f32"]}
    for _ in range(arguments.rounds):
        for label, path in thaw_files.items():
            run = subprocess.run([thaw, "run", path, "--repeat", str(arguments.repeat), "--json"]
                                 + thaw_inputs, check=True, capture_output=True, text=True)
            samples[label].append(json.loads(run.stdout)["median_run_ms"])
        samples["ONNX Runtime"].append(
            run_ort(rewritten, arguments.repeat, ort_output, inputs)["median_run_ms"])
        samples["ONNX Runtime f32"].append(
            run_ort(original, arguments.repeat, os.devnull, inputs)["median_run_ms"])
    out_dir = os.path.join(work, "thaw_output")
    subprocess.run([thaw, "run", thaw_files["thaw, ONNX Runtime's dynamic quantization"],
                    "--output-dir", out_dir] + thaw_inputs, check=True, capture_output=True)
    with open(os.path.join(case, "meta.json")) as stream:
        first_output = json.load(stream)["outputs"][0]
    thaw_result = np.load(os.path.join(out_dir, first_output["file"]))
    ort_result = np.fromfile(ort_output, dtype=np.float32)
    print(f"{arguments.rounds} rounds of {arguments.repeat} runs, one thread, medians (ms):")
    for label, values in samples.items():
        file = "the rewritten file" if "dynamic" in label or label == "ONNX Runtime" else "original"
        print(f"  {label:44s} {statistics.median(values):7.2f}  ({file}; rounds "
              f"{min(values):.2f}-{max(values):.2f})")
    print(f"  cosine of thaw's {first_output['name']} against ONNX Runtime's: "
          f"{cosine(thaw_result, ort_result):.7f}")
    if arguments.profile:
        prefix = os.path.join(work, "ort_profile")
        for old in glob.glob(prefix + "*.json"):
            os.remove(old)
        run_ort(rewritten, arguments.repeat, os.devnull, inputs, prefix)
        print_ort_products(max(glob.glob(prefix + "*.json"), key=os.path.getmtime))


if __name__ == "__main__":
    main()
