#!/usr/bin/python3
"""Turn the end-to-end benchmark's raw samples (RESULTS/e2e.json, from scripts/bench_e2e.py)
into RESULTS/e2e.md (a table per figure) and the plots RESULTS/e2e_latency.png,
RESULTS/e2e_cold_start.png and RESULTS/e2e_scaling.png.

    /usr/bin/python3 scripts/bench_e2e_report.py RESULTS

Every figure is a median over samples taken in the same run, runtimes interleaved; ratios are
thaw's median over the other runtime's.
"""

import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RUNTIME_LABELS = {"thaw": "thaw", "ort": "ORT", "ort_format": "ORT .ort", "torch": "PyTorch"}
COLORS = {"thaw": "#1b7837", "ort": "#2166ac", "ort_format": "#67a9cf", "torch": "#d6604d"}
MISSING = "–"


def median(values):
    values = list(values)
    return statistics.median(values) if values else None


def samples(records, runtime, cold=None):
    return [r for r in records if r["runtime"] == runtime and (cold is None or r["cold"] == cold)]


def ms(value):
    if value is None:
        return MISSING
    if value < 1:
        return f"{value:.3f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def mb(kilobytes):
    return MISSING if kilobytes is None else f"{kilobytes / 1024:.1f}"


def ratio(numerator, denominator):
    """thaw/other as "1/N" when thaw is smaller (faster, lighter) and "N×" when it is bigger."""
    if numerator is None or denominator is None or numerator <= 0 or denominator <= 0:
        return MISSING
    value = numerator / denominator
    if value >= 1:
        return f"{value:.2f}×"
    inverse = 1 / value
    return f"1/{inverse:.1f}" if inverse < 10 else f"1/{inverse:.0f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


class ModelFigures:
    """The medians one model's rows need, by runtime."""

    def __init__(self, name, data):
        self.name = name
        self.label = data["label"]
        self.runtimes = data["runtimes"]
        self.data = data

    def process(self, runtime, key, cold=False):
        return median(r[key] for r in samples(self.data["process"], runtime, cold))

    def in_process_first_result(self, runtime, cold=False):
        """Model ready + first run inside the process: ORT's figure without Node's start-up."""
        return median(r["model_ready_ms"] + r["first_run_ms"]
                      for r in samples(self.data["process"], runtime, cold))

    def steady(self, runtime, threaded=False):
        records = self.data.get("steady_threaded", []) if threaded else self.data["steady"]
        runs = [t for r in samples(records, runtime) for t in r["runs_ms"]]
        return median(runs), len(runs)

    def steady_threaded_at(self, runtime, placement):
        """The threaded steady state of the processes at `placement`, the worse of the probes
        before and after each ("far" if either said far, else "near" if either said near, else
        "shared_core"): pooled median, and how many processes."""
        def placement_of(record):
            seen = [probe["placement"] for probe in record.get("core_placement", [])]
            return next((p for p in ("far", "near", "shared_core") if p in seen), None)
        records = [r for r in samples(self.data.get("steady_threaded", []), runtime)
                   if placement_of(r) == placement]
        return median(t for r in records for t in r["runs_ms"]), len(records)

    def memory(self, runtime, key):
        return median(r["memory_end"][key] for r in samples(self.data["steady"], runtime))

    def peak(self, runtime):
        return median(r["peak_rss_kb"] for r in samples(self.data["steady"], runtime))


