"""Application-size networks through `python -m export` at its defaults, as a user runs it.

Each network of `benchmarks/app_models.py` is built and saved as `.keras` (not timed), then exported
by the command line in a subprocess from the work folder: `python -m export --model M.keras --out D`.
Per model: export wall time (command start to published folder), peak memory of the export's
whole process tree (Python, Node.js, Chromium: RSS summed over the tree, sampled from /proc every
0.2 s) and of its largest process, download size, weight shards, the samples each backend proved,
the verdict by exit code, and whether the model's goal was met.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.app_models import APPS, GOAL_PEAK_BYTES, SMOKE_APPS, App, catalogue, hub_catalogue
from benchmarks.common import Bench, say, section_banner
from export import proof_failure_report
from mnist_tfjs.export_files import METADATA_JSON, weight_shards

TIMEOUT_S = 600
SAMPLE_EVERY_S = 0.2
PSS_EVERY = 10  # samples: PSS every 2 s (about 40 ms of CPU per reading of a dozen processes)
HEARTBEAT_S = 30
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
VERDICTS = {0: "PASS", 1: "FAIL", 2: "refused", 130: "interrupted"}
BULKY = ("outputs", "failures")  # per-backend fields kept out of the row (the proof's details)


# ---------------------------------------------------------------- memory of a process tree


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (state, ppid, pgrp, session, ...); None once gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def process_tree(root: int) -> list[int]:
    """`root`, its descendants, and anything else in its session (Chromium helpers that were
    re-parented when their launcher exited): the processes an export costs."""
    parents: dict[int, int] = {}
    tree = {root}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and len(fields) > 3:
            parents[int(entry.name)] = int(fields[1])
            if int(fields[3]) == root:
                tree.add(int(entry.name))
    grew = True
    while grew:
        found = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= found
        grew = bool(found)
    return sorted(tree)


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 once it has exited)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid: int) -> int:
    """Proportional resident memory of one process: shared pages split among their sharers, so a
    sum over the tree counts Chromium's shared memory once (0 once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


@dataclass
class MemoryPeak:
    """The largest sum of RSS over the tree, and the largest single process, seen so far; and the
    largest sum of PSS (every PSS_EVERY-th sample: reading it walks each process's page tables)."""

    tree_bytes: int = 0
    tree_pss_bytes: int = 0
    process_bytes: int = 0
    process: str = ""
    processes: int = 0  # most processes alive at once
    samples: int = 0
    last_tree_bytes: int = 0

    def sample(self, root: int) -> None:
        sizes = {pid: rss_bytes(pid) for pid in process_tree(root)}
        total = sum(sizes.values())
        if self.samples % PSS_EVERY == 0:
            self.tree_pss_bytes = max(self.tree_pss_bytes, sum(pss_bytes(pid) for pid in sizes))
        self.samples += 1
        self.last_tree_bytes = total
        self.tree_bytes = max(self.tree_bytes, total)
        self.processes = max(self.processes, sum(1 for size in sizes.values() if size))
        biggest = max(sizes, key=sizes.__getitem__)
        if sizes[biggest] > self.process_bytes:
            self.process_bytes, self.process = sizes[biggest], process_name(biggest)


# ---------------------------------------------------------------- one export, watched


@dataclass
class ExportRun:
    """What the export command did: exit code (None after a timeout), wall seconds, memory, output."""

    exit_code: int | None
    seconds: float
    memory: MemoryPeak
    stdout: str
    stderr: str


def _stop_tree(root: int) -> None:
    """Kill the export we started and every process of its tree."""
    for pid in reversed(process_tree(root)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _watch(proc: subprocess.Popen, name: str, memory: MemoryPeak, timeout_s: float) -> bool:
    """Sample memory until `proc` exits, saying how far it is every HEARTBEAT_S; False on timeout."""
    started = time.perf_counter()
    next_heartbeat = started + HEARTBEAT_S
    while proc.poll() is None:
        memory.sample(proc.pid)
        now = time.perf_counter()
        if now - started > timeout_s:
            return False
        if now >= next_heartbeat:
            say(f"    {name}: {now - started:.0f} s, {memory.last_tree_bytes / 1e9:.2f} GB now "
                f"(peak {memory.tree_bytes / 1e9:.2f} GB)")
            next_heartbeat += HEARTBEAT_S
        time.sleep(SAMPLE_EVERY_S)
    return True


def run_export(command: list[str], cwd: Path, stem: str, name: str,
               timeout_s: float = TIMEOUT_S) -> ExportRun:
    """Run `command` in `cwd` in its own session and watch it; its tree is killed after `timeout_s`
    (or when this run is interrupted, so no export outlives the benchmark)."""
    out_path, err_path = cwd / f"{stem}.stdout", cwd / f"{stem}.stderr"
    memory = MemoryPeak()
    started = time.perf_counter()
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        finished = False
        try:
            finished = _watch(proc, name, memory, timeout_s)
        finally:
            if not finished:
                _stop_tree(proc.pid)
            proc.wait()
    return ExportRun(proc.returncode if finished else None, time.perf_counter() - started, memory,
                     out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))


