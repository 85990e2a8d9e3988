#!/usr/bin/python3
"""What an invocation costs: thaw's predicted and measured latency on the bench models, the
memory size a function should be configured with, and GB-seconds and price per million
invocations, side by side with ONNX Runtime's figures from the end-to-end bench.

    /usr/bin/python3 scripts/cost_report.py [--build-dir build] [--models mlp,resnet18]
        [--price-per-gb-second 0.0000166667] [--memory-step-mb 64] [--memory-min-mb 128] ...

For each model (the end-to-end bench's list, converted with the build's `thaw`), rounds of
`thaw inspect --cost --json` (an on-machine calibration, then the predicted run time) and
`thaw run --repeat N --json` (the measured median) alternate, and the medians over the rounds
are reported. The prediction is compared with the measured CPU time per run, which is what a
run costs on a machine of its own; the wall-clock median is shown too, and is higher when
other processes share the machine.

Pricing model (AWS Lambda's; every number is a parameter):
- memory size: peak RSS rounded up to --memory-step-mb, at least --memory-min-mb;
- Lambda gives a function CPU in proportion to its memory, one vCPU at --vcpu-mb (1,769 MB):
  a single-threaded run at M MB takes cpu_ms * max(1, vcpu_mb / M) (0 turns this off);
- billed duration: that, rounded up to --billing-step-ms (1 ms);
- GB-seconds per invocation: M / 1024 * billed seconds;
- price per million invocations: GB-seconds * --price-per-gb-second * 1e6, plus
  --price-per-million-requests.
The defaults are AWS Lambda's published x86 prices in us-east-1, $0.0000166667 per GB-second
(first tier) and $0.20 per million requests, unchanged since 1 ms billing began in December
2020 and as listed on https://aws.amazon.com/lambda/pricing/ when this was written (2026-11);
check the page before relying on them.

ONNX Runtime's figures are read from the latest end-to-end bench (bench/results/e2e.json,
scripts/bench_e2e.sh): its steady-state median latency and peak RSS (of the whole Node process,
which is what a Lambda function running onnxruntime-node holds), one thread.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_e2e  # noqa: E402  (the model list and cache locations)

SOURCE = bench_e2e.SOURCE
WORK = os.path.join(bench_e2e.MODEL_CACHE, "cost")
TARGET_ERROR = 0.25


def run_json(command):
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr.strip()[-2000:]}")
    return json.loads(completed.stdout)


def convert(thaw, name, onnx_path, inputs):
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, f"{name}.thaw")
    command = [thaw, "convert", onnx_path, path]
    for input_name, _, shape in inputs:
        command += ["--input-shape", f"{input_name}={','.join(map(str, shape))}"]
    subprocess.run(command, check=True, capture_output=True)
    return path


def measure_thaw(thaw, path, rounds, repeat, threads):
    """Medians over `rounds` of (calibrate + predict, run): interleaved, so a change in the
    machine's load affects both alike."""
    predicted, cpu, wall, rss, calibration = [], [], [], [], []
    session_bytes = None
    for _ in range(rounds):
        report = run_json([thaw, "inspect", path, "--cost", "--threads", str(threads), "--json"])
        predicted.append(report["cost"]["total"]["predicted_ms"])
        calibration.append(report["cost"]["calibration_ms"])
        inputs = [argument for tensor in report["inputs"]
                  for argument in ("--input", f"{tensor['name']}=random")]
        run = run_json([thaw, "run", path, "--repeat", str(repeat), "--json"] + inputs)
        cpu.append(run["median_run_cpu_ms"])
        wall.append(run["median_run_ms"])
        rss.append(run["peak_rss_kb"])
        session_bytes = run["session_bytes"]
    return {"predicted_ms": statistics.median(predicted), "cpu_ms": statistics.median(cpu),
            "wall_ms": statistics.median(wall), "peak_rss_kb": max(rss),
            "session_bytes": session_bytes, "calibration_cpu_ms": statistics.median(calibration),
            "rounds": rounds, "runs_per_round": repeat}


def ort_figures(e2e, name):
    """ONNX Runtime's (onnxruntime-node, .onnx file) steady-state median latency and peak RSS."""
    model = e2e.get("models", {}).get(name)
    if model is None:
        return None
    steady = [record for record in model["steady"] if record["runtime"] == "ort"]
    runs = [ms for record in steady for ms in record["runs_ms"]]
    if not runs:
        return None
    return {"latency_ms": statistics.median(runs),
            "peak_rss_kb": statistics.median(record["peak_rss_kb"] for record in steady)}


def invocation_cost(args, latency_ms, peak_rss_kb):
    """Memory to configure, billed duration, GB-seconds and price per million invocations."""
    megabytes = peak_rss_kb / 1024
    memory_mb = max(args.memory_min_mb,
                    math.ceil(megabytes / args.memory_step_mb) * args.memory_step_mb)
    slowdown = max(1.0, args.vcpu_mb / memory_mb) if args.vcpu_mb > 0 else 1.0
    billed_ms = math.ceil(latency_ms * slowdown / args.billing_step_ms) * args.billing_step_ms
    gb_seconds = memory_mb / 1024 * billed_ms / 1000
    price = gb_seconds * args.price_per_gb_second * 1e6 + args.price_per_million_requests
    return {"memory_mb": memory_mb, "billed_ms": billed_ms, "gb_seconds": gb_seconds,
            "price_per_million": price}