def header_section(meta, versions):
    return (
        "# End-to-end benchmark: thaw vs ONNX Runtime vs PyTorch\n\n"
        f"- Date: {meta['date']}; mode: {meta['mode']} "
        f"(`scripts/bench_e2e.sh{' --quick' if meta['mode'] == 'quick' else ''}`), "
        f"{meta['wall_seconds'] / 60:.1f} min\n"
        f"- CPU: {meta['cpu']}, {meta['cores']} cores (shared with other work: compare ratios "
        "measured in this run, not absolute figures across runs)\n"
        f"- thaw {meta['commit']}, kernels: {meta['thaw_isa']}; "
        f"ONNX Runtime {versions.get('ort', MISSING)} (onnxruntime-node, Node {meta['node']}); "
        f"PyTorch {versions.get('torch', MISSING)} eager (Debian, OPENBLAS_NUM_THREADS=1)\n"
        "- **Threads: 1 for every runtime** in every section but 3b, which measures thaw and ORT "
        "on 1 and on the run's thread count back to back; PyTorch stays on 1 thread.\n"
        "- ORT = `.onnx` file, graph optimisation on. ORT .ort = ORT's fastest load path: a "
        "pre-optimised `.ort` file (saved through `optimizedModelFilePath`) loaded from one "
        "buffer with `session.use_ort_model_bytes_directly=1`, "
        "`session.use_ort_model_bytes_for_initializers=1` (weights used in place too: this one "
        "halves ORT's create time and RSS on large models) and `session.disable_prepacking=1`; "
        "reading the file is included in its create time.\n"
        f"- Repetitions: {meta['settings']['process_rounds']} fresh processes per runtime and "
        f"cache state ({meta['settings']['torch_process_rounds']} for PyTorch), steady state "
        f"{meta['settings']['runs']} timed runs after warm-up "
        f"(fewer, but at least {meta['settings']['min_runs']}, when a runtime needs more than "
        f"{meta['settings']['steady_seconds']} s for them: the count is shown), runtimes "
        "interleaved. Raw samples: `e2e.json`.\n\n")


def model_ready_section(models):
    rows = []
    for m in models:
        thaw = m.process("thaw", "model_ready_ms")
        ort = m.process("ort", "model_ready_ms")
        ort_format = m.process("ort_format", "model_ready_ms")
        torch = m.process("torch", "model_ready_ms") if "torch" in m.runtimes else None
        rows.append([m.label, f"{m.data['file_bytes']['onnx'] / 1e6:.1f}", ms(thaw), ms(ort),
                     ms(ort_format), ms(torch), ratio(thaw, ort), ratio(thaw, ort_format)])
    return ("## 1. Model ready: open + session create (page cache warm)\n\n"
            "thaw: `thaw_model_open` + `thaw_session_create`; ORT: `InferenceSession.create`; "
            "PyTorch: build the module + `load_state_dict(torch.load(...))`. Median over fresh "
            "processes. Target: thaw ≤ 1/100 of ORT on every model, < 1 ms for MobileNetV2 and "
            "ResNet-18.\n\n" +
            table(["model", "ONNX MB", "thaw ms", "ORT ms", "ORT .ort ms", "PyTorch ms",
                   "thaw/ORT", "thaw/ORT .ort"], rows))


def first_result_section(models):
    rows = []
    for m in models:
        for cold in (False, True):
            thaw = m.process("thaw", "start_to_first_result_ms", cold)
            ort_in = m.in_process_first_result("ort", cold)
            ort_format_in = m.in_process_first_result("ort_format", cold)
            torch = (m.process("torch", "start_to_first_result_ms", cold)
                     if "torch" in m.runtimes else None)
            rows.append([m.label, "cold" if cold else "warm", ms(thaw), ms(ort_in),
                         ms(m.process("ort", "start_to_first_result_ms", cold)),
                         ms(ort_format_in),
                         ms(m.process("ort_format", "start_to_first_result_ms", cold)), ms(torch),
                         ratio(thaw, ort_in), ratio(thaw, ort_format_in)])
    return ("## 2. Time to first result in a fresh process\n\n"
            "thaw: exec of the static function binary → first output written. ORT in-process: "
            "`InferenceSession.create` + first `run` inside an already started Node (Node's "
            "own start-up and `require` left out); ORT whole process: exec of `node` → first "
            "output written. PyTorch: exec of `python3` → first output written (includes "
            "`import torch`). Cold: the model file was evicted from the page cache with "
            "`posix_fadvise(POSIX_FADV_DONTNEED)` just before exec (the launcher checks with "
            "`mincore` that none of it stayed resident; the runtimes' own libraries stay "
            "cached). Target: thaw ≤ 1/5 of ORT in-process.\n\n" +
            table(["model", "page cache", "thaw ms", "ORT in-process ms", "ORT whole node ms",
                   "ORT .ort in-process ms", "ORT .ort whole node ms", "PyTorch process ms",
                   "thaw/ORT in-process", "thaw/ORT .ort in-process"], rows))