# ---------------------------------------------------------------- the row


def _scalars(mapping: dict[str, Any]) -> dict[str, Any]:
    """The plain fields of a metadata block (whatever the exporter writes; nested details left out)."""
    return {k: v for k, v in mapping.items()
            if k not in BULKY and (v is None or isinstance(v, (str, int, float, bool)))}


def backend_results(proof: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"node wasm": {samples, ms_per_call, passed, ...}, "browser webgl": {...}, ...} from the proof."""
    results = {}
    for where in ("node", "browser"):
        for backend, result in (proof.get(where) or {}).items():
            if isinstance(result, dict):
                results[f"{where} {backend}"] = _scalars(result)
    return results


def rounding_of(proof: dict[str, Any]) -> dict[str, Any] | None:
    """The backends that passed within float32 rounding, and Keras' own float32 error (largest output,
    of its scale), when the exporter had to measure it."""
    measured = proof.get("float32_rounding")
    if not measured:
        return None
    within = [f"{where} {backend}" for where in ("node", "browser")
              for backend, result in (proof.get(where) or {}).items()
              if isinstance(result, dict) and result.get("within_float32_rounding")]
    errors = [figures["keras_vs_float64_relative"] for figures in measured["outputs"].values()]
    return {"backends": within, "keras_vs_float64_relative": max(errors, default=None),
            "samples": measured["samples"]}


def webgpu_of(metadata: dict[str, Any]) -> dict[str, str | None]:
    """Each runtime's WebGPU verdict, {"TF.js": ..., "LiteRT.js": ...}: "PASS (n samples)", "FAIL",
    "cannot run", "no adapter", or None where it was not asked for (LiteRT.js without --litert)."""
    def verdict(result: Any, unavailable: str | None = None) -> str | None:
        if unavailable:
            return "cannot run"
        if not isinstance(result, dict):
            return None
        if result.get("skipped"):
            return "no adapter"
        if result.get("unavailable"):
            return "cannot run"
        samples = result.get("samples")
        return f"PASS ({samples} sample{'' if samples == 1 else 's'})" if result.get("passed") else "FAIL"

    litert = (metadata.get("litert") or {}).get("proof") or {}
    return {"TF.js": verdict(((metadata.get("proof") or {}).get("browser") or {}).get("webgpu")),
            "LiteRT.js": verdict((litert.get("browser") or {}).get("webgpu"),
                                 (litert.get("unavailable") or {}).get("webgpu")
                                 or ("no adapter" if (litert.get("skipped") or {}).get("webgpu") else None))}


def shards(folder: Path) -> list[int]:
    """Byte sizes of the weight shards model.json lists (empty when nothing was published)."""
    try:
        names = weight_shards(folder)
    except (OSError, ValueError):
        return []
    return [(folder / name).stat().st_size for name in names if (folder / name).is_file()]


def error_line(run: ExportRun) -> str | None:
    """The exporter's one-line error (or why there is none: a timeout, a crash's last line)."""
    if run.exit_code is None:
        return f"no result within {TIMEOUT_S} s (killed)"
    if run.exit_code == 0:
        return None
    lines = [line.strip() for line in run.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    chosen = errors[-1] if errors else (lines[-1] if lines else f"exit {run.exit_code}")
    return chosen.removeprefix("error:").strip()[:300]


def first_divergence(folder: Path) -> dict[str, Any] | None:
    """Where a failed proof first diverged, from the exporter's report beside the output folder."""
    try:
        report = json.loads(proof_failure_report(folder).read_text())
    except (OSError, ValueError):
        return None
    return (report.get("located") or {}).get("first_divergence") or {"error": report.get("locate_error")}


def verdict_of(exit_code: int | None) -> str:
    """PASS (0), FAIL (1: the proof failed), refused (2), timeout, or the crash's exit code."""
    if exit_code is None:
        return "timeout"
    return VERDICTS.get(exit_code, f"crashed (exit {exit_code})")


def goal_misses(row: dict[str, Any]) -> list[str]:
    """What of the model's goal the row misses (empty: met)."""
    misses = []
    if row["verdict"] != "PASS":
        misses.append(row["verdict"])
    if row["goal_s"] is not None and row["export_s"] > row["goal_s"]:
        misses.append(f"{row['export_s']:.0f} s > {row['goal_s']:g} s")
    if row["peak_process_bytes"] > GOAL_PEAK_BYTES:
        misses.append(f"{row['peak_process']} {row['peak_process_bytes'] / 1e9:.2f} GB > "
                      f"{GOAL_PEAK_BYTES / 1e9:g} GB")
    return misses


