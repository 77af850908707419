"""The model page in headless Chromium, for a small generic export: card, parity table, the runtime
advice, and the "Check in this browser" button that re-runs the bundled proof on TF.js wasm, webgl,
webgpu (on the browser's WebGPU adapter, named on the page) and cpu, and on LiteRT.js wasm and webgpu
where the export holds a proven .tflite (the race between the two); the rule line, the tables at
desktop width, and the check's progress."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.rules import MNIST_THRESHOLDS, THRESHOLDS
from harness.page_driver import call_in_page
from tests.browser_fixtures import OpenedPage, require_webgpu
from tests.helpers import PAGE_CHECKS, export_with_metadata
from tests.test_web_browser import litert_digit_export  # noqa: F401  (a fixture the digit export's check uses)
from tests.tiny_export import CLASSIFIERS, INPUT, OUTPUTS, tiny_model, write_proof

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
BACKENDS = ["wasm", "webgl", "webgpu", "cpu"]


def read_bundle(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """proof.json and its arrays from proof.bin, by name."""
    manifest = json.loads((folder / "proof.json").read_text())
    blob = (folder / "proof.bin").read_bytes()
    arrays = {a["name"]: np.frombuffer(blob[a["offset"]:a["offset"] + a["bytes"]], "<f4").reshape(a["shape"])
              for a in manifest["arrays"]}
    return manifest, arrays


@pytest.fixture(scope="module")
def generic_export(tiny_generic_export: Path) -> Path:
    """The shared tiny generic export (tests that change it work on a copy)."""
    return tiny_generic_export


def _serve(folder: Path) -> Any:
    from harness.page_driver import serve_in_background
    from web import create_app

    logging.getLogger("waitress").setLevel(logging.ERROR)
    return serve_in_background(create_app(folder, native=False))


@pytest.fixture(scope="module")
def generic_server(generic_export: Path) -> Iterator[Any]:
    server = _serve(generic_export)
    yield server
    server.stop()


def open_model_page(open_page: Callable[..., OpenedPage], url: str, viewport: dict[str, int] | None = None
                    ) -> OpenedPage:
    opened = open_page(url, viewport=viewport, wait=False)
    opened.page.wait_for_function("() => window.modelPage !== undefined")
    outcome = opened.page.evaluate("window.modelPage.ready.then(() => 'ready', (e) => e.message)")
    assert outcome == "ready"
    return opened


def run_check(page: Any, rows: int = len(BACKENDS)) -> list[dict[str, Any]]:
    """Click the button and wait for `rows` rows (one per backend); the page's outcomes."""
    page.click("#check")
    page.wait_for_function(
        f"() => document.querySelectorAll('#check-table tbody tr').length === {rows}"
        " && !document.getElementById('check').disabled", timeout=90_000)
    return page.evaluate("window.modelPage.results()")


def record_statuses(page: Any) -> None:
    """Keep every text the status line shows from now on (window.statuses), however briefly."""
    call_in_page(page, PAGE_CHECKS, "recordStatuses")


def assert_names_the_adapter(page: Any, adapter: dict[str, Any]) -> None:
    """The check's adapter line names the WebGPU adapter, and says when it is a software one."""
    note = page.locator("#adapter-note").inner_text()
    assert note.startswith("WebGPU adapter: ") and adapter["architecture"] in note, note
    assert ("software adapter" in note) == adapter["software"], note
    assert page.evaluate("window.modelPage.adapter()") == adapter


