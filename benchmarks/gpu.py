"""Training where the accelerator is: `python -m train` per preset and seed, each in its own process as
a user runs it, on the Keras backend KERAS_BACKEND names (JAX when unset). Runs where only that
backend and this project are installed: it imports neither TensorFlow nor tensorflowjs and needs no
Node.js (the runs it starts are plain `python -m train`).

Per preset: test accuracy (median of the seeds), seconds to 99% validation accuracy (with and without
compiling), compile seconds with an empty and with a warm compilation cache, the steady epoch and
images/s, and the wall time from process start to model.keras written, cold (empty compilation
cache) and warm (the cache the cold run filled). Plus the host's share of a steady training step:
what the loop does on the host for each batch, against the step's time."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Bench, BenchError, say, section_banner
from mnist_tfjs.paths import REPO_ROOT

DEFAULT_BACKEND = "jax"


@dataclass(frozen=True)
class Plan:
    """Which presets train, with which seeds, and any extra `python -m train` options."""

    presets: tuple[str, ...]
    seeds: tuple[int, ...]
    extra: tuple[str, ...] = ()


FULL = Plan(presets=("quick", "best"), seeds=(42, 43, 44))
# Seconds on a CPU: the quick preset's convnet and augmentation on 1,024 images, twice.
SMOKE = Plan(presets=("quick",), seeds=(42,),
             extra=("--epochs", "2", "--train-limit", "1024", "--batch-size", "128"))


def train_once(preset: str, seed: int, cache: Path, out: Path, plan: Plan, backend: str) -> dict[str, Any]:
    """One `python -m train` run in a fresh process; its metrics plus the wall seconds from process
    start to model.keras written (the file's modification time) and to the process's end."""
    command = [sys.executable, "-m", "train", "--preset", preset, "--seed", str(seed), "--out", str(out),
               "--compile-cache", str(cache), *plan.extra]
    started = time.time()
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, "KERAS_BACKEND": backend}, check=False)
    ended = time.time()
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BenchError(f"python -m train --preset {preset} --seed {seed} failed: {last}")
    metrics = json.loads((out / "metrics.json").read_text())
    return {**metrics, "wall_to_model_s": round((out / "model.keras").stat().st_mtime - started, 2),
            "wall_s": round(ended - started, 2)}


def host_feed_ms(batch_size: int, images: int = 55_000) -> dict[str, float]:
    """Milliseconds of host work per training batch, as the loop does it: slicing one batch from the
    epoch's shuffled copy and, on JAX, handing it to the device (block_until_ready: the copy is done);
    and, apart, the epoch's gather of that copy spread over its batches."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((images, 28, 28, 1), dtype=np.float32)
    steps = images // batch_size
    started = time.perf_counter()
    shuffled = x[rng.permutation(images)[: steps * batch_size]]
    gather_ms = (time.perf_counter() - started) * 1000 / steps
    put = None
    try:
        import jax

        def put(batch):
            return jax.block_until_ready(jax.device_put(batch))
    except ImportError:
        pass
    timings = []
    for step in range(min(steps, 100)):
        started = time.perf_counter()
        batch = shuffled[step * batch_size:(step + 1) * batch_size]
        if put is not None:
            put(batch)
        timings.append((time.perf_counter() - started) * 1000)
    # The gather runs in a background thread while the previous epoch trains (train.run.epochs_to_fit):
    # the step waits only on the slice and the transfer.
    return {"gather_ms_per_step": round(gather_ms, 3), "per_step_ms": round(statistics.median(timings), 3)}


def summarise(preset: str, cold: dict[str, Any], warm: list[dict[str, Any]]) -> dict[str, Any]:
    """One preset's row: medians over the warm runs (one per seed), and the cold run's costs."""

    def median(key: str, runs: list[dict[str, Any]] = warm) -> float | None:
        values = [run[key] for run in runs if run.get(key) is not None]
        return round(statistics.median(values), 4) if values else None

    return {
        "preset": preset, "model": cold["model"], "params": cold["params"], "device": cold["device"],
        "backend": cold["backend"], "precision": cold["precision"], "epochs": cold["epochs"],
        "seeds": [run["seed"] for run in warm],
        "test_accuracy": median("test_accuracy"),
        "test_accuracy_by_seed": [run["test_accuracy"] for run in warm],
        "seconds_to_99_val": median("seconds_to_99_val"),
        "seconds_to_99_val_without_compile": median("seconds_to_99_val_without_compile"),
        "reached_99_val": sum(run.get("seconds_to_99_val") is not None for run in warm),
        "compile_seconds_cold": cold["compile_seconds"],
        "compile_seconds_warm": median("compile_seconds"),
        "step_compilations": cold["compilations"]["step_functions"] if cold.get("compilations") else None,
        "cache_hits_warm": min((run["compilations"] or {}).get("persistent_cache_hits", 0) for run in warm)
        if cold.get("compilations") else None,
        "steady_epoch_seconds": median("steady_epoch_seconds"),
        "steady_step_ms": median("steady_step_ms"),
        "steady_images_per_s": median("steady_images_per_s"),
        "train_seconds": median("train_seconds"),
        "wall_to_model_cold_s": cold["wall_to_model_s"],
        "wall_to_model_warm_s": median("wall_to_model_s"),
        "versions": cold["versions"],
    }


def describe(row: dict[str, Any]) -> str:
    """The row as one console line."""

    def seconds(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f} s"

    reached = (f"99% validation after {seconds(row['seconds_to_99_val'])} "
               f"({seconds(row['seconds_to_99_val_without_compile'])} without compiling)"
               if row["seconds_to_99_val"] is not None else "99% validation not reached")
    return (f"  {row['preset']}: test accuracy median {row['test_accuracy']:.2%} over seeds "
            f"{', '.join(map(str, row['seeds']))}; {reached}; compiling "
            f"{seconds(row['compile_seconds_cold'])} cold, {seconds(row['compile_seconds_warm'])} warm; "
            f"steady epoch "
            f"{seconds(row['steady_epoch_seconds'])}, {row['steady_images_per_s'] or 0:,.0f} images/s; "
            f"start to model.keras {seconds(row['wall_to_model_cold_s'])} cold, "
            f"{seconds(row['wall_to_model_warm_s'])} warm")


def run(bench: Bench) -> dict[str, Any]:
    """Train each preset cold once, then warm once per seed; returns the section's figures."""
    plan = bench.pick(SMOKE, FULL)
    backend = os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND)
    section_banner("gpu", f"python -m train per preset on {backend}: {', '.join(plan.presets)}, seeds "
                   f"{', '.join(map(str, plan.seeds))}, cold then warm compilation cache"
                   + (" (smoke: tiny data)" if bench.smoke else ""))
    rows = []
    for preset in plan.presets:
        cache = bench.work / f"compile-cache-{preset}"  # empty: the first run compiles everything
        say(f"  {preset}: cold run (empty compilation cache), seed {plan.seeds[0]}")
        cold = train_once(preset, plan.seeds[0], cache, bench.work / f"{preset}-cold", plan, backend)
        warm = []
        for seed in plan.seeds:
            say(f"  {preset}: warm run, seed {seed}")
            warm.append(train_once(preset, seed, cache, bench.work / f"{preset}-warm-{seed}", plan, backend))
        row = summarise(preset, cold, warm)
        feed = host_feed_ms(cold["batch_size"], cold["train_images"])
        row["host_feed"] = feed
        row["host_share_of_step"] = round(feed["per_step_ms"] / row["steady_step_ms"], 4) \
            if row["steady_step_ms"] else None
        rows.append(row)
        say(describe(row))
        share = f" = {row['host_share_of_step']:.1%} of a steady step" if row["host_share_of_step"] else ""
        say(f"    host work per batch {feed['per_step_ms']:.3f} ms{share} (plus "
            f"{feed['gather_ms_per_step']:.3f} ms of the next epoch's gather, in a background thread)")
    return {"backend": backend, "device": rows[0]["device"] if rows else None, "rows": rows}


def markdown(fig: dict[str, Any]) -> list[str]:
    """The section's table for benchmarks.md."""
    lines = ["#### Training on the accelerator (`python -m benchmarks --only gpu`)", "",
             f"{fig['device']}; each run a fresh `python -m train` process; medians over the seeds.", "",
             "| preset | test accuracy | 99% validation after (without compiling) | compile cold / warm "
             "| steady epoch | images/s | start → model.keras cold / warm | host share of a step |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in fig["rows"]:
        def s(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f} s"
        share = "n/a" if row.get("host_share_of_step") is None else f"{row['host_share_of_step']:.1%}"
        lines.append(
            f"| {row['preset']} ({row['model']}) | {row['test_accuracy']:.2%} | "
            f"{s(row['seconds_to_99_val'])} ({s(row['seconds_to_99_val_without_compile'])}) | "
            f"{s(row['compile_seconds_cold'])} / "
            f"{s(row['compile_seconds_warm'])} | {s(row['steady_epoch_seconds'])} | "
            f"{row['steady_images_per_s'] or 0:,.0f} | {s(row['wall_to_model_cold_s'])} / "
            f"{s(row['wall_to_model_warm_s'])} | {share} |")
    return lines
