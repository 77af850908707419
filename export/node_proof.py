"""The parity proof in Node.js: run the exported model in TF.js on the proof bundle (wasm and cpu).

Samples go to Node as a proof bundle (`proof.json` + raw little-endian `proof.bin`), the
comparison runs in `export/proof.js` (the same code the browser runs), and only the RESULT
comes back as JSON; TF.js' outputs come back as a raw file when asked for. Node reports each
call of the model on stderr, which becomes progress for the caller.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.npm_packages import NpmPackagesMissing, node_modules

from .errors import ExportError, VerificationError

SCRIPT = Path(__file__).resolve().parent / "node_proof.js"
NODE_BACKENDS = ("wasm", "cpu")
SETUP_HINT = "run `npm ci` in the project folder (or `make setup`)"
CHECK_TIMEOUT_S = 60
# Beyond its budget a backend needs time to start, load the model and make its warm-up call.
STARTUP_ALLOWANCE_S = 300

Progress = Callable[[dict[str, Any]], None]


def _node_environment() -> dict[str, str]:
    """The environment Node runs in: `require` finds the project's npm packages wherever they are."""
    try:
        modules = node_modules()
    except NpmPackagesMissing as exc:
        raise ExportError(str(exc)) from None
    return {**os.environ, "NODE_PATH": str(modules)}


