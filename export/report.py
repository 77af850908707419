"""The short proof table `python -m export` prints (the same figures as metadata.json)."""

from __future__ import annotations

from typing import Any

from mnist_tfjs.export_files import LITERT_INT8_MODEL, LITERT_MODEL


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def adapter_text(adapter: dict[str, Any]) -> str:
    """A WebGPU adapter in words, e.g. "google swiftshader (a software adapter: ...)"."""
    name = " ".join(part for part in (adapter.get("vendor"), adapter.get("architecture"),
                                      adapter.get("description")) if part) or "unnamed"
    software = " (a software adapter: its timings say nothing of a GPU)" if adapter.get("software") else ""
    return name + software


def _result_lines(where: str, result: Any) -> list[str]:
    if not isinstance(result, dict):
        return [f"  {where:<14} not run"]
    if result.get("skipped"):
        return [f"  {where:<14} not run: {result['skipped']}"]
    if result.get("unavailable"):
        return [f"  {where:<14} {result['unavailable']}: not offered there"]
    lines = []
    verdict = "PASS" if result.get("passed") else "FAIL"
    for name, figures in (result.get("outputs") or {}).items():
        agreement = figures.get("agreement")
        agree = f"  argmax agreement {_pct(agreement)}" if agreement is not None else ""
        lines.append(f"  {where:<14} {name:<16} max |Δ| {figures['max_abs_diff']:.2e} "
                     f"({figures['relative_diff']:.1e} of scale {figures['scale']:.3g}){agree}")
    if "accuracy" in result:
        samples = f" on {result['samples']:,} digits" if result.get("samples") else ""
        lines.append(f"  {where:<14} test accuracy {_pct(result['accuracy'])}{samples}")
    if not lines:
        lines.append(f"  {where:<14} {result.get('error') or ''}".rstrip())
    lines[-1] += f"  {verdict}"
    if result.get("within_float32_rounding"):
        lines[-1] += " (within float32 rounding)"
    if result.get("of"):
        lines.append(f"  {'':<14} {_samples_line(result)}")
    if result.get("adapter"):
        lines.append(f"  {'':<14} WebGPU adapter: {adapter_text(result['adapter'])}")
    return lines


def _samples_line(result: dict[str, Any]) -> str:
    """How many samples a backend compared and why it stopped there, e.g. "12 of 256 samples at ..."."""
    per_sample = result.get("ms_per_sample")
    cost = f", {per_sample:,.1f} ms each" if per_sample is not None else ""
    repeated = f"; {result['repeated']:,} repeated, the same" if result.get("repeated") else ""
    if result.get("stopped_by") == "time budget":
        budget = f"{result.get('budget_s'):g} s budget"
        return f"{result['samples']:,} of {result['of']:,} samples ({budget}{cost}){repeated}"
    return f"all {result['samples']:,} samples{cost}{repeated}"


def _rounding_lines(rounding: dict[str, Any] | None) -> list[str]:
    """Keras' own float32 error per output, and the allowance it gave (export/rounding.py)."""
    if not rounding:
        return []
    lines = []
    for name, figures in rounding["outputs"].items():
        allowed = figures.get("allowed_max_abs_diff")
        factor = rounding["factor"]
        verdict = (f"allowed max |Δ| {allowed:.2e} ({factor:g} times Keras' error)" if allowed is not None
                   else f"no allowance: over {rounding['ceiling']:g} of scale, float32 is too coarse")
        error = figures["keras_vs_float64"]
        lines.append(f"  float32        {name:<16} Keras itself {error:.2e} from float64 "
                     f"({figures['keras_vs_float64_relative']:.1e} of scale, {rounding['samples']} samples); "
                     f"{verdict}")
    return lines