def add_litert(folder: Path) -> Path:
    """The tiny model's .tflite (the exporter's converter, batch 1) beside its graph model, recorded in
    metadata.json as the exporter records a proven one, with a runtimes advice block."""
    import hashlib

    from export.specs import input_specs, output_specs
    from export.tflite import write_tflite

    _, arrays = read_bundle(folder)
    model = tiny_model()  # seeded: the same weights as the export's
    tflite = write_tflite(model, input_specs(model), output_specs(model), {INPUT: arrays[INPUT]},
                          folder / "model.tflite")
    data = tflite.path.read_bytes()
    metadata = json.loads((folder / "metadata.json").read_text())
    result = {**metadata["proof"]["node"]["cpu"], "batch": 1, "ms_per_call": 0.05}
    metadata["files"]["model.tflite"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    metadata["litert"] = {"model": "model.tflite", "status": "proven", "reason": None, "bytes": len(data),
                          "batch": 1, "signature": tflite.signature, "inputs": tflite.inputs,
                          "outputs": tflite.outputs, "proof": {"browser": {"wasm": result}, "passed": True}}
    metadata["runtimes"] = {
        "network": {"name": "Slow 4G", "mbit_per_s": 1.6384}, "compression": "gzip -6",
        "tfjs": {"runtime_gzip_bytes": 420_000, "model_bytes": 2_000, "model_gzip_bytes": 1_500,
                 "ms_per_call": {"wasm": 0.09, "webgl": 1.2, "cpu": 0.1}, "best": "wasm"},
        "litert": {"runtime_gzip_bytes": 2_900_000, "model_bytes": 2_500, "model_gzip_bytes": 1_800,
                   "ms_per_call": {"wasm": 0.04}, "best": "wasm"},
        "advice": {"first_answer": "tfjs", "fastest": "litert", "break_even_calls": 242_000, "ship": "tfjs",
                   "text": "TF.js (wasm) gives the first answer 12.1 s sooner."}}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder


@pytest.fixture(scope="module")
def litert_export(generic_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("litert") / "web_model"
    shutil.copytree(generic_export, folder)
    return add_litert(folder)


def test_model_page_checks_every_backend_against_the_bundle(generic_server, generic_export: Path,
                                                            open_page, artifacts_dir: Path) -> None:
    opened = open_model_page(open_page, generic_server.url)
    page = opened.page
    adapter = require_webgpu(page)
    assert page.locator("#inputs tbody").inner_text().split() == [INPUT, "float32", "[?,", "6]"]
    outputs = page.locator("#outputs tbody").inner_text()
    assert all(name in outputs for name in OUTPUTS)
    proof_rows = page.locator("#proof-table tbody tr").all_inner_texts()
    assert proof_rows[0].split("\t")[:2] == ["TF.js node cpu", "passed"]
    assert proof_rows[1].split("\t")[:2] == ["TF.js browser", "not run"]
    assert page.locator("#advice-card").is_hidden(), "no runtime advice without a proven .tflite"
    assert page.locator("#digit-link").is_hidden(), "no digit page for a generic model"

    manifest, arrays = read_bundle(generic_export)
    thresholds = manifest["thresholds"]
    results = run_check(page)
    assert [(r["runtime"], r["backend"]) for r in results] == [("tfjs", b) for b in BACKENDS]
    for outcome in results:
        backend = outcome["backend"]
        assert outcome["available"] is True, f"{backend} did not start in headless Chromium"
        result = outcome["result"]
        assert result["passed"] is True, (backend, result["failures"])
        assert result["samples"] == manifest["samples"]
        for name, figures in result["outputs"].items():
            assert figures["relative_diff"] <= thresholds["max_relative_diff"], (backend, name)
            assert figures["scale"] == pytest.approx(max(float(np.abs(arrays[name]).max()), 1e-12), rel=1e-6)
            assert figures["agreement"] == (1.0 if name in CLASSIFIERS else None)
        row = page.locator(f'#check-table tr[data-backend="{backend}"]')
        assert row.get_attribute("data-state") == "true"
        cells = row.locator("td").all_inner_texts()
        assert cells[0] == "agrees" and cells[1] == str(manifest["samples"]) and cells[3] == "100%"
        assert result["batch1_ms"] > 0 and result["batch1_calls"] >= 3, "timed at batch 1 after the proof"
        assert result["repeated"] >= 1 and all(o["repeat_diff"] <= 1e-6 for o in result["outputs"].values())
    webgpu = page.locator('#check-table tr[data-backend="webgpu"] th').inner_text()
    assert webgpu.startswith("TF.js webgpu (") and adapter["architecture"] in webgpu, webgpu
    assert_names_the_adapter(page, adapter)
    assert f"4 of 4 backends that ran agree with Keras on all {manifest['samples']} samples" \
        in page.locator("#check-note").inner_text()
    race = page.evaluate("window.modelPage.race()")
    assert race["runtime"] == "tfjs" and race["backend"] in BACKENDS
    assert race["ms"] == min(r["result"]["batch1_ms"] for r in results)

    # The page's TF.js outputs themselves, read back, equal the bundle's expected outputs.
    computed = call_in_page(page, PAGE_CHECKS, "outputsOnBundle", list(OUTPUTS))
    for name, values in zip(OUTPUTS, computed, strict=True):
        expected = arrays[name]
        got = np.asarray(values, np.float32).reshape(expected.shape)
        assert np.abs(got - expected).max() <= thresholds["max_relative_diff"] * np.abs(expected).max()
    page.screenshot(path=str(artifacts_dir / "model-page.png"), full_page=True)
    assert opened.noise == [], "no console warning or error over a check on every backend"


def test_model_page_shows_a_bundle_that_disagrees(generic_export: Path, tmp_path: Path, open_page) -> None:
    folder = tmp_path / "perturbed"
    shutil.copytree(generic_export, folder)
    manifest, _ = read_bundle(folder)
    blob = bytearray((folder / "proof.bin").read_bytes())
    scores = next(a for a in manifest["arrays"] if a["name"] == "scores")
    span = slice(scores["offset"], scores["offset"] + scores["bytes"])
    wrong = np.frombuffer(blob[span], "<f4")[::-1]  # reversed: other rows, other classes
    blob[span] = np.ascontiguousarray(wrong).tobytes()
    (folder / "proof.bin").write_bytes(bytes(blob))
    with _serve(folder) as server:
        page = open_model_page(open_page, server.url).page
        results = run_check(page)
        for outcome in (r for r in results if r["available"]):  # webgpu: where there is an adapter
            assert outcome["result"]["passed"] is False
            assert outcome["result"]["outputs"]["scores"]["agreement"] < 1.0
            assert outcome["result"]["outputs"]["value"]["relative_diff"] <= 1e-4
            row = page.locator(f'#check-table tr[data-backend="{outcome["backend"]}"]')
            assert row.get_attribute("data-state") == "false"
            assert row.locator("td").first.inner_text() == "differs"
        assert page.locator("#status").get_attribute("data-state") == "error"


def test_model_page_fits_a_phone(generic_server, open_page, artifacts_dir: Path) -> None:
    page = open_model_page(open_page, generic_server.url, viewport=PHONE).page
    run_check(page)
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1] == PHONE["width"], "no horizontal scrolling on a phone"
    button = page.locator("#check").bounding_box()
    assert button["x"] >= 0 and button["x"] + button["width"] <= PHONE["width"] and button["height"] >= 44
    page.screenshot(path=str(artifacts_dir / "model-page-phone.png"), full_page=True)


def test_digit_contract_reads_metadata_then_mnist(generic_server, open_page) -> None:
    page = open_model_page(open_page, generic_server.url).page
    metadata = {"schema": 2, "kind": "mnist-digits",
                "inputs": [{"name": "pixels", "shape": [None, 32, 32, 1]}],
                "outputs": [{"name": "p", "shape": [None, 4]}],
                "mnist": {"labels": ["a", "b", "c", "d"],
                          "preprocessing": {"fit_box": 24, "field": 32, "centre_of_mass": 16}}}
    contracts = call_in_page(page, PAGE_CHECKS, "contractsOf", [metadata, None])
    from export.metadata import MNIST_PREPROCESSING
    from mnist_tfjs.model_kinds import MNIST_CLASSES, MNIST_IMAGE_SHAPE

    rows, columns, channels = MNIST_IMAGE_SHAPE
    mnist = [None, rows, columns, rows * columns * channels, MNIST_CLASSES,
             MNIST_PREPROCESSING["fit_box"], MNIST_PREPROCESSING["centre_of_mass"]]
    assert contracts == [["pixels", 32, 32, 1024, 4, 24, 16], mnist], "digit-contract.js mirrors Python"


def test_model_page_of_an_export_without_proof_bundle(generic_export: Path, tmp_path: Path,
                                                      open_page) -> None:
    folder = tmp_path / "no-bundle"
    shutil.copytree(generic_export, folder)
    (folder / "proof.json").unlink()
    (folder / "proof.bin").unlink()
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["proof"]["bundled"] = 0
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with _serve(folder) as server:
        opened = open_model_page(open_page, f"{server.url}model")
        page = opened.page
        assert page.locator("#check").is_disabled()
        assert "no proof bundle" in page.locator("#check-note").inner_text()
        assert opened.errors == []


def test_model_page_races_tfjs_and_litert(litert_export: Path, open_page) -> None:
    manifest, _ = read_bundle(litert_export)
    with _serve(litert_export) as server:
        opened = open_model_page(open_page, server.url)
        page = opened.page
        adapter = require_webgpu(page)
        proof_rows = page.locator("#proof-table tbody tr").all_inner_texts()
        assert any(r.split("\t")[:2] == ["LiteRT.js browser wasm", "passed"] for r in proof_rows), proof_rows
        advice = page.locator("#advice-table tbody tr")
        runtimes = [advice.nth(i).get_attribute("data-runtime") for i in range(advice.count())]
        assert runtimes == ["tfjs", "litert"]
        assert "wasm 0.04" in advice.nth(1).inner_text() and "2.77 MB" in advice.nth(1).inner_text()
        assert "242,000 calls per page visit" in page.locator("#advice-text").inner_text()

        results = run_check(page, rows=len(BACKENDS) + 2)  # LiteRT.js wasm and webgpu
        assert [(r["runtime"], r["backend"]) for r in results] == (
            [("tfjs", b) for b in BACKENDS] + [("litert", "wasm"), ("litert", "webgpu")])
        assert page.locator('#check-table tr[data-state="error"]').count() == 0
        for litert in results[len(BACKENDS):]:
            assert litert["available"] is True and "error" not in litert, litert
            result = litert["result"]
            assert result["passed"] is True, result["failures"]
            assert result["samples"] == manifest["samples"] and result["batch"] == 1
            for name, figures in result["outputs"].items():
                assert figures["relative_diff"] <= manifest["thresholds"]["max_relative_diff"], name
            assert result["batch1_ms"] > 0 and result["batch1_calls"] >= 3
            row = page.locator(f'#check-table tr[data-runtime="litert"][data-backend="{litert["backend"]}"]')
            assert row.get_attribute("data-state") == "true"
            assert row.locator("th").inner_text().startswith(f"LiteRT.js {litert['backend']} (")
        assert adapter["architecture"] in page.locator(
            '#check-table tr[data-runtime="litert"][data-backend="webgpu"] th').inner_text()
        assert_names_the_adapter(page, adapter)
        race = page.evaluate("window.modelPage.race()")
        timed = [r for r in results if r.get("result", {}).get("passed")]
        best = min(timed, key=lambda r: r["result"]["batch1_ms"])
        assert (race["runtime"], race["backend"]) == (best["runtime"], best["backend"])
        other = min(r["result"]["batch1_ms"] for r in timed if r["runtime"] != best["runtime"])
        assert race["speedup"] == pytest.approx(other / race["ms"])
        assert page.locator("#race-note").inner_text().startswith("Fastest here: ")
        assert opened.noise == [], "no console warning or error over a check on both runtimes"


def test_model_page_refuses_a_tflite_that_is_not_the_proven_one(litert_export: Path, tmp_path: Path,
                                                                  open_page) -> None:
    folder = tmp_path / "corrupted"
    shutil.copytree(litert_export, folder)
    data = bytearray((folder / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.tflite").write_bytes(bytes(data))
    with _serve(folder) as server:
        page = open_model_page(open_page, server.url).page
        results = run_check(page, rows=len(BACKENDS) + 1)
        litert = [r for r in results if r["runtime"] == "litert"]
        assert len(litert) == 1 and "result" not in litert[0]
        assert "not the file the export proved" in litert[0]["error"]
        row = page.locator('#check-table tr[data-runtime="litert"]')
        assert row.get_attribute("data-state") == "error"


def one_sample_copy(generic_export: Path, folder: Path) -> Path:
    """The generic export with a proof bundle of its first sample only."""
    shutil.copytree(generic_export, folder)
    manifest, arrays = read_bundle(folder)
    role = {a["name"]: a["role"] for a in manifest["arrays"]}
    write_proof(folder, {n: a[:1] for n, a in arrays.items() if role[n] == "input"},
                {n: a[:1] for n, a in arrays.items() if role[n] == "expected"}, manifest["thresholds"])
    return folder


def test_the_check_downloads_its_samples_when_it_runs_and_says_how_far_it_is(
        litert_export: Path, generic_export: Path, open_page, tmp_path: Path) -> None:
    manifest, _ = read_bundle(litert_export)
    samples = manifest["samples"]
    with _serve(litert_export) as server:
        opened = open_model_page(open_page, server.url)
        page = opened.page
        require_webgpu(page)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.wait_for_timeout(200)
        assert not any(url.endswith("/model/proof.bin") for url in requested), "proof.bin waits for the check"
        record_statuses(page)
        run_check(page, rows=len(BACKENDS) + 2)
        assert any(url.endswith("/model/proof.bin") for url in requested)
        statuses = page.evaluate("window.statuses")
        names = [f"TF.js {b}" for b in BACKENDS] + ["LiteRT.js wasm", "LiteRT.js webgpu"]
        for k, name in enumerate(names, start=1):
            started = f"Checking on {name} (backend {k} of {len(names)}): starting"
            assert any(s.startswith(started) for s in statuses), (started, statuses)
        assert any(f"TF.js webgpu (backend 3 of 6): {samples} of {samples} samples compared" in s
                   for s in statuses), statuses
        assert opened.noise == []
    with _serve(one_sample_copy(generic_export, tmp_path / "one")) as server:
        page = open_model_page(open_page, server.url).page
        record_statuses(page)
        run_check(page)
        note = page.locator("#check-note").inner_text()
        assert note.endswith("agree with Keras on the 1 sample."), note
        assert not any("1 samples" in s for s in page.evaluate("window.statuses"))


def test_model_page_tables_fit_their_cards_at_desktop_width(litert_export: Path, open_page,
                                                            artifacts_dir: Path) -> None:
    with _serve(litert_export) as server:
        page = open_model_page(open_page, server.url, viewport=DESKTOP).page
        run_check(page, rows=len(BACKENDS) + 2)
        page.screenshot(path=str(artifacts_dir / "model-page-1280.png"), full_page=True)
        overflowing = call_in_page(page, PAGE_CHECKS, "overflowingTables")
        assert overflowing == [], "every table fits its card, no column cut off or scrolled"
        assert page.locator("#advice-table").is_visible() and page.locator("#check-table").is_visible()


@pytest.mark.parametrize(("kind", "quantization", "rule"), [
    ("generic", "none", "Rule: relative difference ≤ 1.0e-4, argmax agreement ≥ 100%."),
    ("generic", "float16", "Rule: relative difference ≤ 2.0e-2, argmax agreement ≥ 99.00%."),
    ("mnist-digits", "float16", "Rule: argmax agreement ≥ 99.95%, test accuracy within ±0.02 pp of Keras'."),
    ("mnist-digits", "uint8", "Rule: test accuracy at most 0.1 pp below Keras'."),
])
def test_the_proof_line_shows_the_rule_the_export_was_proven_by(generic_export: Path, tmp_path: Path,
                                                                open_page, kind: str, quantization: str,
                                                                rule: str) -> None:
    folder = tmp_path / "web_model"
    shutil.copytree(generic_export, folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    rules = (MNIST_THRESHOLDS if kind == "mnist-digits" else THRESHOLDS)[quantization]
    metadata.update(kind=kind, quantization=quantization)
    metadata["proof"]["thresholds"] = dict(rules)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with _serve(folder) as server:
        summary = open_model_page(open_page, f"{server.url}model").page.locator("#proof-summary").inner_text()
    assert summary.endswith(rule), summary
    assert "\N{EN DASH}" not in summary, "no rule left blank"


@pytest.mark.slow  # the exporter's bundle of 256 digits on six backends, two of them on a software GPU
def test_the_digit_exports_model_page_check_agrees_on_every_backend_quietly(
        litert_digit_export: Path, open_page, artifacts_dir: Path) -> None:  # noqa: F811
    """The check of a real export (the exporter's proof bundle of its digit model, with a .tflite) on
    both runtimes, their WebGPU too: every backend agrees, and the console stays empty (no warning per
    call, none from the runtimes)."""
    import time

    manifest, _ = read_bundle(litert_digit_export)
    with _serve(litert_digit_export) as server:
        opened = open_model_page(open_page, f"{server.url}model", viewport=DESKTOP)
        page = opened.page
        adapter = require_webgpu(page)
        began = time.perf_counter()
        results = run_check(page, rows=len(BACKENDS) + 2)
        seconds = time.perf_counter() - began
        for outcome in results:
            assert outcome["available"] and "error" not in outcome, outcome
            result = outcome["result"]
            assert result["passed"] is True, (outcome["backend"], result["failures"])
            assert result["samples"] == manifest["samples"] or result["stopped_by"] == "time budget"
            print(f"{outcome['runtime']} {outcome['backend']}: {result['samples']} of {manifest['samples']} "
                  f"samples, {result['ms_per_sample']} ms a sample, batch-1 {result['batch1_ms']} ms")
        print(f"check: {seconds:.1f} s on {adapter}")
        page.screenshot(path=str(artifacts_dir / "model-page-digits.png"), full_page=True)
        assert_names_the_adapter(page, adapter)
        assert opened.noise == []


def test_the_parity_table_names_the_adapter_a_webgpu_proof_ran_on(generic_export: Path, tmp_path: Path,
                                                                 open_page) -> None:
    folder = tmp_path / "web_model"
    shutil.copytree(generic_export, folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    result = {**metadata["proof"]["node"]["cpu"], "adapter": {
        "vendor": "google", "architecture": "swiftshader", "device": "", "description": "", "software": True}}
    metadata["proof"]["browser"] = {"wasm": metadata["proof"]["node"]["cpu"], "webgpu": result}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with _serve(folder) as server:
        rows = open_model_page(open_page, server.url).page.locator("#proof-table tbody th").all_inner_texts()
    assert "TF.js browser wasm" in rows
    assert "TF.js browser webgpu (google swiftshader, software adapter)" in rows, rows


def test_the_check_leaves_out_webgpu_where_the_export_says_it_cannot_run_the_model(
        litert_export: Path, open_page, tmp_path: Path) -> None:
    def cannot_run_on_webgpu(metadata: dict[str, Any]) -> None:
        lost = "TF.js webgpu cannot run this model: device lost"
        metadata["proof"]["browser"] = {"webgpu": {"unavailable": lost}}
        metadata["litert"]["proof"]["unavailable"] = {"webgpu": "no GPU kernel for WHILE"}

    folder = export_with_metadata(litert_export, tmp_path / "web_model", cannot_run_on_webgpu)
    with _serve(folder) as server:
        opened = open_model_page(open_page, server.url)
        page = opened.page
        require_webgpu(page)
        proof_rows = [r.split("\t")[:2] for r in page.locator("#proof-table tbody tr").all_inner_texts()]
        assert ["TF.js browser webgpu", "cannot run this model"] in proof_rows, proof_rows
        assert ["LiteRT.js browser webgpu", "cannot run this model"] in proof_rows, proof_rows
        assert "browser webgpu" not in page.locator("#proof-summary").inner_text()
        results = run_check(page, rows=len(BACKENDS) + 2)
        refused = {(r["runtime"], r["backend"]): r.get("refused") for r in results if not r["available"]}
        assert list(refused) == [("tfjs", "webgpu"), ("litert", "webgpu")], refused
        assert "device lost" in refused["tfjs", "webgpu"] and "WHILE" in refused["litert", "webgpu"]
        rows = page.locator('#check-table tr[data-state="refused"]')
        assert rows.count() == 2
        assert rows.first.locator("td").first.inner_text() == "not offered for this model"
        assert page.locator('#check-table tr[data-state="error"]').count() == 0
        assert "4 of 4 backends that ran agree" in page.locator("#check-note").inner_text()
        assert page.locator("#status").get_attribute("data-state") == "ok"
        assert opened.noise == []
