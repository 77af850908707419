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

from benchmarks import robustness as robustness_bench
from benchmarks.export_bench import SMOKE_DIGITS as EXPORT_SMOKE_DIGITS
from mnist_tfjs.chromium import find_chromium
from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require

SMOKE_SECTIONS = ("export", "browser", "robustness", "server")  # training's smoke run: through its report


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
    assert robustness["digits"] == drawn["per_family"] == robustness_bench.SMOKE_DIGITS
    assert {(row["family"], row["pointer"]) for row in drawn["families"]} == {
        (family, pointer) for family in robustness_bench.FAMILIES for pointer in robustness_bench.POINTERS}
    for row in drawn["families"]:
        assert row["digits"] == robustness_bench.SMOKE_DIGITS and row["trusted"] == 1, row
    for pointer, overall in drawn["overall"].items():  # the fixture model reads ~97% of them
        assert overall["accuracy"] >= 0.85, (pointer, overall)
    assert drawn["reference"]["accuracy"] >= 0.85 and drawn["reference"]["read_ms"] > 0

    numbers = drawn["numbers"]
    assert set(numbers) == {"2", "3", "4"}
    for count, number in numbers.items():
        assert number["numbers"] == robustness_bench.SMOKE_NUMBERS, (count, number)
        assert number["exact"] <= number["grouped"], (count, number)
        assert number["read_ms"] > 0, (count, number)
    assert sum(number["grouped"] for number in numbers.values()) >= 2.0, numbers  # 6 of 9 split right
    assert sum(number["exact"] for number in numbers.values()) > 0, numbers

    noise = drawn["noise"]
    assert noise["dot"] == {"drawn": robustness_bench.SMOKE_NOISE, "flagged": 1.0}  # every dot is too small
    assert noise["scribble"]["drawn"] == robustness_bench.SMOKE_NOISE and noise["scribble"]["flagged"] > 0

    painted = drawn["painted"]
    assert painted["digits"] == robustness_bench.SMOKE_PAINTED
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


def test_every_family_gets_its_digits_however_many_are_asked(mnist_test) -> None:
    """More digits per family than the set holds for the families side by side (8 x 5 of 20): each
    family still draws its 5, all different (the blocks of one shuffle wrap around)."""
    images, labels = mnist_test[0][:20, ..., 0], mnist_test[1][:20]
    traced, chosen = robustness_bench.family_digits(images, labels, per_family=5)
    assert list(traced) == list(chosen) == list(robustness_bench.FAMILIES)
    for family in robustness_bench.FAMILIES:
        assert len(traced[family]) == len(chosen[family]) == 5, family
        assert len({strokes[0].tobytes() for strokes in traced[family]}) == 5, family


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
    from benchmarks import report

    results = {"date": "2025-01-01T00:00:00Z", "smoke": False, "total_seconds": 600.0,
               "machine": {"cpu": "Test CPU", "logical_cpus": 2, "memory_gib": 8, "os": "Linux",
                           "python": "3.11", "tensorflow": "2.19", "tfjs": "4.22.0"},
               "sections": {"training": _training_figures()}}
    written = report.write_outputs(results, tmp_path)
    assert (tmp_path / report.CURVES_PNG).stat().st_size > 0 and len(written) == 3
    markdown = (tmp_path / report.MARKDOWN_NAME).read_text()
    assert "1.50x" in markdown and "never (best 97.00%)" in markdown
    assert f"]({report.CURVES_PNG})" in markdown
    assert f"](docs/{report.CURVES_PNG})" in report.render_markdown(results, "docs/")

    merged = report.merge_results(results, {**results, "sections": {"server": {"rows": []}}})
    assert set(merged["sections"]) == {"training", "server"}  # an --only run keeps earlier sections


def test_python_load_generator_counts_requests_and_errors() -> None:
    from flask import Flask

    from benchmarks.load import run_python
    from benchmarks.pages import serve_in_background

    app = Flask(__name__)
    app.add_url_rule("/ok", "ok", lambda: "ok")
    with serve_in_background(app) as server:
        good = run_python(server.url + "ok", duration_s=0.5, connections=2)
        bad = run_python(server.url + "missing", duration_s=0.3, connections=1)
    assert good["requests"] > 0 and good["non_2xx"] == 0 and good["socket_errors"] == 0
    assert good["latency_p50_ms"] > 0 and good["requests_per_s"] > 0
    assert bad["requests"] > 0 and bad["non_2xx"] == bad["requests"]
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        run_python("http://example.com:80/", duration_s=0.1, connections=1)


