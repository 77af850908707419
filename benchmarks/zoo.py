"""The zoo: every architecture in `harness/zoo_models.py` through three routes, side by side.

- **this exporter**: `export.export_model` (rewrites, named signature, proof in Node and Chromium);
- **official, layers**: `tensorflowjs.converters.save_keras_model` → `tf.loadLayersModel` + `predict`;
- **official, graph**: `model.export` (Keras' default signature) → `convert_tf_saved_model` →
  `tf.loadGraphModel` + `executeAsync`, with none of our fixes.

Each route is asked the same questions on the same generated samples: does it convert, load, run,
and compute what Keras computes (export/proof.js's comparison and thresholds, as the exporter's
own proof)? Plus download size and milliseconds per call (Node wasm; Chromium wasm and webgl).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Bench, say, section_banner
from mnist_tfjs.export_files import MODEL_JSON, tfjs_download_bytes
from mnist_tfjs.paths import REPO_ROOT
from mnist_tfjs.quiet import captured_output

ROUTES = ("this exporter", "official: layers model", "official: SavedModel → graph")
NODE_SCRIPT = REPO_ROOT / "benchmarks" / "zoo_routes.js"
SAMPLES = 64
BATCH = 32
BROWSER_BACKENDS = ("wasm", "webgl")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _summary(result: dict[str, Any] | None) -> dict[str, Any]:
    """Worst relative |Δ| and lowest agreement over the outputs of one RESULT."""
    if not result or not result.get("outputs"):
        return {"relative_diff": None, "agreement": None, "ms_per_call": None, "passed": False}
    outputs = result["outputs"].values()
    agreements = [o["agreement"] for o in outputs if o.get("agreement") is not None]
    finite = all(o.get("all_finite", True) for o in outputs)
    return {"relative_diff": max(o["relative_diff"] for o in outputs) if finite else float("inf"),
            "agreement": min(agreements) if agreements else None,
            "ms_per_call": result.get("ms_per_call"), "passed": bool(result.get("passed"))}


def _row(model: str, route: str, **figures: Any) -> dict[str, Any]:
    row = {"model": model, "route": route, "converts": False, "loads": False, "runs": False,
           "correct": False, "relative_diff": None, "agreement": None, "bytes": None,
           "node_wasm_ms": None, "chromium_wasm_ms": None, "chromium_webgl_ms": None, "error": None}
    row.update(figures)
    return row


def verdict_of(row: dict[str, Any]) -> str:
    """How far a route got: correct, wrong, fails to run / load / convert."""
    if row["correct"]:
        return "correct"
    if row["route"] == ROUTES[0] and not row["converts"]:
        return "refused before publishing"
    if row["runs"]:
        return "wrong"
    return "fails to run" if row["loads"] else "fails to load" if row["converts"] else "fails to convert"


def _node_route(fmt: str, model_dir: Path, bundle_dir: Path) -> dict[str, Any]:
    command = ["node", str(NODE_SCRIPT), fmt, str(model_dir), str(bundle_dir), "--backend", "wasm"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = proc.stderr.strip().splitlines()
    return {"loads": False, "runs": False, "error": tail[-1][:200] if tail else f"exit {proc.returncode}"}


def _browser(model_dir: Path) -> dict[str, Any]:
    """ms per call in Chromium per backend (None where the route did not run there)."""
    from export import prove_in_chromium

    try:
        results = prove_in_chromium(model_dir, backends=BROWSER_BACKENDS)
    except Exception:  # a route that cannot run in the browser simply gets no figure
        return {}
    return {f"chromium_{b}_ms": (r or {}).get("ms_per_call") for b, r in results.items()
            if isinstance(r, dict) and r.get("outputs")}


def _signature_names(model_dir: Path, keras_names: list[str], key: str) -> list[str]:
    """The graph model's signature names for the model's inputs or outputs, in the model's order:
    a Keras name where the signature kept it, else the next `keras_tensor_N` / `output_N` by number."""
    names = list(json.loads((model_dir / MODEL_JSON).read_text())["signature"][key])

    def number(name: str) -> tuple[int, str]:
        digits = "".join(c for c in name.rsplit("_", 1)[-1] if c.isdigit())
        return (int(digits) if digits else 0, name)

    unmatched = iter(sorted((n for n in names if n not in keras_names), key=number))
    return [name if name in names else next(unmatched) for name in keras_names]


def ours(name: str, model: Any, samples: dict, work: Path) -> dict[str, Any]:
    """This exporter: export_model with the samples; figures from the metadata it writes."""
    from export import ExportError, VerificationError, export_model

    out = work / f"{name}-ours"
    try:
        metadata = export_model(model, out, samples=samples, browser=True)
    except VerificationError as exc:
        proof = (exc.metadata or {}).get("proof") or {}
        node = _summary((proof.get("node") or {}).get("wasm"))
        return _row(name, ROUTES[0], converts=True, loads=True, runs=node["ms_per_call"] is not None,
                    relative_diff=node["relative_diff"], agreement=node["agreement"],
                    error=_first_line(exc))
    except ExportError as exc:
        return _row(name, ROUTES[0], error=_first_line(exc))
    proof = metadata["proof"]
    node = _summary(proof["node"]["wasm"])
    browser = {f"chromium_{b}_ms": (r or {}).get("ms_per_call")
               for b, r in (proof.get("browser") or {}).items()}
    return _row(name, ROUTES[0], converts=True, loads=True, runs=True, correct=bool(proof["passed"]),
                relative_diff=node["relative_diff"], agreement=node["agreement"],
                bytes=metadata["download_bytes"], node_wasm_ms=node["ms_per_call"],
                rewrites=[f"{r['class']}: {r['what']}" for r in metadata.get("rewrites", [])],
                **{k: v for k, v in browser.items() if k in ("chromium_wasm_ms", "chromium_webgl_ms")})


def official(name: str, route: str, model: Any, samples: dict, expected: dict, classifiers: dict,
             thresholds: dict, work: Path) -> dict[str, Any]:
    """One of the official converter's routes, without our fixes."""
    from export import write_bundle
    from mnist_tfjs.quiet import import_tensorflowjs

    tfjs = import_tensorflowjs()
    layers = route == ROUTES[1]
    out = work / f"{name}-{'layers' if layers else 'graph'}"
    saved = work / f"{name}-savedmodel"
    try:
        with captured_output():
            if layers:
                tfjs.converters.save_keras_model(model, str(out))
            else:
                model.export(str(saved), format="tf_saved_model", verbose=False)
                tfjs.converters.convert_tf_saved_model(str(saved), str(out))
    except Exception as exc:
        return _row(name, route, error=_first_line(exc))
    finally:
        shutil.rmtree(saved, ignore_errors=True)
    inputs, outputs = dict(samples), dict(expected)
    if not layers:  # the bundle must use the names the official graph model's signature has
        inputs = dict(zip(_signature_names(out, list(samples), "inputs"), samples.values(), strict=True))
        outputs = dict(zip(_signature_names(out, list(expected), "outputs"), expected.values(), strict=True))
        classifiers = dict(zip(outputs, classifiers.values(), strict=True))
    count = len(next(iter(samples.values())))
    write_bundle(out, inputs, outputs, classifiers, thresholds, count)
    node = _node_route("layers" if layers else "graph", out, out)
    summary = _summary(node.get("result"))
    row = _row(name, route, converts=True, loads=bool(node.get("loads")), runs=bool(node.get("runs")),
               correct=summary["passed"], relative_diff=summary["relative_diff"],
               agreement=summary["agreement"], bytes=tfjs_download_bytes(out),
               node_wasm_ms=summary["ms_per_call"],
               error=node.get("error") or (None if summary["passed"] else "; ".join(
                   (node.get("result") or {}).get("failures") or [])[:200] or None))
    if not layers and row["runs"]:
        row.update(_browser(out))
    return row