def steady_section(models):
    rows = []
    for m in models:
        cells = {}
        for runtime in ("thaw", "ort", "ort_format", "torch"):
            value, count = m.steady(runtime) if runtime in m.runtimes else (None, 0)
            cells[runtime] = value
            cells[runtime + "_text"] = MISSING if value is None else f"{ms(value)} ({count})"
        rows.append([m.label, cells["thaw_text"], cells["ort_text"], cells["ort_format_text"],
                     cells["torch_text"], ratio(cells["thaw"], cells["ort"])])
    return ("## 3. Steady-state latency, 1 thread\n\n"
            "Median run time in ms after warm-up (number of timed runs in brackets, pooled "
            "over the steady-state processes).\n\n" +
            table(["model", "thaw", "ORT", "ORT .ort", "PyTorch", "thaw/ORT"], rows))


def threads_section(models, threads):
    rows = []
    for m in models:
        one = {runtime: m.steady(runtime)[0] for runtime in ("thaw", "ort")}
        many = {runtime: m.steady(runtime, threaded=True)[0] for runtime in ("thaw", "ort")}
        by_placement = []
        for placement in ("near", "far"):
            thaw, thaw_count = m.steady_threaded_at("thaw", placement)
            ort, ort_count = m.steady_threaded_at("ort", placement)
            by_placement.append(f"{ratio(thaw, ort)} ({thaw_count}+{ort_count})")
        rows.append([m.label, ms(one["thaw"]), ms(many["thaw"]), ratio(one["thaw"], many["thaw"]),
                     ms(one["ort"]), ms(many["ort"]), ratio(one["ort"], many["ort"]),
                     ratio(many["thaw"], many["ort"])] + by_placement + [same_bytes(m.data)])
    return (f"## 3b. Steady-state latency, {threads} threads\n\n"
            f"Median run time in ms on 1 and on {threads} threads (thaw: "
            "`thaw_session_options.threads`; ORT: `intraOpNumThreads`), each round measuring "
            f"both counts back to back. Targets: thaw 1/{threads} threads ≥ 1.8× on ResNet-18, "
            "the MiniLM-shaped encoder and PP-OCR det, ≥ 1.5× on MobileNetV2, ≥ 1 on the MLP; "
            f"thaw faster than ORT on {threads} threads. On a virtual machine the host moves "
            "the vCPUs between nearby and distant cores from second to second, and every "
            "split node reads what another core wrote: each process on threads is filed by a "
            "cache-line round trip between two threads just before and after it "
            "(`thaw_threads --round-trip`: near under 150 ns, far above; the worse of the "
            "two counts, and a process that saw only the two vCPUs sharing one core counts in "
            "neither column; bench/e2e/README.md), "
            "and the two columns after thaw/ORT compare only the processes of one placement "
            "(how many of thaw's and ORT's in brackets). The last column says whether thaw's "
            f"first output on {threads} threads is the same bytes as on 1 (it must be).\n\n" +
            table(["model", "thaw 1", f"thaw {threads}", "thaw speed-up", "ORT 1",
                   f"ORT {threads}", "ORT speed-up", f"thaw/ORT on {threads}",
                   "cores near", "cores far", "thaw same bytes"], rows))


def same_bytes(data):
    identical = data.get("thaw_threaded_identical")
    return MISSING if identical is None else ("yes" if identical else "**NO**")