def format_table(metadata: dict[str, Any]) -> str:
    """Per runtime and backend: max |Δ| per output, agreement, verdict; size, rewrites, time."""
    proof = metadata.get("proof") or {}
    lines = []
    if not metadata.get("verified"):
        lines.append(f"UNVERIFIED export (--no-verify), quantization {metadata['quantization']}")
    else:
        limits = proof.get("thresholds") or {}
        numbers = {key: value for key, value in limits.items() if isinstance(value, float | int)}
        rule = ", ".join(f"{key} {value:g}" for key, value in numbers.items())
        lines.append(f"TF.js parity on {proof.get('samples', 0):,} samples ({proof.get('source')}), "
                     f"quantization {metadata['quantization']}; need {rule}")
        lines += _rounding_lines(proof.get("float32_rounding"))
        spreads = proof.get("output_spread") or {}
        if spreads:
            accepted = proof.get("constant_outputs_accepted")
            flat = " (accepted with --accept-constant-outputs)" if accepted else ""
            figures = ", ".join(f"{name} {value:.2g}" for name, value in spreads.items())
            lines.append(f"  output spread  {figures} of scale across samples{flat}")
        for backend, result in (proof.get("node") or {}).items():
            lines += _result_lines(f"node {backend}", result)
        for backend, result in (proof.get("browser") or {}).items():
            lines += _result_lines(f"browser {backend}", result)
        if proof.get("browser") is None:
            lines.append("  browser        not run")
        lines.append(f"  result         {'PASS' if proof.get('passed') else 'FAIL'}")
    mnist = metadata.get("mnist")
    if mnist:
        accuracy = mnist["accuracy"]
        lines.append(f"  test accuracy  {_pct(accuracy['native'])} Keras → "
                     f"{_pct(accuracy['exported'])} TF.js "
                     f"on {accuracy['digits']:,} digits")
    lines += litert_lines(metadata.get("litert"), None)
    lines += int8_lines(metadata.get("litert_int8"))
    if metadata.get("runtimes"):
        lines += _runtime_lines(metadata["runtimes"])
    for rewrite in metadata.get("rewrites") or []:
        lines.append(f"  rewrite        {rewrite.get('layer') or rewrite['class']}: {rewrite['what']}")
    size = metadata["download_bytes"]
    lines.append(f"  download size  {size:,} bytes ({size / 1024:.1f} KiB)")
    lines.append(f"  export time    {metadata['export_seconds']:.1f} s")
    return "\n".join(lines)


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.2f} MiB"


def litert_lines(litert: dict[str, Any] | None, runtimes: dict[str, Any] | None) -> list[str]:
    """The LiteRT.js target: its proof per accelerator, its verdict, and the runtime advice."""
    if not litert:
        return []
    lines = []
    proof = litert.get("proof") or {}
    for accelerator, result in (proof.get("browser") or {}).items():
        lines += _result_lines(f"LiteRT.js {accelerator}", result)
    for accelerator, reason in (proof.get("skipped") or {}).items():
        lines.append(f"  {'LiteRT.js ' + accelerator:<14} not run: {reason}")
    for accelerator, error in (proof.get("unavailable") or {}).items():
        lines.append(f"  {'LiteRT.js ' + accelerator:<14} cannot run {LITERT_MODEL} ({error}): "
                     "not offered there")
    status = litert["status"]
    if status in ("proven", "unverified"):
        size = litert.get("bytes") or 0
        lines.append(f"  {LITERT_MODEL:<14} {status}, batch {litert.get('batch')}, "
                     f"{size:,} bytes ({_kib(size)})")
    else:
        lines.append(f"  {LITERT_MODEL:<14} not published ({status}): {litert.get('reason')}")
    if runtimes:
        lines += _runtime_lines(runtimes)
    return lines


