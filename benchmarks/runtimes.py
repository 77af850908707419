"""TF.js beside LiteRT.js: the same Keras models exported to both targets by `export.export_model`,
then timed in one headless Chromium page served by our app, as a visitor's browser runs them.

Per model: milliseconds per call at batch 1 on TF.js wasm and webgl, LiteRT.js wasm with the float
model.tflite and with its full-integer twin model.int8.tflite (`--litert int8`; the median of
`calls` timed calls after `warmup` untimed ones, through the shared proof runner's `timeCalls`, on
the model page's own modules), the speed-ups, the downloads (runtime gzip and model, from
metadata.json's `runtimes`), how far each runtime's outputs are from Keras' (the export's Chromium
proofs), what int8 costs and what it adds to the export's time. For the digit model, also the digit
page's open-to-ready and first answer on each runtime: what the first-load default is decided on.
`python -m benchmarks --only runtimes`.

int8's accuracy cost is measured on data that means something: the digit model on the MNIST test
digits (test accuracy on all 10,000, calibrated on training digits). The application networks have
random weights (nothing is downloaded; benchmarks/app_models.py), so there is no accuracy to lose,
only agreement with Keras, measured on the inputs their BatchNorm statistics were set from (the
exporter's generated samples: standard normal pixels for MobileNetV2, uniform 0..255 for
EfficientNetB0), the distribution these networks tell apart: scaled-up MNIST digits, real images,
leave a random network's softmax nearly flat (MobileNetV2 224: every int8 flip within one int8 step
of Keras' top two), which measures nothing. Calibrated on the last half of the samples, proven on
the first half.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Bench, BenchError, say, section_banner
from harness.page_driver import call_in_page, chromium, serving, wait_ready

TFJS_BACKENDS = ("wasm", "webgl")  # cpu is 10-50x slower than wasm: not a runtime anyone ships
READY_RUNS = (1, 3)  # digit page loads per runtime (smoke, full)


@dataclass(frozen=True)
class Plan:
    """How many calls are timed, and how the exporter proves each model."""

    calls: int
    warmup: int
    samples_count: int  # generated proof samples (generic models)
    digits: int  # MNIST test digits (the digit model)
    proof_seconds: float  # each backend's proof budget


# Generated samples: the exporter calibrates its int8 model on the last half, proves it on the first.
# The full run proves at the exporter's default budget; a smoke run checks the plumbing.
FULL = Plan(calls=30, warmup=5, samples_count=96, digits=10_000, proof_seconds=8.0)
SMOKE = Plan(calls=5, warmup=1, samples_count=8, digits=100, proof_seconds=1.0)


@dataclass(frozen=True)
class Subject:
    """One benchmarked model: its name and how to get it (a keras.Model or a .keras path)."""

    name: str
    build: Callable[[Bench], Any]


def _digit_model(bench: Bench) -> Path:
    return bench.require_model()


def _mobilenet(size: int, alpha: float) -> Callable[[Bench], Any]:
    def build(_bench: Bench) -> Any:
        from benchmarks.app_models import mobilenet_v2

        return mobilenet_v2(size=size, alpha=alpha)
    return build


def _efficientnet_b0(_bench: Bench) -> Any:
    from benchmarks.app_models import efficientnet_b0

    return efficientnet_b0()


def _smoke_mobilenet(_bench: Bench) -> Any:
    from benchmarks.app_models import smoke_mobilenet

    return smoke_mobilenet()


SUBJECTS = (
    Subject("digit CNN", _digit_model),
    Subject("MobileNetV2 alpha 0.35, 96x96", _mobilenet(96, 0.35)),
    Subject("MobileNetV2, 224x224", _mobilenet(224, 1.0)),
    Subject("EfficientNetB0, 224x224", _efficientnet_b0),
)


SMOKE_SUBJECTS = (Subject("MobileNetV2 alpha 0.35, 96x96, 10 classes", _smoke_mobilenet),)

MODEL_PAGE_TIMING = Path(__file__).with_name("model_page_timing.js")  # timeCalls, run in the model page


def time_calls(page: Any, plan: Plan) -> dict[str, dict[str, Any]]:
    """{"tfjs wasm": {ms, calls} | {error}, "tfjs webgl": ..., "litert wasm": ..., "litert int8 wasm": ...}
    on an open model page."""
    page.wait_for_function("() => window.modelPage !== undefined")
    page.evaluate("window.modelPage.ready")
    return call_in_page(page, MODEL_PAGE_TIMING, "timeCalls", {"backends": list(TFJS_BACKENDS),
                                                              "calls": plan.calls, "warmup": plan.warmup})


def digit_page_loads(browser: Any, url: str, runs: int) -> dict[str, dict[str, Any]]:
    """Per runtime, the digit page opened `runs` times in a fresh context: median open-to-ready
    (navigation start to model loaded and warmed up) and first answer (ready plus one digit read)."""
    figures = {}
    for runtime in ("tfjs", "litert", "litert-int8"):
        ready, first = [], []
        for _ in range(runs):
            context = browser.new_context()
            try:
                page = context.new_page()
                page.goto(f"{url}?runtime={runtime}")
                timings = wait_ready(page, timeout_s=60)
                call_ms = page.evaluate("""async () => {
                  const began = performance.now();
                  await window.digitDemo.predictPixels(new Float32Array(window.digitDemo.contract().pixels));
                  return performance.now() - began;
                }""")
                if page.evaluate("window.digitDemo.runtime()") != runtime:
                    raise BenchError(f"the digit page did not start on {runtime}")
            finally:
                context.close()
            ready.append(float(timings["readyMs"]))
            first.append(float(timings["readyMs"]) + call_ms)
        figures[runtime] = {"ready_ms_median": round(statistics.median(ready), 1),
                            "first_answer_ms_median": round(statistics.median(first), 1),
                            "ready_ms": [round(v, 1) for v in ready]}
    return figures


def _worst_relative(result: dict[str, Any] | None) -> float | None:
    outputs = (result or {}).get("outputs") or {}
    diffs = [o.get("relative_diff") for o in outputs.values() if isinstance(o, dict)]
    diffs = [d for d in diffs if isinstance(d, (int, float))]
    return max(diffs) if diffs else None


def build_row(name: str, metadata: dict[str, Any], calls: dict[str, dict[str, Any]],
              export_s: float) -> dict[str, Any]:
    """One table row: ms per call per runtime/backend, speed-up, downloads, outputs vs Keras."""
    litert = metadata.get("litert") or {}
    int8 = metadata.get("litert_int8") or {}
    runtimes = metadata.get("runtimes") or {}
    ms = {key: value.get("ms") for key, value in calls.items()}
    tfjs_wasm, litert_wasm = ms.get("tfjs wasm"), ms.get("litert wasm")
    int8_wasm = ms.get("litert int8 wasm")
    int8_s = int8.get("seconds")
    export_seconds = metadata.get("export_seconds")
    return {
        "model": name,
        "parameters": (metadata.get("source") or {}).get("parameters"),
        "export_s": round(export_s, 1),
        "litert_status": litert.get("status"), "litert_reason": litert.get("reason"),
        "ms_per_call": ms,
        "calls": {key: value.get("calls") for key, value in calls.items()},
        "errors": {key: value["error"] for key, value in calls.items() if "error" in value},
        "speedup_litert_vs_tfjs_wasm": (round(tfjs_wasm / litert_wasm, 2)
                                        if tfjs_wasm and litert_wasm else None),
        "tfjs_model_bytes": metadata.get("download_bytes"),
        "litert_model_bytes": litert.get("bytes") if litert.get("status") == "proven" else None,
        "tfjs_runtime_gzip_bytes": (runtimes.get("tfjs") or {}).get("runtime_gzip_bytes"),
        "litert_runtime_gzip_bytes": (runtimes.get("litert") or {}).get("runtime_gzip_bytes"),
        "tfjs_vs_keras": _worst_relative(((metadata.get("proof") or {}).get("browser") or {}).get("wasm")),
        "litert_vs_keras": _worst_relative(((litert.get("proof") or {}).get("browser") or {}).get("wasm")),
        "advice": (runtimes.get("advice") or {}).get("text"),
        "break_even_calls": (runtimes.get("advice") or {}).get("break_even_calls"),
        **int8_figures(int8, int8_wasm, litert_wasm),
        "int8_export_s": int8_s,
        # what --litert int8 adds to the same export with --litert: the int8 step's own seconds
        "int8_export_overhead": (round(int8_s / (export_seconds - int8_s), 3)
                                 if int8_s and export_seconds and export_seconds > int8_s else None),
    }


def int8_figures(int8: dict[str, Any], int8_ms: float | None, litert_ms: float | None) -> dict[str, Any]:
    """The int8 model's verdict, size, speed-up over the float .tflite and accuracy cost (its proof)."""
    verdict = (((int8.get("proof") or {}).get("browser") or {}).get("wasm")) or {}
    outputs = verdict.get("outputs") or {}
    agreements = [o["agreement"] for o in outputs.values() if o.get("agreement") is not None]
    errors = [o["rms_error_of_spread"] for o in outputs.values() if o.get("rms_error_of_spread") is not None]
    return {
        "int8_status": int8.get("status"), "int8_reason": int8.get("reason"),
        "int8_model_bytes": int8.get("bytes"),
        "int8_float_ops": int8.get("float_ops"),
        "speedup_int8_vs_litert": round(litert_ms / int8_ms, 2) if int8_ms and litert_ms else None,
        "int8_agreement": min(agreements) if agreements else None,
        "int8_ties": sum(o.get("ties") or 0 for o in outputs.values()),
        "int8_rms_error_of_spread": max(errors) if errors else None,
        "int8_samples": verdict.get("samples"),
        "int8_accuracy": verdict.get("accuracy"),
        "int8_proof_ms": verdict.get("batch1_ms"),
    }


