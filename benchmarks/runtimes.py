"""TF.js beside LiteRT.js: the same Keras models exported to both targets by `export.export_model`,
then timed in one headless Chromium page served by our app, as a visitor's browser runs them.

Per model: milliseconds per call at batch 1 on TF.js wasm and webgl and LiteRT.js wasm (the median
of `calls` timed calls after `warmup` untimed ones, through the shared proof runner's `timeCalls`,
on the model page's own modules), the speed-up, the downloads (runtime gzip and model, from
metadata.json's `runtimes`), and how far each runtime's outputs are from Keras' (the export's
Chromium proofs). For the digit model, also the digit page's open-to-ready and first answer on
each runtime: what the first-load default is decided on. `python -m benchmarks --only runtimes`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Bench, BenchError, say, section_banner
from harness.page_driver import chromium, serving, wait_ready

TFJS_BACKENDS = ("wasm", "webgl")  # cpu is 10-50x slower than wasm: not a runtime anyone ships
READY_RUNS = (1, 3)  # digit page loads per runtime (smoke, full)


@dataclass(frozen=True)
class Plan:
    """How many calls are timed, and how the exporter proves each model."""

    calls: int
    warmup: int
    samples_count: int  # generated proof samples (generic models)
    digits: int  # MNIST test digits (the digit model)


FULL = Plan(calls=30, warmup=5, samples_count=32, digits=1000)
SMOKE = Plan(calls=5, warmup=1, samples_count=8, digits=100)


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


def _smoke_mobilenet(_bench: Bench) -> Any:
    from benchmarks.app_models import smoke_mobilenet

    return smoke_mobilenet()


SUBJECTS = (
    Subject("digit CNN", _digit_model),
    Subject("MobileNetV2 alpha 0.35, 96x96", _mobilenet(96, 0.35)),
    Subject("MobileNetV2, 224x224", _mobilenet(224, 1.0)),
)
SMOKE_SUBJECTS = (Subject("MobileNetV2 alpha 0.35, 32x32, 10 classes", _smoke_mobilenet),)

# Runs in the model page (/model): every runtime and backend in turn, the model loaded afresh,
# `calls` batch-1 calls timed by the shared runner after `warmup` untimed ones.
TIME_CALLS = """async ({backends, calls, warmup}) => {
  const {loadBundle} = await import('/static/proof-check.js');
  const {loadGraphModel, trySetBackend} = await import('/static/model.js');
  const {compileTflite, fetchTflite, loadLiteRtRuntime, provenLiteRt} = await import('/static/litert.js');
  const metadata = await (await fetch('/model/metadata.json')).json();
  const bundle = await loadBundle();
  const message = (e) => String(e && e.message || e);
  const out = {};
  for (const backend of backends) {
    if (!(await trySetBackend(backend))) { out[`tfjs ${backend}`] = {error: 'did not start'}; continue; }
    const model = await loadGraphModel();
    try {
      out[`tfjs ${backend}`] = await tfjsProof.timeCalls(tf, model, bundle, {calls, warmup});
    } catch (e) { out[`tfjs ${backend}`] = {error: message(e)}; } finally { model.dispose(); }
  }
  if (provenLiteRt(metadata)) {
    try {
      const litert = await loadLiteRtRuntime();
      const model = await compileTflite(await fetchTflite(metadata), 'wasm');
      try {
        const runtime = litertProof.runtime(litert);
        out['litert wasm'] = await tfjsProof.timeCalls(runtime, model, bundle, {calls, warmup});
      } finally { model.delete(); }
    } catch (e) { out['litert wasm'] = {error: message(e)}; }
  }
  return out;
}"""


def time_calls(page: Any, plan: Plan) -> dict[str, dict[str, Any]]:
    """{"tfjs wasm": {ms, calls} | {error}, "tfjs webgl": ..., "litert wasm": ...} on an open model page."""
    page.wait_for_function("() => window.modelPage !== undefined")
    page.evaluate("window.modelPage.ready")
    return page.evaluate(TIME_CALLS, {"backends": list(TFJS_BACKENDS), "calls": plan.calls,
                                      "warmup": plan.warmup})


def digit_page_loads(browser: Any, url: str, runs: int) -> dict[str, dict[str, Any]]:
    """Per runtime, the digit page opened `runs` times in a fresh context: median open-to-ready
    (navigation start to model loaded and warmed up) and first answer (ready plus one digit read)."""
    figures = {}
    for runtime in ("tfjs", "litert"):
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
    runtimes = metadata.get("runtimes") or {}
    ms = {key: value.get("ms") for key, value in calls.items()}
    tfjs_wasm, litert_wasm = ms.get("tfjs wasm"), ms.get("litert wasm")
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
    }


def export_both(model: Any, out: Path, plan: Plan) -> tuple[dict[str, Any], float]:
    """`export.export_model` with LiteRT.js required: (metadata, seconds); BenchError when it fails."""
    from export import ExportError, export_model

    started = time.perf_counter()
    try:
        metadata = export_model(model, out, litert=True, samples_count=plan.samples_count, digits=plan.digits)
    except ExportError as exc:
        raise BenchError(f"export of {out.name}: {exc}") from None
    return metadata, time.perf_counter() - started


def measure(subject: Subject, bench: Bench, plan: Plan, browser: Any) -> dict[str, Any]:
    """Export one model to both targets, time both runtimes in Chromium; its row."""
    import keras

    say(f"  {subject.name}: building and exporting (TF.js + LiteRT.js, both proven)")
    model = subject.build(bench)
    out = bench.work / f"runtimes-{len(list(bench.work.glob('runtimes-*')))}"
    metadata, export_s = export_both(model, out, plan)
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
    timed = {key: value for key, value in row["ms_per_call"].items() if value is not None}
    parts = [", ".join(f"{key} {value:.3g} ms" for key, value in timed.items())]
    if row["speedup_litert_vs_tfjs_wasm"]:
        parts.append(f"LiteRT.js {row['speedup_litert_vs_tfjs_wasm']:.1f}x TF.js wasm")
    if row["litert_status"] != "proven":
        parts.append(f"LiteRT.js {row['litert_status']}: {row['litert_reason']}")
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
            "backends": [f"tfjs {b}" for b in TFJS_BACKENDS] + ["litert wasm"],
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
        ms = row["ms_per_call"]
        speedup = row["speedup_litert_vs_tfjs_wasm"]
        lines.append(f"| {row['model']} | {_ms(ms.get('tfjs wasm'))} | {_ms(ms.get('tfjs webgl'))} | "
                     f"**{_ms(ms.get('litert wasm'))}** | {f'{speedup:.1f}x' if speedup else '-'} | "
                     f"{_mb(row['tfjs_runtime_gzip_bytes'])} / {_mb(row['litert_runtime_gzip_bytes'])} | "
                     f"{_mb(row['tfjs_model_bytes'])} / {_mb(row['litert_model_bytes'])} | "
                     f"{_rel(row['tfjs_vs_keras'])} / {_rel(row['litert_vs_keras'])} |")
    for row in fig["rows"]:
        pages = row.get("digit_page")
        if pages:
            cells = "; ".join(f"{'TF.js' if runtime == 'tfjs' else 'LiteRT.js'} open-to-ready "
                              f"{f['ready_ms_median']:.0f} ms, first answer "
                              f"{f['first_answer_ms_median']:.0f} ms" for runtime, f in pages.items())
            lines += ["", f"Digit page, first load (median of {len(next(iter(pages.values()))['ready_ms'])}, "
                      f"empty cache, loopback): {cells}."]
        if row.get("advice"):
            lines += ["", f"{row['model']}, the exporter's advice: {row['advice']}"]
    return lines

