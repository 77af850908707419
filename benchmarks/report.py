"""The suite's outputs: `benchmarks.json`, a Markdown block (`benchmarks.md`) and the plots.

`python -m benchmarks.report` re-renders the Markdown and plots from an existing JSON file and
prints the block, with image paths as a page at the repository root needs them
(`--image-prefix docs/results/`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks import gpu, runtimes
from mnist_tfjs.files import atomic_path, write_json

JSON_NAME = "benchmarks.json"
MARKDOWN_NAME = "benchmarks.md"
CURVES_PNG = "training_curves.png"
LATENCY_PNG = "browser_latency.png"


def merge_results(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """`current`, plus the sections of `previous` this run did not measure (same smoke setting only)."""
    if not previous or previous.get("smoke") != current.get("smoke"):
        return current
    sections = {**previous.get("sections", {}), **current.get("sections", {})}
    return {**current, "sections": sections}


def load_json(path: Path) -> dict[str, Any] | None:
    """The results in `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- formatting


def pct(value: float | None, digits: int = 2) -> str:
    """0.9912 -> '99.12%'; None -> 'n/a'."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def size(value: int | None) -> str:
    """Bytes as KiB or MiB."""
    if value is None:
        return "n/a"
    if value >= 1024 * 1024:
        return f"{value / 1024 / 1024:.2f} MiB"
    return f"{value / 1024:.1f} KiB"


def ms(value: float | None) -> str:
    """Milliseconds with sensible precision."""
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 1:
        return f"{value:.1f} ms"
    return f"{value:.3f} ms"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------- sections


def _eval_times(fig: dict[str, Any]) -> str:
    per_epoch = fig.get("evals_per_epoch", 1)
    return "after every epoch" if per_epoch == 1 else f"{per_epoch} times an epoch and at the end"


def _training(fig: dict[str, Any], prefix: str) -> list[str]:
    target = fig["target"]
    rows = []
    for run in fig["runs"]:
        reached = f"**{run['seconds_to_target']:.1f} s** (step {run['step_at_target']:,})" \
            if run["seconds_to_target"] is not None else f"never (best {pct(run['best_accuracy'])})"
        epochs = f"{run['epochs']} epoch{'s' * (run['epochs'] != 1)}"
        budget = f"{run['steps']:,} steps" if run["name"] == "tutorial_mlp" else epochs
        rows.append([run["label"], f"{run['params']:,}", str(run["batch_size"]), budget, reached,
                     pct(run["best_accuracy"]), pct(run["final_accuracy"]), f"{run['images_per_s']:,.0f}",
                     f"{run['train_seconds']:.1f} s"])
    seeds = fig.get("quick_seeds")
    scope = (f"The quick preset once per seed ({', '.join(map(str, seeds['seeds']))}), the others once, "
             if seeds else "One run each, ")
    lines = [f"#### Training: time to {pct(target, 1)} test accuracy", "",
             f"{scope}one after the other, on {fig['device']}; "
             f"{fig['train_images']:,} training images; test accuracy on {fig['test_digits']:,} digits "
             f"measured {_eval_times(fig)} (every {fig.get('mlp_eval_every', 100)} steps for the MLP) with "
             "the evaluation time kept off "
             "the training clock.", ""]
    lines += table(["model", "parameters", "batch", "budget", f"time to {pct(target, 1)}", "best", "final",
                    "images/s", "training time"], rows)
    if seeds:
        acc, secs, reach = seeds["final_accuracy"], seeds["train_seconds"], seeds["seconds_to_target"]
        count = len(seeds["seeds"])
        if reach["median"] is None:
            to_target = f"reached {pct(target, 1)} in only {reach['reached']} of {count} seeds"
        elif reach["max"] is None:
            to_target = (f"reached {pct(target, 1)} after a median **{reach['median']:.1f} s** "
                         f"({reach['reached']} of {count} seeds reached it)")
        else:
            to_target = (f"reached {pct(target, 1)} after a median **{reach['median']:.1f} s** "
                         f"(range {reach['min']:.1f}-{reach['max']:.1f} s)")
        lines += ["", f"Quick preset over {count} seeds: final test accuracy median **{pct(acc['median'])}** "
                  f"(range {pct(acc['min'])}-{pct(acc['max'])}), training time median "
                  f"**{secs['median']:.1f} s** (range {secs['min']:.1f}-{secs['max']:.1f} s); {to_target}."]
    speedup = fig.get("speedup_vs_keras_example")
    if speedup:
        whose = "The quick preset (median of its seeds)" if seeds else "The quick preset"
        lines += ["", f"{whose} reaches {pct(target, 1)} **{speedup:.2f}x** sooner than the Keras "
                  "example convnet (one run)."]
    lines += ["", f"![Test accuracy against training time]({prefix}{CURVES_PNG})"]
    return lines


def _export(fig: dict[str, Any]) -> list[str]:
    rows = [[f"`{row['quantization']}`", f"{row['wall_s']:.1f} s", size(row["download_bytes"]),
             pct(row["tfjs_accuracy"]), pct(row["keras_accuracy"]),
             "n/a" if row["agreement"] is None else pct(row["agreement"]),
             "pass" if row["passed"] else f"FAIL: {row['error']}"] for row in fig["rows"]]
    lines = ["#### Export to TF.js", "",
             f"Model: {fig.get('model_source') or fig['model']}; accuracy of the exported model run by "
             f"TF.js in Node.js on {fig['digits']:,} MNIST test digits. Wall time includes that check "
             f"(the converter's one-time import, {fig['converter_import_s']:.1f} s, is not in any row).", ""]
    return lines + table(["quantization", "wall time", "download", "TF.js accuracy", "Keras accuracy",
                          "argmax agreement", "parity check"], rows)


def _latency_cell(rows: list[dict[str, Any]], variant: str, batch: int) -> str:
    row = next((r for r in rows if r["variant"] == variant and r["batch"] == batch), None)
    if row is None:
        return "n/a"
    if not row["available"]:
        return "unavailable"
    return f"{ms(row['p50_ms_per_digit'])} / {ms(row['p95_ms_per_digit'])}"


def _browser(fig: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    for key, label in fig["variants"].items():
        ready = fig["ready"].get(key, {})
        rows.append([label, f"`{ready.get('described', 'n/a')}`", ms(ready.get("ready_ms_median")),
                     size(ready.get("first_load_bytes")), _latency_cell(fig["latency"], key, 1),
                     _latency_cell(fig["latency"], key, 100)])
    plan = fig.get("plan", {})
    lines = ["#### In the browser (headless Chromium)", "",
             f"{fig.get('chromium', 'Chromium')}, headless; webgl renders with "
             f"`{fig.get('webgl_renderer')}`; `navigator.hardwareConcurrency` = "
             f"{fig.get('hardware_concurrency')}. Open to ready: from navigation start until the model is "
             f"loaded and warmed up, median of {plan.get('ready_runs', '?')} fresh pages (empty cache). "
             f"First load: bytes received until ready ({fig.get('bytes_method', '')}). Latency: the "
             "model on random images after warm-up, per digit; "
             f"{plan.get('batch1_runs', '?')} timed calls at batch 1, up to {plan.get('batch100_runs', '?')} "
             f"at batch 100 (as many as fit in {plan.get('batch100_budget_s', '?')} s).", ""]
    lines += table(["backend", "reported by the page", "open → ready", "first load",
                    "p50 / p95 per digit, batch 1", "p50 / p95 per digit, batch 100"], rows)
    return [*lines, "", f"![Latency per digit by backend]({prefix}{LATENCY_PNG})"]


def _robustness(fig: dict[str, Any]) -> list[str]:
    lines = ["#### Drawing robustness", ""]
    for name, model in fig["models"].items():
        which = (str(fig.get("model") or name).removeprefix("--model ") if name == "benchmarked"
                 else "the default model (artifacts/web_model)")
        if len(fig["models"]) > 1:
            lines += [f"**Model: {which}**", ""]
        trusted = sum(r.get("trusted", 0) for r in model["families"])
        same = sum(r.get("trusted_same", 0) for r in model["families"])
        lines += [f"MNIST test digits traced as strokes and drawn on the {model['pad_side']} px pad "
                  "as pointer events dispatched in the page (a sample drawn again with trusted events from "
                  f"Chrome's input pipeline read the same in {same} of {trusted}), "
                  f"{model['per_family']:,} different digits per family and "
                  f"pointer (seed {fig['seed']}), read by the page ({model['backend']}); "
                  f"model: {which or name}. "
                  "A digit counts as right when the page shows that one digit. Unsure: right digits the page "
                  "flagged as unsure / wrong ones it flagged.", ""]
        by = {(r["family"], r["pointer"]): r for r in model["families"]}
        families = list(dict.fromkeys(r["family"] for r in model["families"]))
        pointers = [p for p in ("mouse", "touch") if any(k[1] == p for k in by)]
        rows = []
        for family in families:
            row = [family]
            for pointer in pointers:
                r = by.get((family, pointer))
                row.append(f"{pct(r['accuracy'])} ({pct(r['flagged_correct'])} / {pct(r['flagged_wrong'])})"
                           if r else "-")
            rows.append(row)
        overall = ["**overall**"]
        for pointer in pointers:
            o = model["overall"][pointer]
            overall.append(f"**{pct(o['accuracy'])}** ({pct(o['flagged_correct'])} of right ones flagged)")
        rows.append(overall)
        lines += table(["family", *[f"{p} (unsure: right / wrong)" for p in pointers]], rows)
        reference = model.get("reference")
        if reference:
            lines += ["", f"The same {reference['digits']:,} tracings drawn plainly (65% of the pad, "
                      f"centred, steady mouse) read at {pct(reference['accuracy'])}: the ceiling the tracing "
                      "and the model set for every family"
                      + (f"; the page reads one in {reference['read_ms']:.2f} ms (median, `readPad`)"
                         if "read_ms" in reference else "") + "."]
        numbers = model.get("numbers", {})
        if numbers:
            parts = [f"{count} digits **{pct(n['exact'])}** of {n['numbers']}"
                     + (f" (split right, every digit its own strokes, **{pct(n['split'])}**; into {count} "
                        f"digits {pct(n['grouped'])}; every digit readable alone in {pct(n['readable'])}, "
                        f"{pct(n['exact_of_readable'])} of those read exactly"
                        + (f"; median read {n['read_ms']:.2f} ms" if "read_ms" in n else "") + ")"
                        if "split" in n else "")
                     for count, n in numbers.items()]
            lines += ["", "Numbers as people write them (benchmarks/numbers.py: each digit decomposed into "
                      "strokes its own way, slanted baseline, neighbours spaced, touching or overlapping; "
                      "mouse), read exactly: " + "; ".join(parts) + "."]
        noise = model.get("noise", {})
        if noise:
            scrawl, dots = noise["scribble"], noise["dot"]
            lines += ["", f"Not digits, flagged unsure: scribbles {pct(scrawl['flagged'])} "
                      f"of {scrawl['drawn']}, dots {pct(dots['flagged'])} of {dots['drawn']}."]
        painted = model.get("painted")
        if painted:
            lines += ["", f"The first {painted['digits']:,} test digits painted on the pad as images (40-95% "
                      "of the pad, random position and stroke width) and read from its pixels: "
                      f"**{pct(painted['page'])}** with the page's MNIST preprocessing, "
                      f"{pct(painted['naive'])} with a naive whole-pad resize ({pct(painted['as_given'])} "
                      "as given)."]
        lines.append("")
    return lines[:-1]


def _server(fig: dict[str, Any]) -> list[str]:
    rows = [[f"{row['name']} `{row['path']}`", size(row.get("response_bytes")),
             f"{row['requests_per_s']:,.1f}", f"{row['requests']:,}", str(row["non_2xx"]),
             str(row["socket_errors"]), ms(row["latency_p50_ms"]), ms(row["latency_p99_ms"])]
            for row in fig["rows"]]
    seconds = sorted({row["seconds"] for row in fig["rows"]})
    lines = ["#### Server", "",
             f"`python -m web` (waitress, {fig['threads']} threads) under `{fig['tool']}` load on 127.0.0.1: "
             f"{fig['connections']} keep-alive connections, {' / '.join(f'{s:g}' for s in seconds)} s "
             "per target, one target at a time.", ""]
    lines += table(["target", "response body", "requests/s", "requests", "non-2xx", "socket errors", "p50",
                    "p99"], rows)
    mib = {k: (fig.get(k) or 0) / 1024 for k in ("rss_before_kib", "rss_after_kib", "rss_peak_kib")}
    return [*lines, "", f"Server memory (resident): {mib['rss_before_kib']:.0f} MiB after warm-up, "
            f"{mib['rss_after_kib']:.0f} MiB after the load (peak {mib['rss_peak_kib']:.0f} MiB)."]


def _zoo(fig: dict[str, Any]) -> list[str]:
    from benchmarks.zoo import ROUTES, verdict_of

    def diff(value: float | None) -> str:
        return "-" if value is None else f"{value:.1e}"

    rows = [[f"`{row['model']}`", row["route"], "yes" if row["converts"] else "**no**",
             "yes" if row["loads"] else ("**no**" if row["converts"] else "-"),
             "yes" if row["runs"] else ("**no**" if row["loads"] else "-"),
             f"**{verdict_of(row)}**" if row["correct"] else verdict_of(row),
             diff(row["relative_diff"]), "-" if row["agreement"] is None else pct(row["agreement"]),
             size(row["bytes"]), ms(row["node_wasm_ms"]), ms(row["chromium_wasm_ms"]),
             ms(row["chromium_webgl_ms"])] for row in fig["rows"]]
    totals = ", ".join(f"{route}: **{fig['correct'][route]} of {fig['models']}**" for route in ROUTES)
    by_model: dict[str, dict[str, str]] = {}
    for row in fig["rows"]:
        verdict = verdict_of(row)
        by_model.setdefault(row["model"], {})[row["route"]] = (
            f"**{verdict}** ({diff(row['relative_diff'])})" if row["correct"] else verdict)
    summary = [[f"`{model}`", *(cells.get(route, "-") for route in ROUTES)]
               for model, cells in by_model.items()]
    lines = ["#### The zoo: this exporter against the official converter's routes", "",
             f"{fig['models']} Keras 3 architectures (`harness/zoo_models.py`), {fig['samples']} "
             f"generated samples each, compared with Keras by `export/proof.js` under the unquantized "
             f"thresholds (max |Δ| ≤ 1e-4 of the output's scale; argmax agreement 100% for classifiers). "
             f"Milliseconds per call of {fig['batch']} samples. Correct: {totals}.", ""]
    lines += table(["model", *ROUTES], summary)
    lines += ["", "Every route and figure (max relative |Δ| over the outputs on Node wasm; ms per call):", ""]
    return lines + table(["model", "route", "converts", "loads", "runs", "result", "max rel. |Δ|",
                          "agreement", "download", "Node wasm", "Chromium wasm", "Chromium webgl"], rows)


def _gb(value: int | None) -> str:
    return "n/a" if not value else f"{value / 1e9:.2f} GB"


def _samples_cell(samples: dict[str, int | None]) -> str:
    """{"node wasm": 256, "node cpu": 40, "browser wasm": 256} -> 'Node wasm 256, cpu 40; Chromium
    wasm 256'."""
    groups: dict[str, list[str]] = {}
    for name, count in samples.items():
        where, _, backend = name.partition(" ")
        groups.setdefault(where, []).append(f"{backend} {'?' if count is None else count}")
    titles = {"node": "Node", "browser": "Chromium"}
    cells = [f"{titles.get(where, where)} {', '.join(counts)}" for where, counts in groups.items()]
    return "; ".join(cells) or "-"


def _apps_goal(row: dict[str, Any]) -> str:
    seconds = f"≤ {row['goal_s']:g} s, " if row.get("goal_s") is not None else ""
    goal = f"{seconds}≤ {_gb(row['goal_peak_bytes'])}"
    return f"{goal}: **met**" if row["meets_goal"] else f"{goal}: missed ({'; '.join(row['goal_misses'])})"


def _apps_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Each row's note, or one for all where every row has the same."""
    notes = [row["note"] for row in rows if row.get("note")]
    if len(notes) == len(rows) and len(set(notes)) == 1:
        return [f"Every row: {notes[0]}"]
    return [f"{row['model']}: {row['note']}" for row in rows if row.get("note")]


def _apps(fig: dict[str, Any]) -> list[str]:
    from benchmarks.apps import rounding_note

    rows = []
    for row in fig["rows"]:
        verdict = f"**{row['verdict']}**" if row["verdict"] == "PASS" else f"{row['verdict']}: {row['error']}"
        verdict += rounding_note(row)
        first = row.get("first_divergence") or {}
        if first.get("layer"):
            verdict += (f" (first divergence: layer {first['layer']} {first['layer_class']}, "
                        f"{first['relative_diff']:.1e} of its scale, "
                        f"inputs {first['inputs_relative_diff']:.0e})")
        largest = row.get("largest_shard_bytes")
        webgpu = row.get("webgpu") or {}
        gpu = " / ".join(f"{name} {verdict}" for name, verdict in webgpu.items() if verdict) or "-"
        rows.append([row["model"], f"{row['parameters'] / 1e6:.1f}M", f"{row['export_s']:.0f} s",
                     f"{_gb(row['peak_tree_bytes'])} ({_gb(row.get('peak_tree_pss_bytes'))} PSS) / "
                     f"{row['peak_process']} {_gb(row['peak_process_bytes'])}",
                     size(row["download_bytes"]),
                     "-" if not row["shards"] else f"{row['shards']} (largest {size(largest)})",
                     _samples_cell(row["samples"]), gpu, verdict, _apps_goal(row)])
    budgets = {(row.get("proof") or {}).get("budget_s") for row in fig["rows"]} - {None}
    budget = (f" Each backend compares samples for at most {', '.join(f'{b:g}' for b in sorted(budgets))} s "
              "(the exporter's default), so slow backends prove fewer samples." if budgets else "")
    notes = _apps_notes(fig["rows"])
    version = f" {fig['keras_hub']}" if fig.get("keras_hub") else ""
    built = (f"keras-hub{version}'s backbone classes at a small random configuration, `hub_backbone`: the "
             "constructor arguments of `HUB_SMALL` and `HUB_CONFIGS`, kernels initialized to zeros made "
             "random; a class that does not build is a row that says why" if fig.get("hub") else
             "`keras.applications` with `weights=None`")
    lines = [f"#### {'keras-hub backbones' if fig.get('hub') else 'Application-size networks'} through the "
             "exporter", "",
             f"`{fig['command']}` at its defaults (Node.js and headless Chromium proofs), run as a "
             "user runs it from a temporary folder, after the model was built and saved "
             f"(`benchmarks/app_models.py`: {built}; BatchNorm "
             "statistics set from the exporter's own input distribution so that the outputs vary). "
             f"{fig['passed']} of {fig['models']} passed, {fig['goals_met']} met their goals. Export: "
             f"wall time from command to published folder (limit {fig['timeout_s']} s). Peak memory: "
             "the export's process tree (Python, Node.js, Chromium), RSS summed over the tree every "
             f"{fig['memory_sample_s']:g} s (in brackets PSS, which counts shared pages once) / its "
             f"largest single process, the export process itself, on which the 2.5 GB goal is judged. "
             f"Samples: those each backend compared with Keras.{budget} WebGPU: TF.js webgpu and "
             "LiteRT.js webgpu (with --litert) on the browser's adapter; on a machine without a GPU, "
             "Chromium's software adapter, whose timings say nothing of a GPU.", ""]
    lines += table(["model", "parameters", "export", "peak memory: tree / largest process", "download",
                    "weight shards", "samples per backend", "WebGPU", "verdict", "goal"], rows)
    return lines + (["", "; ".join(notes) + "."] if notes else [])


def render_markdown(results: dict[str, Any], image_prefix: str = "") -> str:
    """The results as a Markdown block (a heading per section, tables, plots under `image_prefix`)."""
    machine = results["machine"]
    sections = results.get("sections", {})
    minutes = sum(fig.get("section_seconds", 0) for fig in sections.values()) / 60
    lines = ["### Benchmark results", "",
             f"Measured {results['date'][:10]} with `make bench` (`python -m benchmarks`) on "
             f"{machine['cpu']} ({machine['logical_cpus']} logical CPUs, {machine['memory_gib']} GiB RAM), "
             f"{machine['os']}; Python {machine['python']}, TensorFlow {machine['tensorflow']}, "
             f"TF.js {machine['tfjs']}. The sections took {minutes:.1f} min in all."]
    if results.get("smoke"):
        lines += ["", "**Smoke run (tiny settings): these figures only show that the suite works.**"]
    renderers = {"training": lambda f: _training(f, image_prefix), "export": _export,
                 "browser": lambda f: _browser(f, image_prefix), "robustness": _robustness, "server": _server,
                 "zoo": _zoo, "apps": _apps, "runtimes": runtimes.markdown, "gpu": gpu.markdown}
    for name, render in renderers.items():
        if name in sections:
            lines += ["", *render(sections[name])]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- plots


def plot_training(fig: dict[str, Any], path: Path) -> None:
    """Test accuracy against training seconds, one line per contender, with the target line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(8, 4.8))
    for run in fig["runs"]:
        xs = [p["seconds"] for p in run["curve"]]
        ys = [p["accuracy"] for p in run["curve"]]
        ax.plot(xs, ys, marker="o", markersize=3, label=f"{run['label']} ({run['params']:,} params)")
    ax.axhline(fig["target"], color="grey", linestyle="--", linewidth=1,
               label=f"{pct(fig['target'], 1)} target")
    lows = [p["accuracy"] for run in fig["runs"] for p in run["curve"]]
    ax.set_ylim(max(0.0, min(0.95, min(lows) - 0.005)) if lows else 0.9, 1.0)
    ax.set_xlim(left=0)
    ax.set_xlabel("training time (s, evaluation excluded)")
    ax.set_ylabel("MNIST test accuracy")
    ax.set_title(f"Test accuracy against training time ({fig['device']})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_latency(fig: dict[str, Any], path: Path) -> None:
    """Per-digit p50 latency (bars) and p95 (whiskers) per backend, batch 1 vs batch 100, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(fig["variants"])
    figure, ax = plt.subplots(figsize=(8, 4.4))
    width = 0.38
    for offset, batch in ((-width / 2, 1), (width / 2, 100)):
        p50, p95, xs = [], [], []
        for i, key in enumerate(variants):
            row = next((r for r in fig["latency"] if r["variant"] == key and r["batch"] == batch), None)
            if row and row["available"]:
                xs.append(i + offset)
                p50.append(row["p50_ms_per_digit"])
                p95.append(row["p95_ms_per_digit"])
        bars = ax.bar(xs, p50, width, label=f"batch {batch}: p50 (whisker: p95)",
                      yerr=[[0] * len(p50), [hi - lo for lo, hi in zip(p50, p95, strict=True)]], capsize=3)
        ax.bar_label(bars, labels=[ms(v) for v in p50], fontsize=7, padding=2)
    ax.set_yscale("log")
    ax.set_xticks(range(len(variants)), [fig["variants"][k].split(" (")[0] for k in variants], fontsize=8)
    ax.set_ylabel("ms per digit (log scale)")
    ax.set_title("TF.js latency per digit in headless Chromium", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_outputs(results: dict[str, Any], out: Path) -> list[Path]:
    """Write benchmarks.json, benchmarks.md and the plots into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    sections = results.get("sections", {})
    if "training" in sections:
        plot_training(sections["training"], out / CURVES_PNG)
        written.append(out / CURVES_PNG)
    if "browser" in sections:
        plot_latency(sections["browser"], out / LATENCY_PNG)
        written.append(out / LATENCY_PNG)
    write_json(out / JSON_NAME, results)
    with atomic_path(out / MARKDOWN_NAME) as tmp:
        tmp.write_text(render_markdown(results), encoding="utf-8")
    return [out / JSON_NAME, out / MARKDOWN_NAME, *written]


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.report`: print the Markdown block from a results file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path("docs") / "results" / JSON_NAME,
                        help="results (default: %(default)s)")
    parser.add_argument("--image-prefix", default="docs/results/",
                        help="path prefix of the plots as seen from the page the block goes in "
                             "(default: %(default)s, for the repository root)")
    parser.add_argument("--replot", action="store_true",
                        help="also redraw the plots and benchmarks.md beside the JSON")
    args = parser.parse_args(argv)
    results = load_json(args.json)
    if results is None:
        print(f"error: no readable results at {args.json}; run `python -m benchmarks` first", file=sys.stderr)
        return 2
    if args.replot:
        write_outputs(results, args.json.parent)
    print(render_markdown(results, args.image_prefix), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
