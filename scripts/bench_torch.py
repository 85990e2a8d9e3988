#!/usr/bin/python3
"""PyTorch eager's side of the end-to-end benchmark (scripts/bench_e2e.py drives it): the same
function as bench/e2e/thaw_e2e.c, on Debian's PyTorch 1.13.

    /usr/bin/python3 scripts/bench_torch.py MODEL WEIGHTS.pt --save
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/bench_torch.py MODEL WEIGHTS.pt
        [--threads N] [--warmup N] [--runs N] [--output FILE]

MODEL is one of the architectures scripts/export_models.py exports (mlp, squeezenet1_1,
mobilenet_v2, resnet18, minilm_l6). --save writes freshly initialised weights as a state dict;
the timing form imports torch, builds the module, loads the state dict (that is "model ready"),
runs once on inputs filled like thaw_e2e fills them (floats cycle through [-1, 1), integers are
1), writes the first output's bytes to --output, does --warmup untimed and --runs timed runs
and prints one JSON line with CLOCK_MONOTONIC timestamps in ns (time.monotonic_ns), the phase
times in ms, every run time, VmHWM and /proc/self/smaps_rollup. Debian's torch runs its
matrix products in OpenBLAS, which ignores torch.set_num_threads: the caller sets
OPENBLAS_NUM_THREADS too.
"""

import time

MAIN_NS = time.monotonic_ns()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

IMAGE = ("image", "float32", (1, 3, 224, 224))
ENCODER_SEQUENCE = 128
MODELS = {
    "mlp": [("image", "float32", (1, 784))],
    "squeezenet1_1": [IMAGE],
    "mobilenet_v2": [IMAGE],
    "resnet18": [IMAGE],
    "minilm_l6": [("input_ids", "int64", (1, ENCODER_SEQUENCE)),
                  ("attention_mask", "int64", (1, ENCODER_SEQUENCE))],
}


def build(name):
    """The module export_models.py exports under `name`, with fresh weights."""
    # export_models imports onnx only to check what it exports; a stub keeps onnx's import
    # time out of PyTorch's start-up figure, since this function never exports.
    sys.modules.setdefault("onnx", types.ModuleType("onnx"))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import export_models

    if name == "mlp":
        return export_models.MultiLayerPerceptron()
    if name == "minilm_l6":
        return export_models.Encoder(layers=6, hidden=384, heads=12, ffn=1536, vocab=30522,
                                     max_positions=512)
    import torchvision

    return getattr(torchvision.models, name)(weights=None)


def read_kilobytes(path):
    """The "Key: value kB" lines of a /proc file, as numbers of kB."""
    figures = {}
    with open(path) as lines:
        for line in lines:
            key, _, value = line.partition(":")
            fields = value.split()
            if len(fields) == 2 and fields[1] == "kB":
                figures[key] = int(fields[0])
    return figures


def memory_figures():
    rollup = read_kilobytes("/proc/self/smaps_rollup")
    return {"rss_kb": rollup["Rss"], "anonymous_kb": rollup["Anonymous"],
            "file_backed_kb": rollup["Rss"] - rollup["Anonymous"],
            "shared_clean_kb": rollup["Shared_Clean"], "shared_dirty_kb": rollup["Shared_Dirty"],
            "private_clean_kb": rollup["Private_Clean"],
            "private_dirty_kb": rollup["Private_Dirty"]}


def make_input(torch, dtype, shape):
    count = 1
    for dim in shape:
        count *= dim
    if dtype == "float32":
        return (torch.arange(count, dtype=torch.float32) % 64 / 32 - 1).reshape(shape)
    return torch.ones(shape, dtype=torch.int64)


def elapsed_ms(start_ns, end_ns):
    return (end_ns - start_ns) / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("weights", help="state dict file (written with --save)")
    parser.add_argument("--save", action="store_true", help="write fresh weights and exit")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--runs", type=int, default=0)
    parser.add_argument("--output", default="/dev/null")
    arguments = parser.parse_args()

    import torch

    torch.set_num_threads(arguments.threads)
    imported_ns = time.monotonic_ns()
    if arguments.save:
        torch.save(build(arguments.model).state_dict(), arguments.weights)
        return
    ready_start_ns = time.monotonic_ns()
    module = build(arguments.model)
    module.load_state_dict(torch.load(arguments.weights))
    module.eval()
    ready_ns = time.monotonic_ns()
    memory_ready = memory_figures()

    inputs = [make_input(torch, dtype, shape) for _, dtype, shape in MODELS[arguments.model]]
    with torch.inference_mode():
        run_ns = time.monotonic_ns()
        outputs = module(*inputs)
        ran_ns = time.monotonic_ns()
        first = outputs[0] if isinstance(outputs, tuple) else outputs
        with open(arguments.output, "wb") as output:
            output.write(first.contiguous().numpy().tobytes())
        first_result_ns = time.monotonic_ns()
        for _ in range(arguments.warmup):
            module(*inputs)
        runs_ms = []
        for _ in range(arguments.runs):
            start_ns = time.monotonic_ns()
            module(*inputs)
            runs_ms.append(elapsed_ms(start_ns, time.monotonic_ns()))
    print(json.dumps({
        "runtime": "torch", "threads": arguments.threads, "version": torch.__version__,
        "main_ns": MAIN_NS, "ready_ns": ready_ns, "first_result_ns": first_result_ns,
        "load_runtime_ms": elapsed_ms(MAIN_NS, imported_ns),
        "model_ready_ms": elapsed_ms(ready_start_ns, ready_ns),
        "first_run_ms": elapsed_ms(run_ns, ran_ns), "runs_ms": runs_ms,
        "peak_rss_kb": read_kilobytes("/proc/self/status")["VmHWM"],
        "memory_ready": memory_ready, "memory_end": memory_figures()}), flush=True)


if __name__ == "__main__":
    main()