def build_row(app: App, parameters: int, run: ExportRun, folder: Path) -> dict[str, Any]:
    """One table row from the run and, when published, metadata.json (read field by field: new
    fields the exporter adds per backend or to the proof appear in `backends` / `proof`)."""
    try:
        metadata = json.loads((folder / METADATA_JSON).read_text())
    except (OSError, ValueError):
        metadata = {}
    proof = metadata.get("proof") or {}
    backends = backend_results(proof)
    sizes = shards(folder)
    row: dict[str, Any] = {
        "model": app.name, "note": app.note, "parameters": parameters,
        "exit_code": run.exit_code, "verdict": verdict_of(run.exit_code), "error": error_line(run),
        "export_s": round(run.seconds, 1), "exporter_reported_s": metadata.get("export_seconds"),
        "peak_tree_bytes": run.memory.tree_bytes, "peak_tree_pss_bytes": run.memory.tree_pss_bytes,
        "peak_process_bytes": run.memory.process_bytes,
        "peak_process": run.memory.process, "most_processes": run.memory.processes,
        "memory_samples": run.memory.samples,
        "download_bytes": metadata.get("download_bytes"),
        "shards": len(sizes) if metadata else None, "largest_shard_bytes": max(sizes, default=None),
        "samples": {name: result.get("samples") for name, result in backends.items()},
        "backends": backends, "proof": _scalars(proof), "webgpu": webgpu_of(metadata),
        "litert": (metadata.get("litert") or {}).get("status"),
        "goal_s": app.goal_s, "goal_peak_bytes": GOAL_PEAK_BYTES,
    }
    if run.exit_code != 0:  # the exporter's own table says what the proof saw
        row["output_tail"] = run.stdout[-3000:]
    row["first_divergence"] = first_divergence(folder)
    row["float32_rounding"] = rounding_of(proof)
    row["goal_misses"] = goal_misses(row)
    row["meets_goal"] = not row["goal_misses"]
    return row


# ---------------------------------------------------------------- the section


def slug(name: str) -> str:
    """A file name from a model's name: 'ResNet50 (x)' -> 'resnet50-x'."""
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-")


def save_model(app: App, work: Path) -> tuple[Path, int, float]:
    """Build the network and save it as .keras in `work`; (path, parameters, seconds)."""
    import keras

    started = time.perf_counter()
    model = app.build()
    path = work / f"{slug(app.name)}.keras"
    model.save(path)
    parameters = int(model.count_params())
    del model
    keras.backend.clear_session()
    gc.collect()
    return path, parameters, time.perf_counter() - started


SMOKE_PROOF_SECONDS = 1  # each backend's proof budget in a smoke run (the defaults' is 8 s)


def export_command(model: Path, out: Path, extra_args: tuple[str, ...] = ()) -> list[str]:
    """The user's command, run from the work folder as an installed user runs it (the installed
    package's name: outside a clone there is no top-level `export`); `extra_args`: `--litert` for
    the catalogues, otherwise only for quick experiments (the section uses the defaults)."""
    return [sys.executable, "-m", "mnist_tfjs.export", "--model", model.name, "--out", out.name, *extra_args]


