"""Export: wall time, download size and TF.js accuracy per quantization (none, float16, uint8)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.common import Bench, BenchError, say, section_banner
from export import QUANTIZATIONS

SMOKE_DIGITS = 300
PAGE_MODEL_DIGITS = (300, 1000)  # parity-check digits (smoke, full) when a page section exports the model


def _row(quantize: str, wall: float, metadata: dict[str, Any] | None, error: str | None) -> dict[str, Any]:
    proof = (metadata or {}).get("proof") or {}
    node = proof.get("node") or {}
    parity = node.get("wasm") or next(iter(node.values()), {})
    figures = next(iter((parity.get("outputs") or {}).values()), {})
    accuracy = ((metadata or {}).get("mnist") or {}).get("accuracy") or {}
    return {
        "quantization": quantize,
        "wall_s": round(wall, 2),
        "tfjs_check_s": parity.get("seconds"),
        "download_bytes": (metadata or {}).get("download_bytes"),
        "files": len((metadata or {}).get("files") or {}),
        "digits": accuracy.get("digits"),
        "keras_accuracy": accuracy.get("native"),
        "tfjs_accuracy": accuracy.get("exported"),
        "tfjs_backend": "wasm" if "wasm" in node else next(iter(node), None),
        "agreement": figures.get("agreement"),
        "max_abs_diff": figures.get("max_abs_diff"),
        "passed": bool(proof.get("passed")) and error is None,
        "error": error,
    }


def export_at(bench: Bench, quantize: str, digits: int | None) -> tuple[dict[str, Any], float]:
    """Export `bench.model` at `quantize` into the work folder (remembered in `bench.exports`), proven
    in Node.js; returns (metadata, wall seconds). Raises BenchError for user/environment problems."""
    from export import ExportError, VerificationError, export_model

    out = bench.work / f"web_model-{quantize}"
    started = time.perf_counter()
    try:
        metadata = export_model(bench.require_model(), out, quantize=quantize, digits=digits, browser=False)
    except VerificationError:
        raise
    except ExportError as exc:
        raise BenchError(f"export ({quantize}): {exc}") from None
    bench.exports[quantize] = out
    return metadata, time.perf_counter() - started


def run(bench: Bench) -> dict[str, Any]:
    """Export the model at every quantization and check each in TF.js (Node.js)."""
    digits = bench.pick(SMOKE_DIGITS, None)
    model = bench.require_model()
    section_banner("export", f"{model.name} at {', '.join(QUANTIZATIONS)}; TF.js accuracy on "
                   f"{digits or 10_000:,} test digits")
    from mnist_tfjs.quiet import quiet_tensorflow

    quiet_tensorflow()
    from export import VerificationError
    from mnist_tfjs.quiet import import_tensorflowjs

    started = time.perf_counter()
    import_tensorflowjs()  # once, so that no row pays for the converter's import
    import_seconds = time.perf_counter() - started
    rows = []
    for quantize in QUANTIZATIONS:
        started = time.perf_counter()
        try:
            metadata, wall = export_at(bench, quantize, digits)
            error = None
        except VerificationError as exc:
            metadata, wall, error = exc.metadata, time.perf_counter() - started, str(exc)
        row = _row(quantize, wall, metadata, error)
        rows.append(row)
        accuracy = f"{row['tfjs_accuracy']:.2%}" if row["tfjs_accuracy"] is not None else "n/a"
        say(f"  {quantize:<8} {row['wall_s']:6.1f} s  {row['download_bytes'] or 0:>9,} bytes  "
            f"TF.js accuracy {accuracy} (Keras {row['keras_accuracy']:.2%})"
            + ("" if row["passed"] else f"  FAILED: {error}"))
    return {"model": model.name, "model_source": bench.model_source, "digits": digits or 10_000,
            "converter_import_s": round(import_seconds, 2), "rows": rows}


def web_model_dir(bench: Bench) -> Path:
    """The unquantized export of the benchmarked model for the page sections: the export section's,
    or a fresh one."""
    if "none" not in bench.exports:
        from mnist_tfjs.quiet import quiet_tensorflow

        quiet_tensorflow()
        from export import ExportError

        say("  exporting the model for the page (quantization none)")
        try:
            export_at(bench, "none", bench.pick(*PAGE_MODEL_DIGITS))
        except ExportError as exc:
            raise BenchError(f"export for the page: {exc}") from None
    return bench.exports["none"]