def fmt_ms(value):
    return "–" if value is None else (f"{value:.3f}" if value < 1 else f"{value:.1f}")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(SOURCE, "build"))
    parser.add_argument("--models", help="comma-separated subset of: " +
                        ",".join(model[0] for model in bench_e2e.MODELS))
    parser.add_argument("--e2e", default=os.path.join(SOURCE, "bench", "results", "e2e.json"),
                        help="the end-to-end bench's results, for ONNX Runtime's figures")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=30, help="runs per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--price-per-gb-second", type=float, default=0.0000166667)
    parser.add_argument("--price-per-million-requests", type=float, default=0.20)
    parser.add_argument("--memory-step-mb", type=int, default=64)
    parser.add_argument("--memory-min-mb", type=int, default=128)
    parser.add_argument("--vcpu-mb", type=int, default=1769,
                        help="memory size that gets one full vCPU (0: a full core at any size)")
    parser.add_argument("--billing-step-ms", type=int, default=1)
    parser.add_argument("--json-out", help="also write every figure to this file")
    args = parser.parse_args()
    if args.rounds < 1 or args.repeat < 2 or args.memory_step_mb < 1 or args.billing_step_ms < 1:
        parser.error("--rounds must be >= 1, --repeat >= 2, the steps >= 1")

    thaw = os.path.join(args.build_dir, "tools", "thaw")
    if not os.access(thaw, os.X_OK):
        parser.error(f"{thaw} not found: build first (cmake --build {args.build_dir})")
    models = bench_e2e.MODELS
    if args.models:
        wanted = args.models.split(",")
        unknown = set(wanted) - {model[0] for model in models}
        if unknown:
            parser.error(f"unknown models: {', '.join(sorted(unknown))}")
        models = [model for model in models if model[0] in wanted]
    e2e = {}
    if os.path.exists(args.e2e):
        with open(args.e2e) as stream:
            e2e = json.load(stream)

    results = {}
    for name, label, onnx_path, inputs, _ in models:
        if not os.path.exists(onnx_path):
            print(f"skipped {label}: {onnx_path} is missing (scripts/make_references.sh --all)",
                  file=sys.stderr)
            continue
        print(f"measuring {label} ...", file=sys.stderr)
        path = convert(thaw, name, onnx_path, inputs)
        thaw_figures = measure_thaw(thaw, path, args.rounds, args.repeat, args.threads)
        ort = ort_figures(e2e, name)
        results[name] = {
            "label": label, "thaw": thaw_figures,
            "thaw_cost": invocation_cost(args, thaw_figures["cpu_ms"],
                                         thaw_figures["peak_rss_kb"]),
            "ort": ort,
            "ort_cost": invocation_cost(args, ort["latency_ms"], ort["peak_rss_kb"]) if ort else None,
        }

    rows = []
    for result in results.values():
        t = result["thaw"]
        error = t["predicted_ms"] / t["cpu_ms"] - 1
        result["prediction_error"] = error
        rows.append([result["label"], fmt_ms(t["predicted_ms"]), fmt_ms(t["cpu_ms"]),
                     fmt_ms(t["wall_ms"]), f"{error:+.0%}",
                     "yes" if abs(error) <= TARGET_ERROR else "**no**",
                     f"{t['calibration_cpu_ms']:.0f}"])
    print(f"## Predicted and measured latency, {args.threads} thread(s)\n")
    print(table(["model", "predicted ms", "measured ms (CPU)", "measured ms (wall)",
                 "error", f"within {TARGET_ERROR:.0%}", "calibration ms (CPU)"], rows))

    rows = []
    for result in results.values():
        t, c, o, oc = result["thaw"], result["thaw_cost"], result["ort"], result["ort_cost"]
        row = [result["label"], f"{t['peak_rss_kb'] / 1024:.1f}", c["memory_mb"], c["billed_ms"],
               f"{c['gb_seconds']:.6f}", f"{c['price_per_million']:.2f}"]
        if o:
            row += [fmt_ms(o["latency_ms"]), f"{o['peak_rss_kb'] / 1024:.1f}", oc["memory_mb"],
                    oc["billed_ms"], f"{oc['gb_seconds']:.6f}", f"{oc['price_per_million']:.2f}"]
        else:
            row += ["–"] * 6
        rows.append(row)
    print(f"\n## Cost per invocation: ${args.price_per_gb_second} per GB-second, "
          f"${args.price_per_million_requests} per million requests, memory in "
          f"{args.memory_step_mb} MB steps from {args.memory_min_mb} MB, one vCPU at "
          f"{args.vcpu_mb} MB\n")
    print(table(["model", "thaw peak RSS MB", "thaw memory MB", "thaw billed ms",
                 "thaw GB-s", "thaw $ per 1M", "ORT latency ms", "ORT peak RSS MB",
                 "ORT memory MB", "ORT billed ms", "ORT GB-s", "ORT $ per 1M"], rows))
    if args.json_out:
        with open(args.json_out, "w") as stream:
            json.dump({"settings": vars(args), "models": results}, stream, indent=1)
            stream.write("\n")


if __name__ == "__main__":
    main()
