"""The benchmark suite works: a smoke run end to end, its report, and its load generator.

Timings are never asserted: a benchmark is a script that prints figures (`make bench`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mnist_tfjs.chromium import find_chromium
from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require

SMOKE_SECTIONS = ("export", "browser", "robustness", "server")  # training's smoke run: through its report
# What --smoke promises, section by section (the suite is tested through its command line only).
EXPORT_SMOKE_DIGITS = 300
DRAWN_PER_FAMILY, NUMBERS_PER_COUNT, NOISE_DRAWINGS, PAINTED_DIGITS = 10, 3, 4, 50
FAMILIES = {"size", "corner", "rotation", "aspect", "jitter", "sparse", "thin pen", "thick pen"}
POINTERS = {"mouse", "touch"}


@dataclass(frozen=True)
class SmokeRun:
    """One `--smoke` run of SMOKE_SECTIONS: its output folder and benchmarks.json."""

    out: Path
    results: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        return self.results["sections"][name]


def _bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def smoke_run(small_model_path: Path, node_ready: str, tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """The sections run once, together (the browser and robustness sections reuse the export
    section's model); each test below checks one section's figures. The run takes minutes (three
    exports, every browser backend, drawn digits, load tests), so its tests are marked slow."""
    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    out = tmp_path_factory.mktemp("bench")
    result = _bench("--smoke", "--only", ",".join(SMOKE_SECTIONS), "--model", str(small_model_path),
                    "--out", str(out))
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return SmokeRun(out, json.loads((out / "benchmarks.json").read_text()))


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.node
def test_smoke_run_reports_the_sections_asked_for(smoke_run: SmokeRun) -> None:
    results = smoke_run.results
    assert results["smoke"] is True
    assert set(results["sections"]) == set(SMOKE_SECTIONS)
    assert results["machine"]["logical_cpus"] >= 1
    markdown = (smoke_run.out / "benchmarks.md").read_text()
    assert "#### Export to TF.js" in markdown and "#### Server" in markdown
    assert "#### Drawing robustness" in markdown and "| jitter |" in markdown
    assert "test digits painted on the pad as images" in markdown
    assert (smoke_run.out / "browser_latency.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.node
def test_export_section_shrinks_the_download_and_keeps_the_accuracy(smoke_run: SmokeRun) -> None:
    export = smoke_run.section("export")
    rows = export["rows"]
    assert [row["quantization"] for row in rows] == ["none", "float16", "uint8"]
    sizes = [row["download_bytes"] for row in rows]
    assert sizes[0] > sizes[1] > sizes[2] > 0  # quantization shrinks the download
    unquantized = rows[0]
    assert unquantized["passed"], unquantized  # quantized exports of this weak model may fail
    assert unquantized["tfjs_accuracy"] == unquantized["keras_accuracy"] >= 0.9  # the fixture model: ~96%
    for row in rows:
        assert row["digits"] == EXPORT_SMOKE_DIGITS and row["wall_s"] > 0, row
        assert abs(row["tfjs_accuracy"] - row["keras_accuracy"]) <= 0.05, row


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.node
def test_browser_section_times_every_backend(smoke_run: SmokeRun) -> None:
    browser = smoke_run.section("browser")
    assert set(browser["ready"]) == {"wasm_threaded", "wasm_single", "webgl", "cpu"}
    assert browser["ready"]["wasm_threaded"]["cross_origin_isolated"] is True
    assert browser["ready"]["wasm_single"]["cross_origin_isolated"] is False
    for ready in browser["ready"].values():
        assert ready["ready_ms_median"] > 0 and ready["first_load_bytes"] > browser["model_bytes"]
    rows = {(row["variant"], row["batch"]): row for row in browser["latency"]}
    assert {batch for _, batch in rows} == {1, 100}
    for key in (("wasm_threaded", 1), ("wasm_threaded", 100), ("wasm_single", 1), ("cpu", 1)):
        assert rows[key]["available"], rows[key]
        assert rows[key]["runs"] >= 1 and 0 < rows[key]["p50_ms"] <= rows[key]["p95_ms"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.node
def test_robustness_section_reads_what_it_draws(smoke_run: SmokeRun) -> None:
    robustness = smoke_run.section("robustness")
    drawn = robustness["models"]["benchmarked"]
    assert robustness["digits"] == drawn["per_family"] == DRAWN_PER_FAMILY
    assert {(row["family"], row["pointer"]) for row in drawn["families"]} == {
        (family, pointer) for family in FAMILIES for pointer in POINTERS}
    for row in drawn["families"]:
        assert row["digits"] == DRAWN_PER_FAMILY and row["trusted"] == 1, row
    for pointer, overall in drawn["overall"].items():  # the fixture model reads ~97% of them
        assert overall["accuracy"] >= 0.85, (pointer, overall)
    assert drawn["reference"]["accuracy"] >= 0.85 and drawn["reference"]["read_ms"] > 0

    numbers = drawn["numbers"]
    assert set(numbers) == {"2", "3", "4"}
    for count, number in numbers.items():
        assert number["numbers"] == NUMBERS_PER_COUNT, (count, number)
        assert number["exact"] <= number["grouped"], (count, number)
        assert number["read_ms"] > 0, (count, number)
    assert sum(number["grouped"] for number in numbers.values()) >= 2.0, numbers  # 6 of 9 split right
    assert sum(number["exact"] for number in numbers.values()) > 0, numbers

    noise = drawn["noise"]
    assert noise["dot"] == {"drawn": NOISE_DRAWINGS, "flagged": 1.0}  # every dot is too small
    assert noise["scribble"]["drawn"] == NOISE_DRAWINGS and noise["scribble"]["flagged"] > 0

    painted = drawn["painted"]
    assert painted["digits"] == PAINTED_DIGITS
    assert painted["page"] >= 0.8 and painted["page"] > painted["naive"], painted
    assert (smoke_run.out / robustness["screenshot"]).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.node
def test_server_section_serves_every_request(smoke_run: SmokeRun) -> None:
    server = smoke_run.section("server")
    assert [row["kind"] for row in server["rows"]] == ["static", "static", "static", "predict"]
    for row in server["rows"]:
        assert row["requests"] > 0 and row["requests_per_s"] > 0, row
        assert row["non_2xx"] == 0 and row["socket_errors"] == 0, row
    assert server["rss_before_kib"] > 0 and server["rss_after_kib"] > 0


def _training_figures() -> dict:
    def run(name: str, label: str, reached: float | None, curve: list[float]) -> dict:
        points = [{"step": 100 * (i + 1), "seconds": 10.0 * (i + 1), "accuracy": a}
                  for i, a in enumerate(curve)]
        return {"name": name, "label": label, "params": 1000, "batch_size": 128, "epochs": len(curve),
                "steps": 100 * len(curve), "train_seconds": 10.0 * len(curve), "images_per_s": 5000.0,
                "seconds_to_target": reached, "step_at_target": 200 if reached else None,
                "best_accuracy": max(curve), "final_accuracy": curve[-1], "curve": points}

    return {"target": 0.99, "device": "1 x CPU", "train_images": 55000, "test_digits": 10000,
            "speedup_vs_keras_example": 1.5,
            "runs": [run("quick", "quick preset", 20.0, [0.985, 0.991, 0.993]),
                     run("keras_example", "Keras example convnet", 30.0, [0.98, 0.988, 0.990]),
                     run("tutorial_mlp", "tutorial MLP", None, [0.92, 0.95, 0.97])]}


def test_report_renders_training_table_and_curves(tmp_path: Path) -> None:
    results = {"date": "2025-01-01T00:00:00Z", "smoke": False, "total_seconds": 600.0,
               "machine": {"cpu": "Test CPU", "logical_cpus": 2, "memory_gib": 8, "os": "Linux",
                           "python": "3.11", "tensorflow": "2.19", "tfjs": "4.22.0"},
               "sections": {"training": _training_figures()}}
    (tmp_path / "benchmarks.json").write_text(json.dumps(results))
    printed = subprocess.run([sys.executable, "-m", "benchmarks.report", "--replot",
                              "--json", str(tmp_path / "benchmarks.json")],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert printed.returncode == 0, printed.stderr
    assert (tmp_path / "training_curves.png").stat().st_size > 0
    markdown = (tmp_path / "benchmarks.md").read_text()
    assert "1.50x" in markdown and "never (best 97.00%)" in markdown
    assert "](training_curves.png)" in markdown
    assert "](docs/results/training_curves.png)" in printed.stdout  # printed for the README at the root


def _load(url: str, *options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.load", url, "--seconds", "0.5", *options],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False, env=env)


def test_python_load_generator_counts_requests_and_errors() -> None:
    from flask import Flask

    from harness.page_driver import serve_in_background

    app = Flask(__name__)
    app.add_url_rule("/ok", "ok", lambda: "ok")
    with serve_in_background(app) as server:
        good = json.loads(_load(server.url + "ok", "--tool", "python", "--connections", "2").stdout)
        bad = json.loads(_load(server.url + "missing", "--tool", "python", "--connections", "1").stdout)
    assert good["requests"] > 0 and good["non_2xx"] == 0 and good["socket_errors"] == 0
    assert good["latency_p50_ms"] > 0 and good["requests_per_s"] > 0
    assert bad["requests"] > 0 and bad["non_2xx"] == bad["requests"]
    outside = _load("http://example.com:80/", "--tool", "python")
    assert outside.returncode == 2 and "127.0.0.1" in outside.stderr and "Traceback" not in outside.stderr


WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:5000/
  2 threads and 4 connections
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    2.50ms
     99%    1.05s
  12345 requests in 5.00s, 1.23MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:   2469.00
Transfer/sec:    251.00KB
"""


def test_wrk_output_is_parsed(tmp_path: Path) -> None:
    """A stand-in `wrk` on PATH prints wrk's report; the load command reads its figures from it."""
    import os

    fake = tmp_path / "wrk"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{WRK_OUTPUT}EOF\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    result = _load("http://127.0.0.1:5000/", "--tool", "wrk", env=env)
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert {k: parsed[k] for k in ("requests", "requests_per_s", "non_2xx", "socket_errors")} == {
        "requests": 12345, "requests_per_s": 2469.0, "non_2xx": 7, "socket_errors": 3}
    assert parsed["latency_p50_ms"] == pytest.approx(0.85)
    assert parsed["latency_p99_ms"] == pytest.approx(1050.0)


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = _bench("--only", "export", "--model", str(tmp_path / "nope.keras"), "--out", str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "nope.keras" in missing.stderr
    assert "Traceback" not in missing.stderr
    unknown = _bench("--only", "tpu")
    assert unknown.returncode == 2 and "unknown section" in unknown.stderr


@pytest.mark.slow  # exports a tiny MobileNet to both targets with every proof, about a minute and a half
@pytest.mark.browser
@pytest.mark.node
def test_runtimes_smoke_section_exports_both_targets_and_times_them(node_ready: str, tmp_path: Path) -> None:
    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    result = _bench("--smoke", "--only", "runtimes", "--out", str(tmp_path), timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads((tmp_path / "benchmarks.json").read_text())["sections"]["runtimes"]
    [row] = figures["rows"]
    assert row["litert_status"] == "proven", row
    # the int8 twin is timed by the model page only when its rules passed (a random tiny net may not)
    int8_timed = {"litert int8 wasm"} if row["int8_status"] == "proven" else set()
    assert set(row["ms_per_call"]) == {"tfjs wasm", "tfjs webgl", "litert wasm"} | int8_timed, row
    assert row["errors"] == {} and row["int8_status"] in ("proven", "refused"), row["int8_reason"]
    assert row["int8_model_bytes"] > 0 and row["int8_export_overhead"] > 0
    # timed at batch 1 once its proof passed, as every runtime is: a refused int8 model has no timing
    if row["int8_status"] == "proven":
        assert row["int8_proof_ms"] > 0
    else:
        assert row["int8_proof_ms"] is None
    assert row["int8_agreement"] is not None and row["int8_samples"] == 4
    assert all(ms > 0 for ms in row["ms_per_call"].values())
    assert row["speedup_litert_vs_tfjs_wasm"] > 0
    assert 0 <= row["tfjs_vs_keras"] <= 1e-4 and 0 <= row["litert_vs_keras"] <= 1e-4
    assert row["litert_runtime_gzip_bytes"] > row["tfjs_runtime_gzip_bytes"] > 0
