#!/usr/bin/python3
"""The end-to-end benchmark: thaw against ONNX Runtime and PyTorch eager, from a cold function
instance to steady state. scripts/bench_e2e.sh builds the programs and runs this; see
bench/e2e/README.md for what each figure means.

    /usr/bin/python3 scripts/bench_e2e.py --build-dir build --out bench/results [--quick]

Every runtime runs as its own fresh process started by bench/e2e's bench_e2e_launch, and the
runtimes take turns (thaw, ORT, ORT .ort format, PyTorch, thaw, ORT, ...) so that load from
other users of the machine spreads over all of them. Writes OUT/e2e.json with every raw sample;
scripts/bench_e2e_report.py turns it into OUT/e2e.md and the plots.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(SCRIPTS)
HOME = os.path.expanduser("~")
MODEL_CACHE = os.environ.get("THAW_MODEL_CACHE", os.path.join(HOME, ".cache", "thaw-models"))
NODE_MODULES = os.path.join(os.environ.get("THAW_NODE_CACHE",
                                           os.path.join(HOME, ".cache", "thaw-node")),
                            "node_modules")
WORK = os.path.join(MODEL_CACHE, "bench-e2e")
PADDLEOCR = os.path.join(MODEL_CACHE, "paddleocr", "assets")

IMAGE_224 = [("image", "float32", (1, 3, 224, 224))]
ENCODER_128 = [("input_ids", "int64", (1, 128)), ("attention_mask", "int64", (1, 128))]

# name, label, ONNX file, inputs (pinned shapes), the bench_torch.py architecture or None.
# PaddleOCR's models have dynamic dims: detection runs on a 320x320 page crop, recognition on
# one 48x320 text line and the direction classifier on 48x192, the sizes PaddleOCR feeds them.
MODELS = [
    ("mlp", "MLP 784-512-512-10", os.path.join(MODEL_CACHE, "bench", "mlp", "model.onnx"),
     [("image", "float32", (1, 784))], "mlp"),
    ("squeezenet1_1", "SqueezeNet 1.1",
     os.path.join(MODEL_CACHE, "bench", "squeezenet1_1", "model.onnx"), IMAGE_224,
     "squeezenet1_1"),
    ("mobilenet_v2", "MobileNetV2", os.path.join(MODEL_CACHE, "bench", "mobilenet_v2",
                                                 "model.onnx"), IMAGE_224, "mobilenet_v2"),
    ("resnet18", "ResNet-18", os.path.join(MODEL_CACHE, "bench", "resnet18", "model.onnx"),
     IMAGE_224, "resnet18"),
    ("minilm_l6", "MiniLM-L6-shaped encoder, seq 128",
     os.path.join(MODEL_CACHE, "bench", "minilm_l6_opset13", "model.onnx"), ENCODER_128,
     "minilm_l6"),
    ("ppocr_det", "PP-OCRv4 det, 320x320", os.path.join(PADDLEOCR, "ch_PP-OCRv4_det_infer.onnx"),
     [("x", "float32", (1, 3, 320, 320))], None),
    ("ppocr_rec", "PP-OCRv4 rec, 48x320", os.path.join(PADDLEOCR, "ch_PP-OCRv4_rec_infer.onnx"),
     [("x", "float32", (1, 3, 48, 320))], None),
    ("ppocr_cls", "PP-OCR mobile v2.0 cls, 48x192",
     os.path.join(PADDLEOCR, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
     [("x", "float32", (1, 3, 48, 192))], None),
]

# Which of prepare_model's files each runtime loads (and the cold case evicts).
MODEL_FILE = {"thaw": "thaw", "ort": "onnx", "ort_format": "ort", "torch": "torch"}

SCALING_MEGABYTES = (1, 10, 100, 500)
SCALING_LAYERS = 4

# How much to measure. A steady-state process does `warmup` untimed runs and then its share of
# `runs`; when a runtime is so slow that `runs` would take longer than `steady_seconds`, it does
# fewer (never fewer than `min_runs`) and the report flags the count.
SETTINGS = {
    "full": {"process_rounds": 7, "torch_process_rounds": 3, "steady_rounds": 3, "runs": 30,
             "threaded_per_round": 3,
             "min_runs": 10, "warmup": 3, "steady_seconds": 120, "scaling_rounds": 5,
             "scaling_megabytes": SCALING_MEGABYTES},
    "quick": {"process_rounds": 3, "torch_process_rounds": 1, "steady_rounds": 2, "runs": 10,
              "threaded_per_round": 1,
              "min_runs": 4, "warmup": 1, "steady_seconds": 30, "scaling_rounds": 3,
              "scaling_megabytes": SCALING_MEGABYTES[:-1]},
}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Programs:
    """Command lines for each runtime's function process."""

    def __init__(self, build_dir):
        self.launcher = os.path.join(build_dir, "bench", "e2e", "bench_e2e_launch")
        self.thaw_function = os.path.join(build_dir, "bench", "e2e", "thaw_e2e_static")
        self.thaw_cli = os.path.join(build_dir, "tools", "thaw")
        self.thaw_threads = os.path.join(build_dir, "bench", "e2e", "thaw_threads")
        for program in (self.launcher, self.thaw_function, self.thaw_cli, self.thaw_threads):
            if not os.access(program, os.X_OK):
                sys.exit(f"bench_e2e: {program} is missing: run scripts/bench_e2e.sh, which "
                         "builds it")
        self.environment = dict(os.environ, NODE_PATH=NODE_MODULES, OPENBLAS_NUM_THREADS="1",
                                OMP_NUM_THREADS="1")

    def function(self, runtime, files, inputs, output, warmup=0, runs=0, threads=1):
        """The command that runs `runtime`'s function once (plus warmup and timed runs), on
        `threads` threads (thaw and ORT)."""
        counts = ["--warmup", str(warmup), "--runs", str(runs), "--output", output]
        if runtime == "thaw":
            return [self.thaw_function, files["thaw"], "--threads", str(threads)] + counts
        if runtime in ("ort", "ort_format"):
            command = ["node", os.path.join(SCRIPTS, "bench_ort.js")]
            if runtime == "ort_format":
                command += [files["ort"], "--ort-format"]
            else:
                command.append(files["onnx"])
            for name, dtype, shape in inputs:
                command += ["--input", f"{name}={dtype}:{'x'.join(map(str, shape))}"]
            return command + ["--threads", str(threads)] + counts
        return ([sys.executable, os.path.join(SCRIPTS, "bench_torch.py"), files["torch_model"],
                 files["torch"], "--threads", "1"] + counts)

    def core_placement(self):
        """How long a cache line takes from one core to another and back, now, and what that
        says of the cores ("shared_core", "near" or "far": on a virtual machine it jumps as the
        host moves the vCPUs, bench/e2e/README.md)."""
        completed = subprocess.run([self.thaw_threads, "--round-trip"], capture_output=True,
                                   text=True, check=True, timeout=60)
        return json.loads(completed.stdout)

    def launch(self, command, evict=None, timeout=1800):
        """Run `command` in a fresh process; returns its JSON record merged with the
        launcher's (spawn and exit times, the child's rusage, eviction results)."""
        launcher = [self.launcher] + (["--evict", evict] if evict else []) + ["--"] + command
        completed = subprocess.run(launcher, env=self.environment, capture_output=True, text=True,
                                   timeout=timeout)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
        if completed.returncode != 0 or len(lines) < 2:
            raise RuntimeError(f"{' '.join(command)} failed ({completed.returncode}):\n"
                               f"{completed.stderr.strip()[-2000:]}")
        record = json.loads(lines[-2])
        launched = json.loads(lines[-1])
        record.update({key: value for key, value in launched.items() if key != "launcher"})
        record["cold"] = evict is not None
        # The common time line: process start -> model ready -> first result written.
        record["start_to_main_ms"] = (record["main_ns"] - record["spawn_ns"]) / 1e6
        record["start_to_ready_ms"] = (record["ready_ns"] - record["spawn_ns"]) / 1e6
        record["start_to_first_result_ms"] = (record["first_result_ns"] - record["spawn_ns"]) / 1e6
        record["process_ms"] = (record["exit_ns"] - record["spawn_ns"]) / 1e6
        return record