def test_wrk_output_is_parsed() -> None:
    from benchmarks.load import parse_wrk

    output = """Running 5s test @ http://127.0.0.1:5000/
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
    parsed = parse_wrk(output)
    assert parsed == {"requests": 12345, "requests_per_s": 2469.0, "non_2xx": 7, "socket_errors": 3,
                      "latency_p50_ms": pytest.approx(0.85), "latency_p99_ms": pytest.approx(1050.0)}


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = _bench("--only", "export", "--model", str(tmp_path / "nope.keras"), "--out", str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "nope.keras" in missing.stderr
    assert "Traceback" not in missing.stderr
    unknown = _bench("--only", "gpu")
    assert unknown.returncode == 2 and "unknown section" in unknown.stderr


@pytest.mark.browser
def test_runtimes_section_times_both_runtimes_on_a_served_export(tiny_generic_export: Path, tmp_path: Path,
                                                                 chromium) -> None:
    """The runtimes section's plumbing on the tiny export with a .tflite: the model page's modules time
    TF.js wasm and webgl and LiteRT.js wasm at batch 1, and the row and its table line follow."""
    import shutil

    from benchmarks import runtimes
    from benchmarks.pages import serving
    from tests.test_model_page import add_litert

    folder = tmp_path / "web_model"
    shutil.copytree(tiny_generic_export, folder)
    metadata = json.loads(add_litert(folder).joinpath("metadata.json").read_text())
    with serving(folder) as server:
        context = chromium.new_context()
        try:
            page = context.new_page()
            page.goto(f"{server.url}model")
            calls = runtimes.time_calls(page, runtimes.SMOKE)
        finally:
            context.close()
    assert set(calls) == {"tfjs wasm", "tfjs webgl", "litert wasm"}, calls
    for key, timing in calls.items():
        assert "error" not in timing, (key, timing)
        assert timing["calls"] == runtimes.SMOKE.calls and timing["ms"] > 0, (key, timing)
    row = runtimes.build_row("tiny", metadata, calls, export_s=1.0)
    assert row["speedup_litert_vs_tfjs_wasm"] == pytest.approx(
        calls["tfjs wasm"]["ms"] / calls["litert wasm"]["ms"], rel=0.01)
    assert row["litert_status"] == "proven"
    assert row["litert_model_bytes"] == (folder / "model.tflite").stat().st_size
    assert row["tfjs_runtime_gzip_bytes"] == 420_000 and row["litert_runtime_gzip_bytes"] == 2_900_000
    assert row["break_even_calls"] == 242_000 and row["errors"] == {}
    lines = runtimes.markdown({"rows": [row], "calls": 5, "warmup": 1, "chromium": "Chromium 1",
                               "command": "python -m benchmarks --only runtimes"})
    line = next(line for line in lines if line.startswith("| tiny |"))
    assert "2.90 MB" in line and f"{row['speedup_litert_vs_tfjs_wasm']:.1f}x" in line


@pytest.mark.slow  # exports a tiny MobileNet to both targets with every proof, about a minute and a half
@pytest.mark.browser
@pytest.mark.node
def test_runtimes_smoke_section_exports_both_targets_and_times_them(node_ready: str, tmp_path: Path) -> None:
    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    from benchmarks import runtimes
    from benchmarks.common import Bench

    figures = runtimes.run(Bench(smoke=True, out=tmp_path, work=tmp_path, model=None))
    [row] = figures["rows"]
    assert row["litert_status"] == "proven", row
    # the int8 twin is timed by the model page only when its rules passed (a random tiny net may not)
    int8_timed = {"litert int8 wasm"} if row["int8_status"] == "proven" else set()
    assert set(row["ms_per_call"]) == {"tfjs wasm", "tfjs webgl", "litert wasm"} | int8_timed, row
    assert row["errors"] == {} and row["int8_status"] in ("proven", "refused"), row["int8_reason"]
    assert row["int8_model_bytes"] > 0 and row["int8_proof_ms"] > 0 and row["int8_export_overhead"] > 0
    assert row["int8_agreement"] is not None and row["int8_samples"] == 4
    assert all(ms > 0 for ms in row["ms_per_call"].values())
    assert row["speedup_litert_vs_tfjs_wasm"] > 0
    assert 0 <= row["tfjs_vs_keras"] <= 1e-4 and 0 <= row["litert_vs_keras"] <= 1e-4
    assert row["litert_runtime_gzip_bytes"] > row["tfjs_runtime_gzip_bytes"] > 0
