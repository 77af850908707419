"""The parity proof: run the exported model in TF.js (Node.js) and compare with native Keras.

Images go to Node as a raw little-endian float32 file and probabilities come back the
same way (`export/predict.js`); nothing large travels as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from common.paths import REPO_ROOT
from export.errors import ExportError, VerificationError

SCRIPT = Path(__file__).resolve().parent / "predict.js"
SETUP_HINT = f"run `npm ci` in {REPO_ROOT} (or `make setup`)"

# Per quantization: what the exported model must achieve against the native one.
THRESHOLDS: dict[str, dict[str, float]] = {
    "none": {"min_agreement": 1.0, "max_abs_diff": 1e-4},
    "float16": {"min_agreement": 0.9995, "max_accuracy_change_pp": 0.02},
    "uint8": {"max_accuracy_drop_pp": 0.1},
}


def _run_node(args: list[str], node: str | None, timeout: float) -> tuple[int, dict[str, Any], str]:
    node = node or shutil.which("node")
    if node is None:
        raise ExportError(f"Node.js not found (`node` on PATH); install Node.js 18+ and {SETUP_HINT}, "
                          "or pass --no-verify")
    try:
        proc = subprocess.run([node, str(SCRIPT), *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except OSError as exc:
        raise ExportError(f"cannot start Node.js at {node} ({exc.strerror}); install Node.js 18+") from None
    except subprocess.TimeoutExpired:
        raise ExportError(f"TF.js in Node.js took longer than {timeout:.0f} s and was stopped; "
                          "is the machine overloaded?") from None
    status: dict[str, Any] = {}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            try:
                status = json.loads(line)
            except json.JSONDecodeError:
                continue
            break
    stderr_tail = proc.stderr.strip().splitlines()[-1][:200] if proc.stderr.strip() else ""
    return proc.returncode, status, stderr_tail


def _node_error(code: int, status: dict[str, Any], stderr_tail: str) -> ExportError:
    message = status.get("error") or stderr_tail or f"exit code {code}"
    if code == 3:
        return ExportError(f"{message}; {SETUP_HINT}")
    if code == 4:
        return ExportError(f"{message}; install a newer Node.js, then {SETUP_HINT}")
    return VerificationError(f"TF.js could not run the exported model: {message}")


def node_runtime(node: str | None = None) -> dict[str, str]:
    """Check that Node.js and the npm packages load; return {"node": version, "tfjs": version}."""
    code, status, stderr_tail = _run_node(["--check"], node, timeout=60)
    if code in (3, 4):
        raise _node_error(code, status, stderr_tail)
    if code != 0 or not status.get("ok"):
        reason = status.get("error") or stderr_tail or f"exit code {code}"
        raise ExportError(f"Node.js cannot load TF.js ({reason}); {SETUP_HINT}")
    return {"node": str(status["node"]), "tfjs": str(status["tfjs"])}


def predict_with_tfjs(model_dir: Path, images: np.ndarray, backend: str = "auto",
                      node: str | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Run the graph model in `model_dir` on `images` (N, 28, 28, 1) in TF.js under Node.js.

    Returns (probabilities (N, 10) float32, status) where status names the backend used
    ("wasm" where it loads, else "cpu") and the seconds spent predicting.
    """
    images = np.ascontiguousarray(images, dtype="<f4")
    count = int(images.shape[0])
    with tempfile.TemporaryDirectory(prefix="mnist-parity-") as tmp:
        images_path = Path(tmp) / "images.f32"
        probs_path = Path(tmp) / "probs.f32"
        images.tofile(images_path)
        timeout = 120 + count * (0.1 if backend == "cpu" else 0.01)
        code, status, stderr_tail = _run_node(
            [str(model_dir), str(images_path), str(count), str(probs_path), "--backend", backend],
            node, timeout)
        if code != 0 or not status.get("ok"):
            raise _node_error(code, status, stderr_tail)
        probs = np.fromfile(probs_path, dtype="<f4")
    if probs.size != count * 10:
        raise VerificationError(f"TF.js returned {probs.size} values for {count} digits, "
                                f"expected {count * 10}")
    return probs.reshape(count, 10), status


def compare(native: np.ndarray, exported: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Parity figures between two (N, 10) probability arrays on digits with true `labels`."""
    native_top = native.argmax(axis=1)
    exported_top = exported.argmax(axis=1)
    diff = np.abs(native.astype(np.float64) - exported.astype(np.float64))
    count = int(labels.shape[0])
    native_correct = int((native_top == labels).sum())
    exported_correct = int((exported_top == labels).sum())
    return {
        "digits": count,
        "agreement": float((native_top == exported_top).mean()),
        "disagreements": int((native_top != exported_top).sum()),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "native_accuracy": native_correct / count,
        "exported_accuracy": exported_correct / count,
        "accuracy_change_pp": 100.0 * (exported_correct - native_correct) / count,
        "all_finite": bool(np.isfinite(exported).all()),
    }


def check_thresholds(parity: dict[str, Any], quantize: str) -> list[str]:
    """The thresholds `parity` misses for this quantization (empty when it passes)."""
    limits = THRESHOLDS[quantize]
    eps = 1e-9  # figures are ratios of integers; compare without float noise
    failures = []
    if not parity["all_finite"]:
        failures.append("TF.js returned NaN or infinite probabilities")
    if "min_agreement" in limits and parity["agreement"] < limits["min_agreement"] - eps:
        failures.append(f"argmax agreement {parity['agreement']:.4%} < {limits['min_agreement']:.2%}")
    if "max_abs_diff" in limits and not parity["max_abs_diff"] <= limits["max_abs_diff"]:
        failures.append(f"max |Δp| {parity['max_abs_diff']:.2e} > {limits['max_abs_diff']:.0e}")
    change = parity["accuracy_change_pp"]
    if "max_accuracy_change_pp" in limits and abs(change) > limits["max_accuracy_change_pp"] + eps:
        failures.append(f"accuracy change {change:+.3f} pp exceeds ±{limits['max_accuracy_change_pp']} pp")
    if "max_accuracy_drop_pp" in limits and -change > limits["max_accuracy_drop_pp"] + eps:
        failures.append(f"accuracy drop {-change:.3f} pp exceeds {limits['max_accuracy_drop_pp']} pp")
    return failures