def run_quietly(command, environment=None):
    completed = subprocess.run(command, env=environment, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr.strip()[-2000:]}")
    return completed.stdout


def prepare_model(programs, name, onnx_path, inputs, torch_model):
    """Convert to .thaw, save ONNX Runtime's pre-optimised .ort and PyTorch's weights."""
    folder = os.path.join(WORK, name)
    os.makedirs(folder, exist_ok=True)
    files = {"onnx": onnx_path, "thaw": os.path.join(folder, "model.thaw"),
             "ort": os.path.join(folder, "model.ort")}
    shapes = []
    for input_name, _, shape in inputs:
        shapes += ["--input-shape", f"{input_name}={','.join(map(str, shape))}"]
    started = time.monotonic()
    run_quietly([programs.thaw_cli, "convert", onnx_path, files["thaw"]] + shapes)
    convert_seconds = time.monotonic() - started
    run_quietly(["node", os.path.join(SCRIPTS, "bench_ort.js"), onnx_path, "--save-ort",
                 files["ort"]], programs.environment)
    if torch_model is not None:
        files["torch_model"] = torch_model
        files["torch"] = os.path.join(folder, "torch_state.pt")
        if not os.path.exists(files["torch"]):
            run_quietly([sys.executable, os.path.join(SCRIPTS, "bench_torch.py"), torch_model,
                         files["torch"], "--save"])
    sizes = {key: os.path.getsize(path) for key, path in files.items()
             if key != "torch_model"}
    return files, {"convert_seconds": convert_seconds, "file_bytes": sizes}