def memory_section(models):
    rows = []
    for m in models:
        row = [m.label]
        for runtime in ("thaw", "ort", "ort_format", "torch"):
            if runtime not in m.runtimes:
                row.append(MISSING)
                continue
            row.append(f"{mb(m.peak(runtime))} / {mb(m.memory(runtime, 'anonymous_kb'))} / "
                       f"{mb(m.memory(runtime, 'file_backed_kb'))}")
        row.append(ratio(m.memory("thaw", "anonymous_kb"), m.memory("ort", "anonymous_kb")))
        rows.append(row)
    return ("## 4. Memory: peak RSS / private / file-backed, MB\n\n"
            "Peak RSS is VmHWM; private is smaps_rollup's `Anonymous` (the process's own pages: "
            "heap, arena, copies of weights), file-backed is the rest of `Rss` (model file, "
            "binary and libraries: page-cache pages every process mapping the same files "
            "shares), both read after the steady-state runs. Target: thaw private ≤ 1/4 of "
            "ORT's.\n\n" +
            table(["model", "thaw", "ORT", "ORT .ort", "PyTorch", "private thaw/ORT"], rows))


def size_section(sizes):
    thaw = sizes["thaw_e2e_static"]
    ort = sizes.get("libonnxruntime.so.1")
    rows = [["thaw function (`bench/e2e/thaw_e2e_static`: static, stripped, runs any .thaw)",
             f"{thaw / 1e6:.2f}"]]
    if ort is not None:
        rows.append(["`libonnxruntime.so.1` (onnxruntime-node 1.30, linux-x64)",
                     f"{ort / 1e6:.1f}"])
    if "onnxruntime_binding.node" in sizes:
        rows.append(["`onnxruntime_binding.node` (Node binding, also needed)",
                     f"{sizes['onnxruntime_binding.node'] / 1e6:.2f}"])
    return ("## 5. Deployable binary size\n\n"
            f"`file`: {sizes['thaw_e2e_static_linkage'].split(', BuildID')[0]}. Target: ≤ 2 MB "
            "without the model. thaw/ORT library: "
            f"{ratio(thaw, ort)}.\n\n" + table(["file", "MB"], rows))


def agreement(m):
    figures = m.data["agreement"]
    if figures["max_abs_diff"] is None:
        return f"sizes differ: {figures['elements']}"
    return (f"{figures['max_abs_diff']:.2e} (max \\|ORT\\| {figures['max_abs_ort']:.2g}, "
            f"{figures['elements']} values)")


def conversion_section(models):
    rows = [[m.label, f"{m.data['file_bytes']['onnx'] / 1e6:.2f}",
             f"{m.data['file_bytes']['thaw'] / 1e6:.2f}",
             f"{m.data['file_bytes']['ort'] / 1e6:.2f}", f"{m.data['convert_seconds']:.2f}",
             agreement(m)]
            for m in models]
    return ("## Files and output check\n\n"
            "The last column compares thaw's first output with ORT's on the same inputs "
            "(max absolute difference): the timed kernels compute the right thing.\n\n" +
            table(["model", ".onnx MB", ".thaw MB", ".ort MB", "thaw convert s",
                   "thaw vs ORT output"], rows))


def verdict(pairs, limit):
    """Which (label, thaw, other) pairs meet thaw/other <= limit."""
    met = [label for label, thaw, other in pairs
           if thaw is not None and other and thaw / other <= limit]
    missed = [f"{label} ({ratio(thaw, other)})" for label, thaw, other in pairs
              if thaw is None or not other or thaw / other > limit]
    if not missed:
        return f"**met** on all {len(met)} models"
    return f"**missed** on {', '.join(missed)}; met on {len(met)} of {len(pairs)}"