def _status_line(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


class _NodeRun:
    """One Node.js process: stdout collected, stderr read as it comes (progress lines, the rest kept)."""

    def __init__(self, args: list[str], node: str, on_progress: Progress | None,
                 script: Path | None = None) -> None:
        self.process = subprocess.Popen([node, str(script or SCRIPT), *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=_node_environment())
        self.on_progress = on_progress
        self.last_progress: dict[str, Any] = {}
        self.stderr_lines: list[str] = []
        self.stdout = ""
        self.readers = [threading.Thread(target=self._read_stdout, daemon=True),
                        threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self.readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.read()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if line.startswith("PROGRESS "):
                try:
                    self.last_progress = json.loads(line[len("PROGRESS "):])
                except json.JSONDecodeError:
                    continue
                if self.on_progress is not None:
                    self.on_progress(self.last_progress)
            elif line.strip():
                self.stderr_lines = [*self.stderr_lines[-20:], line.rstrip()]

    def wait(self, timeout: float | None) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            for reader in self.readers:
                reader.join(timeout=5)
        return code


def run_node_script(args: list[str], node: str | None, timeout: float | None,
                    on_progress: Progress | None = None, script: Path | None = None,
                    ) -> tuple[int, dict[str, Any], str]:
    """Run one of the exporter's Node scripts (the proof's, SCRIPT, unless `script` names another,
    such as the locator's) with `args`, on `node` (None: the `node` on PATH), for at most `timeout`
    seconds. Returns (exit code, status: the last JSON line of stdout, the last line of stderr);
    `node_script_error` turns a failed run into the error to raise. Raises ExportError when Node is
    missing, cannot start or runs past `timeout`.
    """
    node = node or shutil.which("node")
    if node is None:
        raise ExportError("Node.js not found (`node` on PATH); install Node.js 18+ with npm (in a clone of "
                          "the project, then run `npm ci`), or pass --no-verify")
    try:
        run = _NodeRun(args, node, on_progress, script or SCRIPT)
    except OSError as exc:
        raise ExportError(f"cannot start Node.js at {node} ({exc.strerror}); install Node.js 18+") from None
    try:
        code = run.wait(timeout)
    except subprocess.TimeoutExpired:
        raise ExportError(_timeout_message(timeout or 0, run.last_progress)) from None
    stderr_tail = run.stderr_lines[-1][:200] if run.stderr_lines else ""
    return code, _status_line(run.stdout), stderr_tail


def _timeout_message(timeout: float, progress: dict[str, Any]) -> str:
    """Where TF.js was when it was stopped: the backend, how far, what one sample cost."""
    if not progress:
        return (f"TF.js in Node.js did not finish starting and loading the model in {timeout:.0f} s "
                "and was stopped; prove on fewer backends (--backend wasm) or a smaller --proof-seconds")
    per_sample = progress.get("msPerSample") or 0
    return (f"TF.js in Node.js was stopped after {timeout:.0f} s on the {progress.get('backend')} backend "
            f"({progress.get('done')} of {progress.get('total')} samples, {per_sample / 1000:.2f} s each); "
            "prove on fewer backends (--backend wasm) or a smaller --proof-seconds")


def node_script_error(code: int, status: dict[str, Any], stderr_tail: str) -> ExportError:
    """The error for a Node script that failed (`run_node_script`'s result): exit codes 3 and 4 are
    missing npm packages and a Node.js too old for them (ExportError, with the fix); any other is
    TF.js failing on the model (VerificationError)."""
    message = status.get("error") or stderr_tail or f"exit code {code}"
    if code == 3:
        return ExportError(f"{message}; {SETUP_HINT}")
    if code == 4:
        return ExportError(f"{message}; install a newer Node.js, then {SETUP_HINT}")
    return VerificationError(f"TF.js could not run the exported model: {message}")


def node_runtime(node: str | None = None) -> dict[str, str]:
    """Check that Node.js and the npm packages load; return {"node": version, "tfjs": version}."""
    code, status, stderr_tail = run_node_script(["--check"], node, timeout=CHECK_TIMEOUT_S)
    if code in (3, 4):
        raise node_script_error(code, status, stderr_tail)
    if code != 0 or not status.get("ok"):
        reason = status.get("error") or stderr_tail or f"exit code {code}"
        raise ExportError(f"Node.js cannot load TF.js ({reason}); {SETUP_HINT}")
    return {"node": str(status["node"]), "tfjs": str(status["tfjs"])}


def _read_outputs(path: Path, outputs: list[tuple[str, str, tuple[int, ...]]]) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    values, offset = {}, 0
    for name, dtype, shape in outputs:
        size = int(np.prod(shape)) * 4
        kind = "<f4" if dtype == "float32" else "<i4"
        values[name] = np.frombuffer(raw[offset:offset + size], dtype=kind).reshape(shape)
        offset += size
    return values


def predict_with_tfjs(model_dir: Path, bundle_dir: Path, backends: tuple[str, ...] = ("wasm",), *,
                      budget_s: float | None = None,
                      outputs: list[tuple[str, str, tuple[int, ...]]] | None = None,
                      batch: int = 32, node: str | None = None, on_progress: Progress | None = None,
                      ) -> dict[str, tuple[dict[str, Any], dict[str, np.ndarray] | None]]:
    """Run the proof bundle in `bundle_dir` on the graph model in `model_dir`, in one Node.js process,
    on each of `backends` in turn, each for at most `budget_s` seconds of comparing (None: every sample).

    Returns {backend: (RESULT, TF.js outputs)}; the outputs ({name: array}, rows past RESULT's
    `samples` zero) come back only when `outputs` lists (name, dtype, shape) of the expected arrays,
    in the bundle's order. A backend TF.js cannot run the model on raises VerificationError whose
    `backend` names it. `on_progress` gets Node's progress after each call of the model.
    """
    with tempfile.TemporaryDirectory(prefix="tfjs-export-outputs-") as tmp:
        args = [str(model_dir), str(bundle_dir), "--backend", ",".join(backends), "--batch", str(batch)]
        values_path = Path(tmp) / "outputs.bin"
        if budget_s:
            args += ["--budget-s", str(budget_s)]
        if outputs is not None:
            args += ["--outputs", str(values_path)]
        timeout = STARTUP_ALLOWANCE_S + 2 * budget_s * len(backends) if budget_s else None
        started = time.monotonic()
        code, status, stderr_tail = run_node_script(args, node, timeout, on_progress)
        if code != 0 or not status.get("ok"):
            error = node_script_error(code, status, stderr_tail)
            error.backend = status.get("backend")  # type: ignore[attr-defined]
            raise error
        found: dict[str, tuple[dict[str, Any], dict[str, np.ndarray] | None]] = {}
        for backend in backends:
            values = _read_outputs(Path(f"{values_path}.{backend}"), outputs) if outputs is not None else None
            result = dict(status["results"][backend])
            result["seconds"] = round(float(status["seconds"].get(backend, time.monotonic() - started)), 2)
            found[backend] = (result, values)
    return found