def export_both(model: Any, out: Path, plan: Plan) -> tuple[dict[str, Any], float]:
    """`export.export_model` with LiteRT.js float and int8 required: (metadata, seconds); BenchError
    when it fails."""
    from export import ExportError, export_model

    started = time.perf_counter()
    try:
        # Float fallback allowed, so a network with an op that has no integer kernel still gets
        # figures; the row names the ops left in float (none means fully integer).
        metadata = export_model(model, out, litert=True, int8=True, allow_float_fallback=True,
                                samples_count=plan.samples_count, digits=plan.digits,
                                proof_seconds=plan.proof_seconds)
    except ExportError as exc:
        raise BenchError(f"export of {out.name}: {exc}") from None
    return metadata, time.perf_counter() - started


def measure(subject: Subject, bench: Bench, plan: Plan, browser: Any) -> dict[str, Any]:
    """Export one model to both targets, time both runtimes in Chromium; its row."""
    import keras

    say(f"  {subject.name}: building and exporting (TF.js + LiteRT.js float and int8, all proven)")
    model = subject.build(bench)
    out = bench.work / f"runtimes-{len(list(bench.work.glob('runtimes-*')))}"
    try:
        metadata, export_s = export_both(model, out, plan)
    except BenchError as exc:  # one model that fails its proof leaves the others' figures
        say(f"  {subject.name}: {exc}")
        return {"model": subject.name, "error": str(exc)}
    del model
    keras.backend.clear_session()
    with serving(out) as server:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{server.url}model")
            calls = time_calls(page, plan)
        finally:
            context.close()
        row = build_row(subject.name, metadata, calls, export_s)
        if metadata.get("kind") == "mnist-digits":
            row["digit_page"] = digit_page_loads(browser, server.url, bench.pick(*READY_RUNS))
    say(f"  {subject.name}: {summary_line(row)}")
    return row