def targets_section(models, sizes):
    def against(ort_runtime, figure):
        return [(m.label, figure(m, "thaw"), figure(m, ort_runtime)) for m in models]

    def ready(m, runtime):
        return m.process(runtime, "model_ready_ms")

    def first(m, runtime):
        if runtime == "thaw":
            return m.process("thaw", "start_to_first_result_ms")
        return m.in_process_first_result(runtime)

    def private(m, runtime):
        return m.memory(runtime, "anonymous_kb")

    absolute = [f"{m.label} {ms(ready(m, 'thaw'))} ms" for m in models
                if m.name in ("mobilenet_v2", "resnet18")]
    lines = []
    for text, figure, limit in (("Model ready ≤ 1/100 of ORT session create", ready, 0.01),
                                ("Time to first result in a fresh process (warm) ≤ 1/5 of ORT's "
                                 "in-process create + first run", first, 0.2),
                                ("Peak private RSS ≤ 1/4 of ORT's", private, 0.25)):
        lines.append(f"- {text}: against ORT {verdict(against('ort', figure), limit)}; against "
                     f"ORT .ort {verdict(against('ort_format', figure), limit)}.")
    lines[0] += f" Under 1 ms absolute: {', '.join(absolute) or MISSING}."
    binary = sizes["thaw_e2e_static"]
    lines.append(f"- Static function binary ≤ 2 MB: {binary / 1e6:.2f} MB, "
                 f"**{'met' if binary <= 2e6 else 'missed'}**.")
    return ("## Targets (issue 5), thaw / ONNX Runtime in this run\n\n" + "\n".join(lines) +
            "\n")


def scaling_section(scaling):
    rows = []
    for entry in scaling:
        row = [f"{entry['megabytes']} ({entry['layers']}×{entry['width']}²)"]
        for runtime in ("thaw", "ort", "ort_format"):
            records = samples(entry["samples"], runtime)
            row.append(f"{ms(median(r['model_ready_ms'] for r in records))} / "
                       f"{mb(median(r['memory_ready']['rss_kb'] for r in records))} / "
                       f"{mb(median(r['memory_ready']['anonymous_kb'] for r in records))}")
        rows.append(row)
    return ("## Scaling with model size\n\n"
            "Synthetic MLPs with the same 4 MatMul+Add+Relu layers and growing width, file in "
            "the page cache. Each cell: model-ready ms / RSS MB / private MB, RSS read right "
            "after model ready (before the first run touches the weights). Median of fresh "
            "processes.\n\n" +
            table(["model MB", "thaw", "ORT", "ORT .ort"], rows))


def failure_section(failures):
    if not failures:
        return ""
    lines = [f"- **{name}**: `{message.splitlines()[0]}`" for name, message in failures.items()]
    return "## Not measured\n\n" + "\n".join(lines) + "\n"


