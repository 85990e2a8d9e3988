#!/usr/bin/python3
"""The int8 table: for every bench model, thaw's f32 and `--quantize int8` conversions side by
side: latency, file size and the int8 model's accuracy against the f32 one.

    /usr/bin/python3 scripts/bench_int8.py [--build-dir build] [--models resnet18,minilm_l6]
        [--rounds 5] [--repeat 20]

The models are the end-to-end bench's (scripts/bench_e2e.py: same files, same pinned shapes).
Each is converted twice with the build's `thaw`; the int8 conversion runs with `--report
--report-inputs` on the model's real inputs (the bench cache's inputs/ folders; for PaddleOCR,
whose cached test inputs are smaller than the benched shapes, a text-like page made the way
scripts/paddleocr_inputs.py makes them) and gives the cosine similarity per output and top-1
agreement for classifiers. Then `thaw run --repeat N --json` on the first input set, f32 and
int8 taking turns over R rounds, one thread: the table shows the median over rounds of each
round's median run, wall clock and the process's CPU time. A model whose conversion, report or
run fails gets a row saying so and the converter's (or runtime's) message under the table.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import sys

import numpy as np

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_e2e  # noqa: E402  (the model list, cache locations, machine description)
import paddleocr_inputs  # noqa: E402  (PaddleOCR's input images)
from cost_report import fmt_ms, run_json, table  # noqa: E402
from model_cases import file_name  # noqa: E402

WORK = os.path.join(bench_e2e.MODEL_CACHE, "bench-int8")
# The report compares top-1 on every [rows, columns] output; these models' are not class scores
# (MiniLM's pooler output is a sentence embedding), so their top-1 would mean nothing.
NOT_CLASSIFIERS = {"minilm_l6"}
COSINE_TARGET = 0.99  # issue 6: on every output
# One line per output of `thaw convert --report` (tools/convert/quantize_report.c).
AGREEMENT_LINE = re.compile(r"^  (.+): cosine min (\S+) mean (\S+)"
                            r"(?:, top-1 agreement (\d+)/(\d+))?$")


def real_inputs(name, onnx_path, inputs):
    """The folder of input sets for --report-inputs and the first set's {input: .npy path}."""
    case = os.path.dirname(onnx_path)
    if os.path.exists(os.path.join(case, "meta.json")):
        with open(os.path.join(case, "meta.json")) as stream:
            meta = json.load(stream)
        folder = os.path.join(case, "inputs")
        first = os.path.join(folder, meta["sets"][0])
        return folder, {tensor["name"]: os.path.join(first, tensor["file"])
                        for tensor in meta["inputs"]}
    # PaddleOCR: one image at the pinned shape, normalised as PaddleOCR feeds this kind of model.
    (input_name, _, shape), = inputs
    _, mean, std = paddleocr_inputs.KINDS[paddleocr_inputs.model_kind(os.path.basename(onnx_path))]
    rng = np.random.default_rng(paddleocr_inputs.SEED)
    pixels = paddleocr_inputs.text_like_image(shape[2], shape[3], rng) / 255.0
    image = ((pixels - np.array(mean)) / np.array(std)).transpose(2, 0, 1)[None]
    folder = os.path.join(WORK, name, "inputs")
    os.makedirs(os.path.join(folder, "0"), exist_ok=True)
    path = os.path.join(folder, "0", file_name(input_name))
    np.save(path, image.astype(np.float32))
    return folder, {input_name: path}


def convert(thaw, onnx_path, thaw_path, inputs, extra=()):
    """`thaw convert` with the pinned shapes; returns its standard output."""
    command = [thaw, "convert", onnx_path, thaw_path]
    for input_name, _, shape in inputs:
        command += ["--input-shape", f"{input_name}={','.join(map(str, shape))}"]
    return bench_e2e.run_quietly(command + list(extra))


def agreements(report_text):
    """[(output, min cosine, top-1 agreeing, top-1 rows or 0 when not a classifier)]."""
    rows = []
    for line in report_text.splitlines():
        match = AGREEMENT_LINE.match(line)
        if match:
            output, min_cosine, _, agreeing, total = match.groups()
            rows.append((output, float(min_cosine), int(agreeing or 0), int(total or 0)))
    if not rows:
        raise RuntimeError(f"thaw convert --report printed no agreement lines:\n{report_text}")
    return rows