def measure(app: App, work: Path, extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """Build and save one network, export it as a user would, and return its row."""
    say(f"  {app.name}: building")
    model_path, parameters, build_s = save_model(app, work)
    out = work / f"{model_path.stem}-web"
    say(f"  {app.name}: {parameters:,} parameters (built in {build_s:.0f} s); "
        f"`{' '.join(['python', *export_command(model_path, out, extra_args)[1:]])}`")
    run = run_export(export_command(model_path, out, extra_args), work, model_path.stem, app.name)
    row = build_row(app, parameters, run, out)
    row["build_s"] = round(build_s, 1)
    shutil.rmtree(out, ignore_errors=True)
    proof_failure_report(out).unlink(missing_ok=True)
    model_path.unlink(missing_ok=True)
    say(f"  {app.name}: {summary_line(row)}")
    return row


def rounding_note(row: dict[str, Any]) -> str:
    """" within float32 rounding on node cpu (Keras itself 7.8e-05 of scale from float64)" for a row
    whose proof needed the allowance, else ""."""
    rounding = row.get("float32_rounding") or {}
    if not rounding.get("backends"):
        return ""
    return (f" within float32 rounding on {', '.join(rounding['backends'])} (Keras itself "
            f"{rounding['keras_vs_float64_relative']:.1e} of scale from float64)")


def summary_line(row: dict[str, Any]) -> str:
    """The row as one progress line."""
    samples = ", ".join(f"{name} {count}" for name, count in row["samples"].items()) or "no samples"
    download = f"{row['download_bytes'] / 1e6:.1f} MB" if row["download_bytes"] else "-"
    verdict = row["verdict"] + (f" ({row['error']})" if row["error"] else "") + rounding_note(row)
    goal = "goal met" if row["meets_goal"] else "goal missed: " + "; ".join(row["goal_misses"])
    return (f"{verdict} in {row['export_s']:.0f} s, peak {row['peak_tree_bytes'] / 1e9:.2f} GB "
            f"(PSS {row['peak_tree_pss_bytes'] / 1e9:.2f} GB), "
            f"largest process {row['peak_process']} {row['peak_process_bytes'] / 1e9:.2f} GB, "
            f"download {download} in {row['shards'] or 0} shards; {samples}; {goal}")


def not_built_row(app: App, problem: str) -> dict[str, Any]:
    """The row of a keras-hub backbone that does not build at the small configuration tried."""
    return {"model": app.name, "note": app.note, "parameters": 0, "exit_code": None, "verdict": "not built",
            "error": problem[:300], "export_s": 0.0, "exporter_reported_s": None, "peak_tree_bytes": 0,
            "peak_tree_pss_bytes": 0, "peak_process_bytes": 0, "peak_process": "-", "most_processes": 0,
            "memory_samples": 0, "download_bytes": None, "shards": None, "largest_shard_bytes": None,
            "samples": {}, "backends": {}, "proof": {}, "goal_s": app.goal_s,
            "goal_peak_bytes": GOAL_PEAK_BYTES, "first_divergence": None, "float32_rounding": None,
            "goal_misses": ["not built"], "meets_goal": False, "build_s": None}


def measure_hub(app: App, work: Path, extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """A keras-hub backbone's row: measured as any network, or why it was not built; a refusal names
    where its first divergence lies (the blocks it is in, the sublayer)."""
    try:
        row = measure(app, work, extra_args)
    except Exception as exc:  # the catalogue goes on: this backbone's row says why it has no export
        problem = (str(exc).strip().splitlines() or [""])[0]
        say(f"  {app.name}: not built ({type(exc).__name__}: {problem[:200]})")
        return not_built_row(app, f"{type(exc).__name__}: {problem}")
    first = row.get("first_divergence") or {}
    if first.get("layer"):
        inside = "/".join([*first.get("within", []), first["layer"]])
        say(f"  {app.name}: first divergence at {inside} ({first['layer_class']}, TF.js node "
            f"{first['node']} {first['op']}: {first['relative_diff']:.1e} of its scale, inputs "
            f"{first['inputs_relative_diff']:.0e})")
    return row


def _keras_hub_version() -> str:
    import keras_hub

    return keras_hub.__version__


def run(bench: Bench) -> dict[str, Any]:
    """Every application network (the tiny one in a smoke run) through the export command; with
    `bench.hub`, keras-hub's backbones instead (every one for an empty tuple)."""
    from mnist_tfjs.quiet import quiet_tensorflow

    quiet_tensorflow()
    hub = getattr(bench, "hub", None)
    if hub is not None:
        apps, what = hub_catalogue(hub or None), "keras-hub backbone(s) at a small random configuration"
    elif bench.catalogue:
        apps, what = catalogue(bench.catalogue), "keras.applications catalogue network(s)"
    else:
        apps, what = bench.pick(SMOKE_APPS, APPS), "application-size network(s)"
    how = bench.pick(f"with {SMOKE_PROOF_SECONDS} s proof budgets", "at its defaults")
    section_banner("apps", f"{len(apps)} {what} through `python -m export` {how}, {TIMEOUT_S} s limit each")
    work = bench.work / "apps"
    work.mkdir(exist_ok=True)
    # The catalogues also publish model.tflite, so that both WebGPU runtimes (TF.js and LiteRT.js)
    # prove every network.
    extra = ("--litert",) if hub is not None or bench.catalogue else ()
    extra += bench.pick(("--proof-seconds", str(SMOKE_PROOF_SECONDS)), ())  # a smoke run checks the plumbing
    rows = [measure_hub(app, work, extra) if hub is not None else measure(app, work, extra) for app in apps]
    passed, met = sum(row["verdict"] == "PASS" for row in rows), sum(row["meets_goal"] for row in rows)
    say(f"  passed {passed} of {len(rows)}, goals met {met} of {len(rows)}")
    return {"models": len(rows), "catalogue": bool(bench.catalogue), "hub": hub is not None,
            "keras_hub": _keras_hub_version() if hub is not None else None,
            "timeout_s": TIMEOUT_S,
            "goal_peak_bytes": GOAL_PEAK_BYTES,
            "memory_sample_s": SAMPLE_EVERY_S,
            "command": " ".join(["python -m export --model M.keras --out D", *extra]),
            "passed": passed, "goals_met": met, "rows": rows}