def run(bench: Bench) -> dict[str, Any]:
    """Every zoo model (the fast ones in a smoke run) through the three routes."""
    from mnist_tfjs.quiet import quiet_tensorflow

    quiet_tensorflow()
    from export import THRESHOLDS, generate_samples, input_specs, is_classifier, keras_outputs, output_specs
    from harness.zoo_models import ZOO

    entries = [(name, entry) for name, entry in ZOO.items() if entry.fast or not bench.smoke]
    if bench.smoke:
        entries = entries[:2]
    section_banner("zoo", f"{len(entries)} Keras architectures through {len(ROUTES)} routes, "
                   f"{SAMPLES} samples each")
    rows = []
    for name, entry in entries:
        started = time.perf_counter()
        model = entry.build()
        in_specs, out_specs = input_specs(model), output_specs(model)
        samples, _how = generate_samples(model, in_specs, SAMPLES, seed=0)
        expected = keras_outputs(model, in_specs, out_specs, samples)
        classifiers = {k: is_classifier(v) for k, v in expected.items()}
        work = bench.work / "zoo"
        work.mkdir(exist_ok=True)
        model_rows = [ours(name, model, samples, work)]
        for route in ROUTES[1:]:
            model_rows.append(official(name, route, model, samples, expected, classifiers,
                                       THRESHOLDS["none"], work))
        for row in model_rows:
            verdict = verdict_of(row)
            diff = f"{row['relative_diff']:.1e}" if row["relative_diff"] is not None else "-"
            say(f"  {name:<26} {row['route']:<30} {verdict:<16} rel|Δ| {diff}"
                + (f"  ({row['error']})" if row["error"] and not row["correct"] else ""))
        rows.extend(model_rows)
        shutil.rmtree(work, ignore_errors=True)
        say(f"  ({name}: {time.perf_counter() - started:.0f} s)")
    totals = {route: sum(1 for r in rows if r["route"] == route and r["correct"]) for route in ROUTES}
    say("  correct: " + ", ".join(f"{route} {n}/{len(entries)}" for route, n in totals.items()))
    return {"samples": SAMPLES, "batch": BATCH, "models": len(entries), "rows": rows, "correct": totals}