def plot_latency(models, path):
    figure, axis = plt.subplots(figsize=(11, 4.5))
    runtimes = ("thaw", "ort", "ort_format", "torch")
    width = 0.2
    for index, runtime in enumerate(runtimes):
        values = [m.steady(runtime)[0] if runtime in m.runtimes else None for m in models]
        positions = [i + (index - 1.5) * width for i in range(len(models))]
        axis.bar([p for p, v in zip(positions, values) if v is not None],
                 [v for v in values if v is not None], width, label=RUNTIME_LABELS[runtime],
                 color=COLORS[runtime])
    axis.set_yscale("log")
    axis.set_ylabel("steady-state median latency, ms (log)")
    axis.set_xticks(range(len(models)))
    axis.set_xticklabels([m.label.replace(", ", "\n") for m in models], fontsize=8)
    axis.set_title("Steady-state latency per model, 1 thread (lower is better)")
    axis.legend()
    axis.grid(axis="y", which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_cold_start(models, path):
    """Per model, one bar per runtime and cache state: process start → main → model ready →
    first result written."""
    rows = len(models)
    legend_inches = 0.45
    height = 1.9 * rows + legend_inches
    figure, axes = plt.subplots(rows, 1, figsize=(11, height), squeeze=False)
    phases = (("start_to_main_ms", "process start → main/script", "#bdbdbd"),
              ("main_to_ready", "main → model ready", "#756bb1"),
              ("ready_to_result", "model ready → first result written", "#fd8d3c"))
    for axis, m in zip(axes[:, 0], models):
        labels, bars = [], []
        for runtime in m.runtimes:
            for cold in (False, True):
                records = samples(m.data["process"], runtime, cold)
                start = median(r["start_to_main_ms"] for r in records)
                ready = median(r["start_to_ready_ms"] for r in records)
                result = median(r["start_to_first_result_ms"] for r in records)
                labels.append(f"{RUNTIME_LABELS[runtime]} {'cold' if cold else 'warm'}")
                bars.append((start, ready - start, result - ready, result))
        positions = range(len(bars))
        left = [0.0] * len(bars)
        for phase_index, (_, name, color) in enumerate(phases):
            widths = [bar[phase_index] for bar in bars]
            axis.barh(positions, widths, left=left, color=color, label=name)
            left = [a + b for a, b in zip(left, widths)]
        for position, bar in zip(positions, bars):
            axis.text(bar[3], position, f" {ms(bar[3])} ms", va="center", fontsize=7)
        axis.set_yticks(list(positions))
        axis.set_yticklabels(labels, fontsize=7)
        axis.invert_yaxis()
        axis.set_title(m.label, fontsize=9, loc="left")
        axis.set_xlim(0, max(bar[3] for bar in bars) * 1.18)
    handles, names = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, names, loc="upper center", ncol=3, fontsize=8)
    axes[-1, 0].set_xlabel("ms since exec (median of fresh processes)")
    figure.tight_layout(rect=(0, 0, 1, 1 - legend_inches / height))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_scaling(scaling, path):
    figure, (ready_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    sizes = [entry["megabytes"] for entry in scaling]
    for runtime in ("thaw", "ort", "ort_format"):
        per_size = [samples(entry["samples"], runtime) for entry in scaling]
        ready_axis.plot(sizes, [median(r["model_ready_ms"] for r in records)
                                for records in per_size],
                        marker="o", color=COLORS[runtime], label=RUNTIME_LABELS[runtime])
        memory_axis.plot(sizes, [median(r["memory_ready"]["rss_kb"] for r in records) / 1024
                                 for records in per_size],
                         marker="o", color=COLORS[runtime], label=f"{RUNTIME_LABELS[runtime]} RSS")
        memory_axis.plot(sizes, [median(r["memory_ready"]["anonymous_kb"] for r in records) / 1024
                                 for records in per_size],
                         marker="x", linestyle="--", color=COLORS[runtime],
                         label=f"{RUNTIME_LABELS[runtime]} private")
    for axis in (ready_axis, memory_axis):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("model size, MB (log)")
        axis.grid(which="both", alpha=0.3)
        axis.legend(fontsize=8)
    ready_axis.set_ylabel("model ready (open + session), ms (log)")
    ready_axis.set_title("Model-ready time vs model size")
    memory_axis.set_ylabel("MB at model ready (log)")
    memory_axis.set_title("Resident memory right after model ready")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench_e2e_report.py RESULTS_DIR")
    results = sys.argv[1]
    with open(os.path.join(results, "e2e.json")) as source:
        report = json.load(source)
    models = [ModelFigures(name, data) for name, data in report["models"].items()]
    versions = {record["runtime"]: record["version"]
                for m in models for record in m.data["process"] if "version" in record}
    sections = [header_section(report["meta"], versions)]
    if models:
        sections += [targets_section(models, report["binary_sizes"]),
                     model_ready_section(models), first_result_section(models),
                     steady_section(models)]
        threads = report["meta"].get("threaded_steady_threads", 1)
        if threads > 1:
            sections.append(threads_section(models, threads))
        sections.append(memory_section(models))
    sections.append(size_section(report["binary_sizes"]))
    if report.get("scaling"):
        sections.append(scaling_section(report["scaling"]))
    if models:
        sections.append(conversion_section(models))
    sections.append(failure_section(report["failures"]))
    plots = []
    if models:
        plot_latency(models, os.path.join(results, "e2e_latency.png"))
        plot_cold_start(models, os.path.join(results, "e2e_cold_start.png"))
        plots += ["e2e_latency.png", "e2e_cold_start.png"]
    if report.get("scaling"):
        plot_scaling(report["scaling"], os.path.join(results, "e2e_scaling.png"))
        plots.append("e2e_scaling.png")
    sections.append("## Plots\n\n" + "\n".join(f"![{p}]({p})" for p in plots) + "\n")
    with open(os.path.join(results, "e2e.md"), "w") as out:
        out.write("\n".join(sections))
    print(f"wrote {os.path.join(results, 'e2e.md')} and {len(plots)} plots")


if __name__ == "__main__":
    main()
