"""The full-integer model on the pages: the digit page runs model.int8.tflite when the export proved
one (`?runtime=litert-int8`, the selector's "LiteRT.js int8 wasm"), and the model page checks it by
the int8 rules metadata.json publishes (agreement with ties within one int8 step, the tie cap, the
RMS error over the spread: the exporter's own rule code, export/proof.js) and races it with the
other runtimes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.rules import INT8_THRESHOLDS, MNIST_INT8_THRESHOLDS
from tests.test_model_page import BACKENDS, _serve, add_litert, open_model_page, read_bundle, run_check
from tests.test_web_browser import litert_digit_export  # noqa: F401  (a fixture this module builds on)
from tests.tiny_export import INPUT

pytestmark = pytest.mark.browser


def add_int8(folder: Path, model: Any, calibration: dict[str, np.ndarray], thresholds: dict[str, float],
             samples: dict[str, np.ndarray]) -> Path:
    """model.int8.tflite (the exporter's converter) beside a proven model.tflite, recorded in
    metadata.json as the exporter records a proven one."""
    from export.specs import input_specs, output_specs
    from export.tflite import TfliteQuantization, output_steps, write_tflite

    tflite = write_tflite(model, input_specs(model), output_specs(model), samples,
                          folder / "model.int8.tflite", TfliteQuantization("int8", calibration))
    thresholds = {**thresholds, "int8_step": output_steps(tflite.path)}
    data = tflite.path.read_bytes()
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["files"]["model.int8.tflite"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    metadata["litert_int8"] = {"model": "model.int8.tflite", "status": "proven", "reason": None,
                               "precision": "int8", "bytes": len(data), "batch": 1,
                               "signature": tflite.signature,
                               "inputs": tflite.inputs, "outputs": tflite.outputs, "thresholds": thresholds,
                               "float_ops": [], "proof": {"browser": {"wasm": {
                                   "passed": True, "samples": 32, "of": 32, "batch1_ms": 0.03,
                                   "outputs": {"scores": {"agreement": 0.97, "max_abs_diff": 0.01}}}},
                                   "passed": True}}
    if metadata.get("runtimes"):
        metadata["runtimes"]["litert_int8"] = {
            "runtime_gzip_bytes": 2_900_000, "model_bytes": len(data), "model_gzip_bytes": len(data) // 2,
            "ms_per_call": {"wasm": 0.03}, "best": "wasm", "precision": "int8",
            "accuracy_text": "scores argmax agrees with Keras on 100.00 % (32 held-out samples)"}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder


@pytest.fixture(scope="module")
def int8_digit_export(litert_digit_export: Path, small_model_path: Path, mnist_test,  # noqa: F811
                      tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digit fixture export with model.tflite, plus model.int8.tflite calibrated on 200 training
    digits."""
    import keras

    from mnist_tfjs.mnist import load_mnist

    folder = tmp_path_factory.mktemp("int8-digits") / "web_model"
    shutil.copytree(litert_digit_export, folder)
    model = keras.saving.load_model(small_model_path, compile=False)
    name = model.inputs[0].name
    return add_int8(folder, model, {name: load_mnist().x_train[:200]}, MNIST_INT8_THRESHOLDS,
                    {name: mnist_test[0][:1]})


def test_digit_page_reads_digits_on_the_int8_model(int8_digit_export: Path, open_page, mnist_test,
                                                   small_model_probs: np.ndarray) -> None:
    from harness.page_driver import predict_pixels, serve_in_background
    from web import create_app

    with serve_in_background(create_app(int8_digit_export, native=False)) as server:
        opened = open_page(f"{server.url}?runtime=litert-int8")
        page = opened.page
        running = page.evaluate("[window.digitDemo.runtime(), window.digitDemo.backend()]")
        assert running == ["litert-int8", "wasm"]
        assert page.locator("#backend-select").input_value() == "litert-int8"
        assert "LiteRT.js int8 wasm" in page.locator("#backend-info").inner_text()
        images = mnist_test[0][:300]
        int8 = predict_pixels(page, images)
        agreement = (int8.argmax(axis=1) == small_model_probs[:300].argmax(axis=1)).mean()
        assert agreement >= MNIST_INT8_THRESHOLDS["min_agreement"], agreement
        assert np.abs(int8 - small_model_probs[:300]).max() > 1e-6, "int8 is not the float model"
        page.select_option("#backend-select", "litert-wasm")
        page.wait_for_function("() => window.digitDemo.runtime() === 'litert'"
                               " && !document.getElementById('backend-select').disabled")
        page.select_option("#backend-select", "litert-int8")
        page.wait_for_function("() => window.digitDemo.runtime() === 'litert-int8'"
                               " && !document.getElementById('backend-select').disabled")
        assert opened.noise == [], "no console warning or error"


def test_the_int8_option_appears_only_for_a_proven_int8_model(int8_digit_export: Path, open_page,
                                                              tmp_path: Path) -> None:
    from harness.page_driver import serve_in_background
    from web import create_app

    folder = tmp_path / "web_model"
    shutil.copytree(int8_digit_export, folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["litert_int8"].update(status="refused", model=None, reason="misses the int8 rules")
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with serve_in_background(create_app(folder, native=False)) as server:
        page = open_page(server.url).page
        assert page.locator('#backend-select option[value="litert-int8"]').count() == 0
        error = page.evaluate(
            "window.digitDemo.setRuntime('litert-int8').then(() => 'switched', e => e.message)")
        assert "no proven LiteRT.js int8 model (misses the int8 rules)" in error


def test_model_page_checks_the_int8_model_by_its_rules_and_races_it(tiny_generic_export: Path, open_page,
                                                                   tmp_path: Path) -> None:
    from tests.tiny_export import tiny_model

    folder = tmp_path / "web_model"
    shutil.copytree(tiny_generic_export, folder)
    add_litert(folder)
    manifest, arrays = read_bundle(folder)
    add_int8(folder, tiny_model(), {INPUT: arrays[INPUT][-32:]}, INT8_THRESHOLDS, {INPUT: arrays[INPUT][:1]})
    with _serve(folder) as server:
        opened = open_model_page(open_page, server.url)
        page = opened.page
        proof_rows = page.locator("#proof-table tbody tr").all_inner_texts()
        int8_row = next(r.split("\t") for r in proof_rows if r.startswith("LiteRT.js int8 browser wasm"))
        assert int8_row[1:4] == ["passed", "32", "int8 rules"] and "97" in int8_row[4], int8_row
        advice = page.locator("#advice-table tbody tr")
        keys = [advice.nth(i).get_attribute("data-runtime") for i in range(advice.count())]
        assert keys == ["tfjs", "litert", "litert_int8"]
        assert advice.nth(2).inner_text().startswith("LiteRT.js int8 (int8)")
        results = run_check(page, rows=len(BACKENDS) + 3)  # + LiteRT.js wasm, webgpu, int8 wasm
        int8 = [r for r in results if r["runtime"] == "litert_int8"]
        assert [r["backend"] for r in int8] == ["wasm"] and "error" not in int8[0], int8
        result = int8[0]["result"]
        assert result["passed"] is True, result["failures"]
        assert result["samples"] == manifest["samples"] and result["batch1_ms"] > 0
        assert result["outputs"]["scores"]["agreement"] >= INT8_THRESHOLDS["min_agreement"]
        assert result["outputs"]["value"]["relative_diff"] > manifest["thresholds"]["max_relative_diff"], \
            "judged by the float rules this int8 model would fail: the int8 rules are the ones applied"
        # every int8 rule, not only agreement: the RMS error over the spread is judged in the page too
        rms = result["outputs"]["value"]["rms_error_of_spread"]
        assert 0 < rms <= INT8_THRESHOLDS["max_rms_error_of_spread"], rms
        assert result["outputs"]["scores"]["ties"] is not None
        row = page.locator('#check-table tr[data-runtime="litert_int8"][data-backend="wasm"]')
        assert row.get_attribute("data-state") == "true"
        assert row.locator("th").inner_text().startswith("LiteRT.js int8 wasm")
        race = page.evaluate("window.modelPage.race()")
        timed = [r for r in results if r.get("result", {}).get("passed")]
        assert race["ms"] == min(r["result"]["batch1_ms"] for r in timed)
        assert opened.noise == [], "no console warning or error"


def test_model_page_fails_an_int8_model_by_the_rms_rule_metadata_publishes(tiny_generic_export: Path,
                                                                         open_page, tmp_path: Path) -> None:
    """The page reads the int8 rules from metadata.json and judges each one: an RMS limit no int8
    model meets fails the int8 row on `value` while argmax agreement still passes."""
    from tests.tiny_export import tiny_model

    folder = tmp_path / "web_model"
    shutil.copytree(tiny_generic_export, folder)
    add_litert(folder)
    _, arrays = read_bundle(folder)
    strict = {**INT8_THRESHOLDS, "max_rms_error_of_spread": 1e-6}
    add_int8(folder, tiny_model(), {INPUT: arrays[INPUT][-32:]}, strict, {INPUT: arrays[INPUT][:1]})
    with _serve(folder) as server:
        page = open_model_page(open_page, server.url).page
        results = run_check(page, rows=len(BACKENDS) + 3)
        int8 = next(r for r in results if r["runtime"] == "litert_int8")
        result = int8["result"]
        assert result["passed"] is False
        assert result["outputs"]["value"]["failed_rules"] == ["max_rms_error_of_spread"]
        assert result["outputs"]["scores"]["failed_rules"] == []
        assert any(f.startswith("value: RMS error") for f in result["failures"]), result["failures"]
        row = page.locator('#check-table tr[data-runtime="litert_int8"][data-backend="wasm"]')
        assert row.get_attribute("data-state") == "false"