def summary_line(row: dict[str, Any]) -> str:
    """The row as one progress line."""
    if "error" in row:
        return row["error"]
    timed = {key: value for key, value in row["ms_per_call"].items() if value is not None}
    parts = [", ".join(f"{key} {value:.3g} ms" for key, value in timed.items())]
    if row["speedup_litert_vs_tfjs_wasm"]:
        parts.append(f"LiteRT.js {row['speedup_litert_vs_tfjs_wasm']:.1f}x TF.js wasm")
    if row["litert_status"] != "proven":
        parts.append(f"LiteRT.js {row['litert_status']}: {row['litert_reason']}")
    if row.get("int8_status") and row["int8_status"] != "proven":
        parts.append(f"int8 {row['int8_status']}: {row['int8_reason']}")
    if row.get("int8_agreement") is not None:
        parts.append(f"int8 agreement {100 * row['int8_agreement']:.2f} %{_ties(row)} on "
                     f"{row['int8_samples']} held-out")
    if row.get("int8_accuracy"):
        parts.append(f"int8 test accuracy {row['int8_accuracy']['change_pp']:+.2f} pp")
    if row.get("int8_export_overhead") is not None:
        parts.append(f"int8 step {row['int8_export_s']:.1f} s (+{100 * row['int8_export_overhead']:.0f} %)")
    for runtime, f in (row.get("digit_page") or {}).items():
        parts.append(f"{runtime} open-to-ready {f['ready_ms_median']:.0f} ms, "
                     f"first answer {f['first_answer_ms_median']:.0f} ms")
    if row["errors"]:
        parts.append(f"errors {row['errors']}")
    return "; ".join(parts)