def compare_outputs(thaw_path, ort_path):
    """How far thaw's first output is from ORT's on the same inputs: a benchmark of a kernel
    that computes the wrong thing would be worthless. Both are raw float32 (every model's first
    output here is)."""
    import numpy as np

    thaw = np.fromfile(thaw_path, dtype=np.float32).astype(np.float64)
    ort = np.fromfile(ort_path, dtype=np.float32).astype(np.float64)
    if thaw.shape != ort.shape:
        return {"elements": [int(thaw.size), int(ort.size)], "max_abs_diff": None}
    return {"elements": int(thaw.size), "max_abs_diff": float(np.max(np.abs(thaw - ort))),
            "max_abs_ort": float(np.max(np.abs(ort)))}


def steady_runs(settings, first_run_ms):
    """Timed runs per steady-state process for a runtime whose first run took first_run_ms."""
    affordable = int(settings["steady_seconds"] * 1000 / max(first_run_ms, 1e-3))
    total = max(settings["min_runs"], min(settings["runs"], affordable))
    return -(-total // settings["steady_rounds"])


# The runtimes measured again on more threads, in the steady state.
THREADED_RUNTIMES = ("thaw", "ort")


def measure_model(programs, settings, model, threads):
    name, label, onnx_path, inputs, torch_model = model
    files, prepared = prepare_model(programs, name, onnx_path, inputs, torch_model)
    runtimes = ["thaw", "ort", "ort_format"] + (["torch"] if torch_model else [])
    outputs = {runtime: os.path.join(WORK, name, f"first_output_{runtime}.bin")
               for runtime in runtimes}
    threaded_output = os.path.join(WORK, name, "first_output_thaw_threaded.bin")
    result = dict(prepared, label=label, inputs=[list(i) for i in inputs], runtimes=runtimes,
                  process=[], steady=[], steady_threaded=[])
    # (2) fresh processes, warm then cold, runtimes interleaved round by round.
    for round_index in range(settings["process_rounds"]):
        for runtime in runtimes:
            if runtime == "torch" and round_index >= settings["torch_process_rounds"]:
                continue
            for evict in (None, files[MODEL_FILE[runtime]]):
                record = programs.launch(
                    programs.function(runtime, files, inputs, outputs[runtime]), evict=evict)
                record["round"] = round_index
                result["process"].append(record)
    result["agreement"] = compare_outputs(outputs["thaw"], outputs["ort"])
    # (3)(4) steady state: each round starts one process per runtime that warms up and then
    # does its share of the timed runs.
    first_run = {runtime: min(r["first_run_ms"] for r in result["process"]
                              if r["runtime"] == runtime) for runtime in runtimes}
    for round_index in range(settings["steady_rounds"]):
        for runtime in runtimes:
            runs = steady_runs(settings, first_run[runtime])
            warmup = min(settings["warmup"], runs)
            record = programs.launch(programs.function(runtime, files, inputs, "/dev/null",
                                                       warmup=warmup, runs=runs))
            record["round"] = round_index
            result["steady"].append(record)
        # The same on `threads` threads, right after: both counts see the same machine load.
        # thaw's first output is kept: threads must not change a bit of it. Each process is
        # filed by the cores' round trip just before and after it (the report splits thaw/ORT
        # by it), and the pair runs several times a round to meet both placements.
        for _ in range(settings["threaded_per_round"] if threads > 1 else 0):
            for runtime in THREADED_RUNTIMES:
                runs = steady_runs(settings, first_run[runtime])
                output = threaded_output if runtime == "thaw" else "/dev/null"
                before = programs.core_placement()
                record = programs.launch(programs.function(
                    runtime, files, inputs, output, warmup=min(settings["warmup"], runs),
                    runs=runs, threads=threads))
                record["core_placement"] = [before, programs.core_placement()]
                record["round"] = round_index
                result["steady_threaded"].append(record)
    if threads > 1:
        with open(outputs["thaw"], "rb") as one, open(threaded_output, "rb") as many:
            result["thaw_threaded_identical"] = one.read() == many.read()
    return result


def scaling_width(megabytes):
    """The width of SCALING_LAYERS square float32 weight matrices holding `megabytes` MB."""
    return int((megabytes * 1e6 / 4 / SCALING_LAYERS) ** 0.5)


def make_scaling_model(path, megabytes):
    """An MLP of SCALING_LAYERS square MatMul + Add + Relu layers holding `megabytes` MB of
    float32 weights: the tensor count stays the same while the size grows."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    width = scaling_width(megabytes)
    rng = np.random.default_rng(megabytes)
    nodes, initializers = [], []
    previous = "x"
    for layer in range(SCALING_LAYERS):
        weight = (rng.standard_normal((width, width), dtype=np.float32) / np.sqrt(width))
        initializers += [numpy_helper.from_array(weight, f"w{layer}"),
                         numpy_helper.from_array(np.zeros(width, np.float32), f"b{layer}")]
        nodes += [helper.make_node("MatMul", [previous, f"w{layer}"], [f"m{layer}"]),
                  helper.make_node("Add", [f"m{layer}", f"b{layer}"], [f"a{layer}"]),
                  helper.make_node("Relu", [f"a{layer}"], [f"h{layer}"])]
        previous = f"h{layer}"
    graph = helper.make_graph(
        nodes, f"mlp_{megabytes}mb", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [1, width])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [1, width])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    # Through a temporary name, so an interrupted run never leaves a truncated model behind.
    onnx.save(model, path + ".partial")
    os.replace(path + ".partial", path)


def measure_scaling(programs, settings):
    folder = os.path.join(WORK, "scaling")
    os.makedirs(folder, exist_ok=True)
    results = []
    for megabytes in settings["scaling_megabytes"]:
        path = os.path.join(folder, f"mlp_{megabytes}mb.onnx")
        if not os.path.exists(path):
            log(f"scaling: writing the {megabytes} MB MLP")
            make_scaling_model(path, megabytes)
        width = scaling_width(megabytes)
        inputs = [("x", "float32", (1, width))]
        files, prepared = prepare_model(programs, f"scaling/mlp_{megabytes}mb", path, inputs,
                                        None)
        entry = dict(prepared, megabytes=megabytes, width=width, layers=SCALING_LAYERS,
                     samples=[])
        for _ in range(settings["scaling_rounds"]):
            for runtime in ("thaw", "ort", "ort_format"):
                entry["samples"].append(programs.launch(
                    programs.function(runtime, files, inputs, "/dev/null")))
        results.append(entry)
        log(f"scaling: {megabytes} MB done")
    return results


def source_version():
    """The measured tree's commit, marked when it has uncommitted changes (read-only git)."""
    git = ["git", "--no-optional-locks", "-C", SOURCE]
    commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if commit.returncode != 0:
        return "unknown (not a git checkout)"
    status = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True)
    modified = " with uncommitted changes" if status.stdout.strip() else ""
    return commit.stdout.strip() + modified