def measure_model(thaw, rounds, repeat, model):
    name, _, onnx_path, inputs, _ = model
    if not os.path.exists(onnx_path):
        raise RuntimeError(f"{onnx_path} is missing (scripts/make_references.sh --all)")
    os.makedirs(os.path.join(WORK, name), exist_ok=True)
    files = {precision: os.path.join(WORK, name, f"{precision}.thaw")
             for precision in ("f32", "int8")}
    report_dir, first_set = real_inputs(name, onnx_path, inputs)
    convert(thaw, onnx_path, files["f32"], inputs)
    report = convert(thaw, onnx_path, files["int8"], inputs,
                     ["--quantize", "int8", "--report", "--report-inputs", report_dir])
    arguments = [argument for input_name, path in first_set.items()
                 for argument in ("--input", f"{input_name}={path}")]
    samples = {precision: {"wall": [], "cpu": []} for precision in files}
    for _ in range(rounds):
        for precision, path in files.items():
            run = run_json([thaw, "run", path, "--repeat", str(repeat), "--json"] + arguments)
            samples[precision]["wall"].append(run["median_run_ms"])
            samples[precision]["cpu"].append(run["median_run_cpu_ms"])
    return {"bytes": {precision: os.path.getsize(path) for precision, path in files.items()},
            "ms": {precision: {clock: statistics.median(values)
                               for clock, values in clocks.items()}
                   for precision, clocks in samples.items()},
            "agreements": agreements(report)}


def table_row(label, classifier, result):
    f32, int8 = result["ms"]["f32"], result["ms"]["int8"]
    f32_mb, int8_mb = (result["bytes"][precision] / 1e6 for precision in ("f32", "int8"))
    agreeing = sum(row[2] for row in result["agreements"])
    top1_rows = sum(row[3] for row in result["agreements"])
    if top1_rows == 0 or not classifier:
        top1 = "—"
    else:
        top1 = "same" if agreeing == top1_rows else f"{agreeing}/{top1_rows} rows agree"
    min_cosine = min(row[1] for row in result["agreements"])
    return [label, f"{fmt_ms(f32['wall'])} → {fmt_ms(int8['wall'])} ms",
            f"{f32['wall'] / int8['wall']:.2f}× (CPU time {f32['cpu'] / int8['cpu']:.2f}×)",
            f"{f32_mb:.1f} → {int8_mb:.1f} MB ({int8_mb / f32_mb:.2f}×)",
            f"{min_cosine:.5f}" + (f" (below {COSINE_TARGET})" if min_cosine < COSINE_TARGET
                                   else ""), top1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(bench_e2e.SOURCE, "build"))
    parser.add_argument("--models", help="comma-separated subset of: " +
                        ",".join(model[0] for model in bench_e2e.MODELS))
    parser.add_argument("--rounds", type=int, default=5, help="f32/int8 turns (default 5)")
    parser.add_argument("--repeat", type=int, default=20,
                        help="runs per `thaw run`, the first untimed (default 20)")
    args = parser.parse_args()
    if args.rounds < 1 or args.repeat < 2:
        parser.error("--rounds must be >= 1 and --repeat >= 2")
    thaw = os.path.join(os.path.abspath(args.build_dir), "tools", "thaw")
    if not os.access(thaw, os.X_OK):
        parser.error(f"{thaw} not found: build first (cmake --build {args.build_dir})")
    known = {model[0]: model for model in bench_e2e.MODELS}
    wanted = args.models.split(",") if args.models else list(known)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        parser.error(f"unknown models: {', '.join(unknown)}")

    load_before = os.getloadavg()
    rows, failures = [], []
    for name in wanted:
        label = known[name][1]
        bench_e2e.log(f"{name}: measuring")
        try:
            result = measure_model(thaw, args.rounds, args.repeat, known[name])
        except RuntimeError as failure:
            failures.append((label, str(failure)))
            rows.append([label, "failed (message below the table)"] + ["—"] * 4)
            continue
        rows.append(table_row(label, name not in NOT_CLASSIFIERS, result))
    load_after = os.getloadavg()

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n{date}, {bench_e2e.cpu_model()}, {os.cpu_count()} cores, thaw "
          f"{bench_e2e.source_version()}, ISA {os.environ.get('THAW_ISA', 'default')}; one "
          f"thread, medians over {args.rounds} rounds of `thaw run --repeat {args.repeat}`, "
          f"f32 and int8 in turn; load average (1, 5, 15 min) "
          f"{' '.join(f'{load:.2f}' for load in load_before)} before, "
          f"{' '.join(f'{load:.2f}' for load in load_after)} after.\n")
    print(table(["model", "f32 → int8 latency", "speed-up", "file", "min cosine vs f32",
                 "top-1"], rows))
    for label, message in failures:
        print(f"\n{label}: {message}")


if __name__ == "__main__":
    main()