def int8_lines(block: dict[str, Any] | None) -> list[str]:
    """The full-integer model: calibration, its held-out proof against the rules, its verdict."""
    if not block or block.get("status") == "off":
        return []
    lines = []
    calibration = block.get("calibration") or {}
    if calibration:
        lines.append(f"  int8 calibration {calibration['samples']:,} samples ({calibration['source']}); "
                     f"proven on {calibration['held_out']:,} held-out samples")
    limits = block.get("thresholds") or {}
    if limits:
        # the rules are numbers; each output's int8 step beside them is what "one int8 step" means
        rule = ", ".join(f"{key} {value:g}" for key, value in limits.items()
                         if isinstance(value, int | float))
        lines.append(f"  int8 rules     need {rule}")
    for accelerator, result in ((block.get("proof") or {}).get("browser") or {}).items():
        for name, figures in result["outputs"].items():
            agreement = figures.get("agreement")
            ties = f" (+{figures['ties']:,} ties within one int8 step)" if figures.get("ties") else ""
            agree = f"  argmax agreement {_pct(agreement)}{ties}" if agreement is not None else ""
            lines.append(f"  {'LiteRT.js int8':<14} {name:<16} max |Δ| {figures['max_abs_diff']:.2e}, RMS "
                         f"{figures['rms_error_of_spread']:.3f} of spread{agree}")
        accuracy = result.get("accuracy")
        if accuracy:
            lines.append(f"  {'LiteRT.js int8':<14} test accuracy {_pct(accuracy['keras'])} Keras → "
                         f"{_pct(accuracy['int8'])} int8 ({accuracy['change_pp']:+.2f} pp) on "
                         f"{accuracy['digits']:,} digits")
        lines[-1] += f"  {'PASS' if result.get('passed') else 'FAIL'} ({accelerator})"
        if result.get("batch1_ms") is not None:
            lines.append(f"  {'':<14} batch 1: {accelerator} {result['batch1_ms']:.3g} ms (median of "
                         f"{result.get('batch1_calls')} calls), {result['samples']:,} held-out samples "
                         "compared")
        if result.get("adapter"):
            lines.append(f"  {'':<14} WebGPU adapter: {adapter_text(result['adapter'])}")
    if block.get("float_ops"):
        lines.append(f"  int8 float ops {', '.join(block['float_ops'])} (kept in float by "
                     "--allow-float-fallback)")
    status = block["status"]
    if status in ("proven", "unverified"):
        size = block.get("bytes") or 0
        lines.append(f"  {LITERT_INT8_MODEL} {status}, full integer, {size:,} bytes ({_kib(size)}), "
                     f"{block.get('seconds') or 0:.1f} s to convert and prove")
    else:
        lines.append(f"  {LITERT_INT8_MODEL} not published ({status}): {block.get('reason')}")
    return lines


def _runtime_lines(runtimes: dict[str, Any]) -> list[str]:
    """Per runtime and precision: ms per call at batch 1 by backend, the downloads, the accuracy
    cost; then the advice."""
    lines = []
    for name, label in (("tfjs", "TF.js"), ("litert", "LiteRT.js"), ("litert_int8", "LiteRT.js int8")):
        figures = runtimes.get(name)
        if not figures:
            continue
        counts = figures.get("calls") or {}
        software = set(figures.get("software_adapter") or ())
        calls = ", ".join(f"{backend} {ms:.3g} ms{' (software adapter)' if backend in software else ''}"
                          for backend, ms in figures["ms_per_call"].items())
        fewest = min(counts.values(), default=0)
        precision = figures.get("precision")
        lines.append(f"  {label:<14} {f'{precision}, ' if precision else ''}batch 1: {calls} (medians of "
                     f"{fewest}+ calls); download {_kib(figures['runtime_gzip_bytes'])} runtime + "
                     f"{_kib(figures['model_gzip_bytes'])} model ({runtimes.get('compression')})")
        if figures.get("accuracy_text"):
            lines.append(f"  {'':<14} vs Keras: {figures['accuracy_text']}")
    advice = runtimes.get("advice") or {}
    if advice.get("text"):
        lines.append(f"  advice         {advice['text']}")
    return lines