def cpu_model():
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def binary_sizes(programs):
    ort_library = os.path.join(NODE_MODULES, "onnxruntime-node", "bin", "napi-v6", "linux",
                               "x64")
    sizes = {"thaw_e2e_static": os.path.getsize(programs.thaw_function)}
    for name in ("libonnxruntime.so.1", "onnxruntime_binding.node"):
        path = os.path.join(ort_library, name)
        if os.path.exists(path):
            sizes[name] = os.path.getsize(path)
    sizes["thaw_e2e_static_linkage"] = run_quietly(["file", "-b", programs.thaw_function]).strip()
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions and no 500 MB scaling model")
    parser.add_argument("--models", help="comma-separated subset of: " +
                        ",".join(model[0] for model in MODELS))
    parser.add_argument("--threads", type=int, default=2,
                        help="also measure thaw's and ORT's steady state on this many threads "
                        "(default 2; 1: only the one-thread figures)")
    arguments = parser.parse_args()
    settings = SETTINGS["quick" if arguments.quick else "full"]
    if arguments.threads < 1:
        parser.error("--threads must be at least 1")
    programs = Programs(os.path.abspath(arguments.build_dir))
    chosen = set(arguments.models.split(",")) if arguments.models else None
    started = time.monotonic()

    report = {
        "meta": {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 "cpu": cpu_model(), "cores": os.cpu_count(), "mode": "quick" if arguments.quick
                 else "full", "settings": settings,
                 "thaw_isa": os.environ.get("THAW_ISA", "default (best the CPU supports)"),
                 "thaw_threads": 1, "ort_threads": 1, "torch_threads": 1,
                 "threaded_steady_threads": arguments.threads,
                 "node": run_quietly(["node", "--version"]).strip(),
                 "commit": source_version()},
        "binary_sizes": binary_sizes(programs), "models": {}, "failures": {}}
    for model in MODELS:
        name, _, onnx_path = model[:3]
        if chosen is not None and name not in chosen:
            continue
        if not os.path.exists(onnx_path):
            report["failures"][name] = f"{onnx_path} is missing (see bench/e2e/README.md)"
            log(f"{name}: skipped, {onnx_path} is missing")
            continue
        log(f"{name}: measuring")
        try:
            report["models"][name] = measure_model(programs, settings, model, arguments.threads)
        except (RuntimeError, subprocess.TimeoutExpired) as failure:
            report["failures"][name] = str(failure)
            log(f"{name}: FAILED: {failure}")
    if chosen is None or "scaling" in chosen:
        report["scaling"] = measure_scaling(programs, settings)
    report["meta"]["wall_seconds"] = time.monotonic() - started
    os.makedirs(arguments.out, exist_ok=True)
    with open(os.path.join(arguments.out, "e2e.json"), "w") as out:
        json.dump(report, out, indent=1)
    log(f"wrote {arguments.out}/e2e.json in {report['meta']['wall_seconds']:.0f} s")


if __name__ == "__main__":
    main()
