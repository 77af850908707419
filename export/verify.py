"""The parity proof in Node.js: run the exported model in TF.js on the proof bundle (wasm and cpu).

Samples go to Node as a proof bundle (`proof.json` + raw little-endian `proof.bin`), the
comparison runs in `export/proof.js` (the same code the browser runs), and only the RESULT
comes back as JSON; TF.js' outputs come back as a raw file when asked for.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from export.errors import ExportError, VerificationError
from mnist_tfjs.paths import REPO_ROOT

SCRIPT = Path(__file__).resolve().parent / "predict.js"
SETUP_HINT = f"run `npm ci` in {REPO_ROOT} (or `make setup`)"

# Per quantization: what TF.js must achieve against Keras, per output and backend. The relative
# difference is max |TF.js - Keras| over max |Keras| of that output; agreement is argmax agreement
# for classifier outputs (softmax), where a flip between two classes closer than the allowed
# error counts as a tie, not a disagreement.
THRESHOLDS: dict[str, dict[str, float]] = {
    "none": {"max_relative_diff": 1e-4, "min_agreement": 1.0},
    "float16": {"max_relative_diff": 2e-2, "min_agreement": 0.99},
    "uint8": {"max_relative_diff": 0.1, "min_agreement": 0.95},
}
# MNIST digit models keep the rules they were published under (accuracy on the test digits).
MNIST_THRESHOLDS: dict[str, dict[str, float]] = {
    "none": {"max_relative_diff": 1e-4, "min_agreement": 1.0},
    "float16": {"min_agreement": 0.9995, "max_accuracy_change_pp": 0.02},
    "uint8": {"max_accuracy_drop_pp": 0.1},
}
BACKENDS = ("wasm", "cpu")


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


def predict_with_tfjs(model_dir: Path, bundle_dir: Path, backends: tuple[str, ...] = ("wasm",), *,
                      samples: int, outputs: list[tuple[str, str, tuple[int, ...]]] | None = None,
                      batch: int = 32, node: str | None = None,
                      ) -> dict[str, tuple[dict[str, Any], dict[str, np.ndarray] | None]]:
    """Run the proof bundle in `bundle_dir` on the graph model in `model_dir`, in one Node.js process,
    on each of `backends` in turn.

    Returns {backend: (RESULT, TF.js outputs)}; the outputs ({name: array}) come back only when
    `outputs` lists (name, dtype, shape) of the expected arrays, in the bundle's order. A backend
    TF.js cannot run the model on raises VerificationError whose `backend` names it.
    """
    with tempfile.TemporaryDirectory(prefix="tfjs-export-outputs-") as tmp:
        args = [str(model_dir), str(bundle_dir), "--backend", ",".join(backends), "--batch", str(batch)]
        values_path = Path(tmp) / "outputs.bin"
        if outputs is not None:
            args += ["--outputs", str(values_path)]
        timeout = 180 + samples * sum(0.2 if backend == "cpu" else 0.05 for backend in backends)
        code, status, stderr_tail = _run_node(args, node, timeout)
        if code != 0 or not status.get("ok"):
            error = _node_error(code, status, stderr_tail)
            error.backend = status.get("backend")  # type: ignore[attr-defined]
            raise error
        found: dict[str, tuple[dict[str, Any], dict[str, np.ndarray] | None]] = {}
        for backend in backends:
            values = None
            if outputs is not None:
                raw = Path(f"{values_path}.{backend}").read_bytes()
                values, offset = {}, 0
                for name, dtype, shape in outputs:
                    size = int(np.prod(shape)) * 4
                    kind = "<f4" if dtype == "float32" else "<i4"
                    values[name] = np.frombuffer(raw[offset:offset + size], dtype=kind).reshape(shape)
                    offset += size
            result = dict(status["results"][backend])
            result["seconds"] = round(float(status["seconds"][backend]), 2)
            found[backend] = (result, values)
    return found


def accuracy_failures(native_accuracy: float, exported_accuracy: float,
                      limits: dict[str, float]) -> list[str]:
    """The MNIST accuracy rules (float16, uint8) that the exported model misses."""
    change = 100.0 * (exported_accuracy - native_accuracy)
    eps = 1e-9  # figures are ratios of integers; compare without float noise
    failures = []
    if "max_accuracy_change_pp" in limits and abs(change) > limits["max_accuracy_change_pp"] + eps:
        failures.append(f"accuracy change {change:+.3f} pp exceeds ±{limits['max_accuracy_change_pp']} pp")
    if "max_accuracy_drop_pp" in limits and -change > limits["max_accuracy_drop_pp"] + eps:
        failures.append(f"accuracy drop {-change:.3f} pp exceeds {limits['max_accuracy_drop_pp']} pp")
    return failures
