"""Bounded local HTTP load: `wrk` when installed, else a small Python generator (threads + http.client).

Both run for a fixed duration with a fixed number of keep-alive connections, and only ever
against the loopback interface. `python -m benchmarks.load URL` loads one URL and prints the figures
as JSON (`--tool`, `--seconds`, `--connections`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.common import percentile

LOOPBACK = ("127.0.0.1", "localhost", "::1")
UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _check_loopback(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK or parts.port is None:
        raise ValueError(f"load tests only target 127.0.0.1 with an explicit port, not {url}")
    return parts.hostname, parts.port, parts.path or "/"


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS_MS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests, requests/s, error counts and latency percentiles from `wrk --latency` output."""
    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    latency = {f"p{q}": _ms(v, u) for q, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\b",
                                                          output, re.MULTILINE)}
    return {
        "requests": int(number(r"(\d+) requests in")),
        "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"),
        "non_2xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(int(v) for v in socket.groups()) if socket else 0,
        "latency_p50_ms": latency.get("p50"),
        "latency_p99_ms": latency.get("p99"),
    }


def run_wrk(url: str, *, duration_s: float, connections: int, method: str = "GET",
            body: bytes | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Load `url` with wrk (2 threads) for `duration_s`; the body is read from a file by a Lua script."""
    _check_loopback(url)
    wrk = shutil.which("wrk")
    if wrk is None:
        raise FileNotFoundError("wrk")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        lines = [f'wrk.method = "{method}"']
        if body is not None:
            body_path = Path(tmp) / "body"
            body_path.write_bytes(body)
            lines.append(f'local f = io.open("{body_path}", "rb"); wrk.body = f:read("*a"); f:close()')
        for name, value in (headers or {}).items():
            lines.append(f'wrk.headers["{name}"] = "{value}"')
        script = Path(tmp) / "request.lua"
        script.write_text("\n".join(lines) + "\n")
        seconds = max(1, round(duration_s))
        command = [wrk, "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
                   "--timeout", "10s", "--latency", "-s", str(script), url]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {(proc.stderr or proc.stdout).strip()[:200]}")
    return {"tool": "wrk", "seconds": seconds, "connections": connections, **parse_wrk(proc.stdout)}


def run_python(url: str, *, duration_s: float, connections: int, method: str = "GET",
               body: bytes | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The fallback generator: `connections` threads, one keep-alive connection each, `duration_s` long."""
    host, port, path = _check_loopback(url)
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"requests": 0, "non_2xx": 0, "socket_errors": 0}
    deadline = time.perf_counter() + duration_s

    def worker() -> None:
        mine: list[float] = []
        done = bad = errors = 0
        conn = http.client.HTTPConnection(host, port, timeout=10)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            mine.append((time.perf_counter() - started) * 1000.0)
            done += 1
            bad += not 200 <= response.status < 300
        conn.close()
        with lock:
            latencies.extend(mine)
            counts["requests"] += done
            counts["non_2xx"] += bad
            counts["socket_errors"] += errors

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration_s + 30)
    elapsed = time.perf_counter() - started
    return {"tool": "python", "seconds": round(elapsed, 2), "connections": connections, **counts,
            "requests_per_s": counts["requests"] / elapsed if elapsed else 0.0,
            "latency_p50_ms": percentile(latencies, 50), "latency_p99_ms": percentile(latencies, 99)}


def run_load(url: str, *, duration_s: float, connections: int, method: str = "GET", body: bytes | None = None,
             headers: dict[str, str] | None = None, tool: str = "auto") -> dict[str, Any]:
    """wrk when installed (or `tool="wrk"`), else the Python generator."""
    use_wrk = tool == "wrk" or (tool == "auto" and shutil.which("wrk") is not None)
    runner = run_wrk if use_wrk else run_python
    return runner(url, duration_s=duration_s, connections=connections, method=method, body=body,
                  headers=headers)


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.load URL`: one bounded load of a loopback URL, its figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a loopback URL (127.0.0.1, localhost or ::1)")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        figures = run_load(args.url, duration_s=args.seconds, connections=args.connections, tool=args.tool)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError:
        print("error: wrk is not installed (`apt-get install wrk`); or pass --tool python", file=sys.stderr)
        return 2
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
