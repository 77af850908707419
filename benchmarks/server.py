"""Server: requests/s and error counts for static files and `/api/predict` under a bounded local load,
with the server process's memory before and after. The server is `python -m web` in a subprocess."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Bench, BenchError, say, section_banner
from benchmarks.export_bench import web_model_dir
from benchmarks.load import run_load
from mnist_tfjs.export_files import MODEL_JSON
from mnist_tfjs.paths import REPO_ROOT

CONNECTIONS = 4
SERVING_LINE = "Serving the draw-a-digit page on "


@dataclass(frozen=True)
class Plan:
    """Seconds of load per static file and for the predict endpoint."""

    static_s: float
    predict_s: float


FULL = Plan(static_s=5, predict_s=10)
SMOKE = Plan(static_s=1, predict_s=1)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB, from /proc."""
    figures: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return figures


@contextlib.contextmanager
def web_server(model_dir: Path, native_model: Path,
               threads: int = 4) -> Iterator[tuple[subprocess.Popen, str]]:
    """`python -m web` on a free 127.0.0.1 port; yields (process, url) once it listens."""
    command = [sys.executable, "-m", "web", "--model-dir", str(model_dir),
               "--native-model", str(native_model), "--host", "127.0.0.1", "--port", "0",
               "--threads", str(threads)]
    proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: queue.Queue[str] = queue.Queue()
    tail: list[str] = []

    def drain() -> None:
        for line in proc.stdout:
            lines.put(line)
            tail.append(line.rstrip())
            del tail[:-20]

    threading.Thread(target=drain, daemon=True).start()
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=0.5)
                if SERVING_LINE in line:
                    url = line.split(SERVING_LINE, 1)[1].split()[0]
        if url is None:
            raise BenchError(f"`python -m web` did not start: {' | '.join(tail[-3:]) or 'no output'}")
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def wait_native_ready(url: str, timeout_s: float = 180) -> None:
    """Poll `/api/status` until the native model has loaded; BenchError if it fails."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = _get_json(url + "api/status")
        if status.get("native_state") == "ready":
            return
        if status.get("native_state") == "failed":
            raise BenchError(f"the server's native model failed to load: {status.get('native_error')}")
        time.sleep(0.5)
    raise BenchError(f"the server's native model was not ready after {timeout_s:.0f} s")


def _request(url: str, body: bytes | None, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(response.read())


def targets(model_dir: Path, digit: list) -> list[dict[str, Any]]:
    """What is loaded: the page, the TF.js bundle (gzip, as browsers ask), the weights, and a prediction."""
    manifest = json.loads((model_dir / MODEL_JSON).read_text())
    shard = manifest["weightsManifest"][0]["paths"][0]
    return [
        {"name": "the page", "path": "", "kind": "static", "headers": {}},
        {"name": "tfjs bundle (gzip)", "path": "vendor/tfjs/tf.es2017.min.js", "kind": "static",
         "headers": {"Accept-Encoding": "gzip"}},
        {"name": "model weights", "path": f"model/{shard}", "kind": "static", "headers": {}},
        {"name": "predict, 1 digit", "path": "api/predict", "kind": "predict",
         "headers": {"Content-Type": "application/json"},
         "body": json.dumps({"images": [digit]}).encode()},
    ]


def run(bench: Bench) -> dict[str, Any]:
    """Start the server, warm it up, load each target in turn, read its memory before and after."""
    plan = bench.pick(SMOKE, FULL)
    native = bench.require_model()
    section_banner("server", f"`python -m web` (waitress, 4 threads) on 127.0.0.1; "
                   f"{CONNECTIONS} connections, {plan.static_s:g} s per static file, "
                   f"{plan.predict_s:g} s for /api/predict")
    from mnist_tfjs.mnist import load_test_set

    model_dir = web_model_dir(bench)
    images, _ = load_test_set()
    digit = images[0, :, :, 0].round(4).tolist()
    rows = []
    plan_targets = targets(model_dir, digit)
    with web_server(model_dir, native) as (proc, url):
        wait_native_ready(url)
        for target in plan_targets:
            for _ in range(3):
                target["bytes"] = _request(url + target["path"], target.get("body"), target["headers"])
        before = memory_kib(proc.pid)
        say(f"  server pid {proc.pid}: {before.get('VmRSS', 0) / 1024:.0f} MiB resident after warm-up")
        for target in plan_targets:
            duration = plan.predict_s if target["kind"] == "predict" else plan.static_s
            result = run_load(url + target["path"], duration_s=duration, connections=CONNECTIONS,
                              method="POST" if target.get("body") else "GET", body=target.get("body"),
                              headers=target["headers"], tool=bench.load_tool)
            row = {"name": target["name"], "kind": target["kind"], "path": "/" + target["path"],
                   "response_bytes": target["bytes"], **result}
            row["requests_per_s"] = round(row["requests_per_s"], 1)
            rows.append(row)
            p50 = f"{row['latency_p50_ms']:.2f}" if row["latency_p50_ms"] is not None else "n/a"
            say(f"  {target['name']:<24} {row['requests_per_s']:9.1f} req/s  {row['requests']:>7,} requests"
                f"  non-2xx {row['non_2xx']}  socket errors {row['socket_errors']}  p50 {p50} ms"
                f"  ({row['tool']})")
        after = memory_kib(proc.pid)
    say(f"  memory: {before.get('VmRSS', 0) / 1024:.0f} MiB before, "
        f"{after.get('VmRSS', 0) / 1024:.0f} MiB after, peak {after.get('VmHWM', 0) / 1024:.0f} MiB")
    return {"connections": CONNECTIONS, "threads": 4, "tool": rows[0]["tool"] if rows else None,
            "rss_before_kib": before.get("VmRSS"), "rss_after_kib": after.get("VmRSS"),
            "rss_peak_kib": after.get("VmHWM"), "rows": rows}