def run(bench: Bench) -> dict[str, Any]:
    """Every subject (the tiny MobileNet in a smoke run) exported to both targets and timed."""
    from mnist_tfjs.quiet import quiet_tensorflow

    quiet_tensorflow()
    plan = bench.pick(SMOKE, FULL)
    subjects = bench.pick(SMOKE_SUBJECTS, SUBJECTS)
    section_banner("runtimes", f"{len(subjects)} model(s) exported to TF.js and LiteRT.js, batch 1, "
                   f"median of {plan.calls} calls after {plan.warmup} warm-up, in headless Chromium")
    with chromium() as browser:
        rows = [measure(subject, bench, plan, browser) for subject in subjects]
        version = f"Chromium {browser.version}"
    return {"rows": rows, "calls": plan.calls, "warmup": plan.warmup, "chromium": version,
            "backends": [f"tfjs {b}" for b in TFJS_BACKENDS] + ["litert wasm", "litert int8 wasm"],
            "command": "python -m benchmarks --only runtimes"}


# ---------------------------------------------------------------- the report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g} ms" if value < 10 else f"{value:.1f} ms"


def _rel(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def _mb(value: int | None) -> str:
    return "-" if not value else f"{value / 1e6:.2f} MB" if value >= 1e5 else f"{value / 1e3:.0f} KB"


def markdown(fig: dict[str, Any]) -> list[str]:
    """The runtimes table (and the digit page's loads) as Markdown lines."""
    lines = ["#### TF.js and LiteRT.js, the same models", "",
             f"`{fig['command']}`: each model exported by `export.export_model` to both targets (both "
             f"proven in headless Chromium), then timed in one page served by our app ({fig['chromium']}), "
             f"batch 1, median of {fig['calls']} calls after {fig['warmup']} warm-up. Runtime downloads "
             "gzip (TF.js: core bundle + wasm backend + its wasm; LiteRT.js: module + wasm), model "
             "downloads as published. Outputs: the largest relative difference from Keras in the export's "
             "Chromium proof (TF.js wasm / LiteRT.js wasm).", "",
             "| model | TF.js wasm | TF.js webgl | LiteRT.js wasm | LiteRT.js vs TF.js wasm "
             "| runtime download (TF.js / LiteRT.js) | model download (TF.js / LiteRT.js) "
             "| outputs vs Keras |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in fig["rows"]:
        if "error" in row:
            lines.append(f"| {row['model']} | {row['error']} | | | | | | |")
            continue
        ms = row["ms_per_call"]
        speedup = row["speedup_litert_vs_tfjs_wasm"]
        lines.append(f"| {row['model']} | {_ms(ms.get('tfjs wasm'))} | {_ms(ms.get('tfjs webgl'))} | "
                     f"**{_ms(ms.get('litert wasm'))}** | {f'{speedup:.1f}x' if speedup else '-'} | "
                     f"{_mb(row['tfjs_runtime_gzip_bytes'])} / {_mb(row['litert_runtime_gzip_bytes'])} | "
                     f"{_mb(row['tfjs_model_bytes'])} / {_mb(row['litert_model_bytes'])} | "
                     f"{_rel(row['tfjs_vs_keras'])} / {_rel(row['litert_vs_keras'])} |")
    lines += int8_markdown(fig)
    for row in fig["rows"]:
        pages = row.get("digit_page")
        if pages:
            names = {"tfjs": "TF.js", "litert": "LiteRT.js", "litert-int8": "LiteRT.js int8"}
            cells = "; ".join(f"{names.get(runtime, runtime)} open-to-ready "
                              f"{f['ready_ms_median']:.0f} ms, first answer "
                              f"{f['first_answer_ms_median']:.0f} ms" for runtime, f in pages.items())
            lines += ["", f"Digit page, first load (median of {len(next(iter(pages.values()))['ready_ms'])}, "
                      f"empty cache, loopback): {cells}."]
        if row.get("advice"):
            lines += ["", f"{row['model']}, the exporter's advice: {row['advice']}"]
    return lines


def _cost(row: dict[str, Any]) -> str:
    accuracy = row.get("int8_accuracy")
    if accuracy:
        return (f"test accuracy {100 * accuracy['keras']:.2f} → {100 * accuracy['int8']:.2f} % "
                f"({accuracy['change_pp']:+.2f} pp) on {accuracy['digits']:,} test digits")
    if row.get("int8_agreement") is not None:
        return (f"argmax agrees with Keras on {100 * row['int8_agreement']:.1f} % of {row['int8_samples']} "
                f"held-out samples{_ties(row)}")
    return "-"


def _ties(row: dict[str, Any]) -> str:
    ties = row.get("int8_ties")
    return f" (+{ties} ties within one int8 step)" if ties else ""


def int8_markdown(fig: dict[str, Any]) -> list[str]:
    """The int8 table: size and speed against the float .tflite, the accuracy cost, the export time."""
    rows = [row for row in fig["rows"] if row.get("int8_status") and "error" not in row]
    if not rows:
        return []
    lines = ["", "#### LiteRT.js int8 (full integer) beside float", "",
             "`--litert int8`: TensorFlow's post-training full-integer quantization (float32 inputs and "
             "outputs), proven in LiteRT.js in Chromium on held-out samples: the digit model calibrated on "
             "500 MNIST training digits and proven on all 10,000 test digits; the application networks "
             "(random weights: agreement with Keras is the measure, not accuracy) on the exporter's "
             "generated samples, calibrated on the last half and proven on the first. Export time added: "
             "the int8 step's own seconds (conversion, and its part of the Chromium page) over the rest of "
             "the same export, which is the export with `--litert`.", "",
             "| model | int8 | .tflite float → int8 | LiteRT.js float → int8 | cost against Keras "
             "| float ops left | export time added |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        ms = row["ms_per_call"]
        speedup = row.get("speedup_int8_vs_litert")
        added = row.get("int8_export_overhead")
        status = row["int8_status"]
        if status != "proven":
            status += f": {row['int8_reason']}"
        added_text = "-" if added is None else f"{row['int8_export_s']:.1f} s (+{100 * added:.0f} %)"
        int8_ms = ms.get("litert int8 wasm") or row.get("int8_proof_ms")
        lines.append(f"| {row['model']} | {status} | {_mb(row['litert_model_bytes'])} → "
                     f"**{_mb(row['int8_model_bytes'])}** | {_ms(ms.get('litert wasm'))} → "
                     f"**{_ms(int8_ms)}**{f' ({speedup:.1f}x)' if speedup else ''} | {_cost(row)} | "
                     f"{', '.join(row.get('int8_float_ops') or []) or 'none'} | {added_text} |")
    return lines

