"""The full-integer LiteRT.js model (`--litert int8`): TensorFlow's int8 conversion with float32 at the
edges, the calibration split (never proven on what it was calibrated on), the int8 rules and their
verdicts, float fallback only on request, the proof in LiteRT.js on the tiny export, the CLI option
and exit code, and the runtime advice that names what int8 costs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.errors import ExportError
from export.options import Int8Options, LitertJob
from export.rules import INT8_THRESHOLDS, MNIST_INT8_THRESHOLDS
from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require
from tests.tiny_export import CLASSIFIERS, INPUT, OUTPUTS


@pytest.fixture(scope="module")
def chromium_ready() -> None:
    from mnist_tfjs.chromium import find_chromium
    from mnist_tfjs.paths import NODE_MODULES

    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    require((NODE_MODULES / "@litertjs" / "core").is_dir(), "npm packages (`npm ci`)")


def _reference(count: int = 64, *, labels: np.ndarray | None = None, seed: int = 0) -> Any:
    """A Reference of the tiny model on `count` generated samples (kind mnist-digits with `labels`)."""
    from export.prove import Reference
    from export.reference import keras_outputs
    from export.samples import Samples
    from export.specs import input_specs, output_specs
    from tests.tiny_export import tiny_model

    model = tiny_model()
    inputs, outputs = input_specs(model), output_specs(model)
    arrays = {INPUT: np.random.default_rng(seed).normal(size=(count, 6)).astype(np.float32)}
    expected = keras_outputs(model, inputs, outputs, arrays)
    kind = "generic" if labels is None else "mnist-digits"
    samples = Samples(kind, arrays, {"source": "generated"}, labels)
    return model, inputs, outputs, Reference(samples, expected, outputs,
                                             {name: name in CLASSIFIERS for name in OUTPUTS}, INT8_THRESHOLDS)


def test_int8_conversion_is_full_integer_with_float32_at_the_edges(tmp_path: Path) -> None:
    import tensorflow as tf

    from export.tflite import TfliteQuantization, float_ops, write_tflite

    model, inputs, outputs, reference = _reference()
    calibration = {INPUT: reference.samples.arrays[INPUT][32:]}
    float_model = write_tflite(model, inputs, outputs, reference.samples.arrays, tmp_path / "f.tflite")
    int8_model = write_tflite(model, inputs, outputs, reference.samples.arrays, tmp_path / "q.tflite",
                              TfliteQuantization("int8", calibration))
    assert [e["dtype"] for e in int8_model.inputs + int8_model.outputs] == ["float32"] * 3
    assert [e["shape"] for e in int8_model.inputs] == [e["shape"] for e in float_model.inputs] == [[1, 6]]
    assert float_ops(tmp_path / "q.tflite") == []
    assert "FULLY_CONNECTED" in float_ops(tmp_path / "f.tflite")
    interpreter = tf.lite.Interpreter(model_path=str(tmp_path / "q.tflite"))
    kernels = [t for t in interpreter.get_tensor_details() if len(t["shape"]) == 2 and t["shape"][0] == 8]
    assert kernels and all(t["dtype"] == np.int8 for t in kernels)
    runner = interpreter.get_signature_runner()
    got = runner(**{INPUT: reference.samples.arrays[INPUT][:1]})
    assert np.abs(got["scores"] - reference.expected["scores"][:1]).max() < 0.05


def test_an_op_with_no_integer_kernel_stays_float_only_on_request(tmp_path: Path) -> None:
    import keras

    from export.specs import input_specs, output_specs
    from export.tflite import TfliteQuantization, TfliteUnavailable, float_ops, write_tflite

    features = keras.Input((6,), name="x")
    y = keras.layers.Dense(4, name="y")(keras.layers.Lambda(keras.ops.sin)(keras.layers.Dense(6)(features)))
    model = keras.Model(features, y)
    samples = {"x": np.random.default_rng(1).normal(size=(16, 6)).astype(np.float32)}
    inputs, outputs = input_specs(model), output_specs(model)
    with pytest.raises(TfliteUnavailable, match="--allow-float-fallback"):
        write_tflite(model, inputs, outputs, samples, tmp_path / "q.tflite",
                     TfliteQuantization("int8", samples))
    write_tflite(model, inputs, outputs, samples, tmp_path / "q.tflite",
                 TfliteQuantization("int8", samples, allow_float_fallback=True))
    assert float_ops(tmp_path / "q.tflite") == ["SIN"]


def test_generic_models_calibrate_on_the_last_samples_and_are_proven_on_the_rest() -> None:
    from export.int8 import CALIBRATION_SAMPLES, calibration_split

    _, _, _, reference = _reference(64)
    split = calibration_split(reference)
    assert split.held_out == 32 and split.info["samples"] == 32 and split.info["held_out"] == 32
    np.testing.assert_array_equal(split.arrays[INPUT], reference.samples.arrays[INPUT][32:])
    _, _, _, many = _reference(1000)
    assert calibration_split(many).info["samples"] == CALIBRATION_SAMPLES
    assert calibration_split(many).held_out == 1000 - CALIBRATION_SAMPLES
    _, _, _, one = _reference(1)
    with pytest.raises(ExportError, match="at least 2 samples"):
        calibration_split(one)


def test_digit_models_calibrate_on_training_digits_and_keep_every_test_digit() -> None:
    from export.int8 import CALIBRATION_DIGITS, calibration_split
    from mnist_tfjs.mnist import load_mnist

    _, _, _, reference = _reference(10, labels=np.arange(10) % 3)
    split = calibration_split(reference)
    assert split.held_out == 10 and split.info["source"] == "mnist-train"
    np.testing.assert_array_equal(split.arrays[INPUT], load_mnist().x_train[:CALIBRATION_DIGITS])


def _flip(values: np.ndarray, rows: int) -> np.ndarray:
    """Scores whose argmax moves to the next class in the first `rows` rows."""
    flipped = values.copy()
    flipped[:rows] = np.roll(values[:rows], 1, axis=1)
    return flipped


# The shared runner (export/proof.js) judging given outputs in Node.
GIVEN_OUTPUTS_RUNTIME = Path(__file__).with_name("given_outputs_runtime.js")
INT8 = {**INT8_THRESHOLDS, "int8_step": {}}


def _judged(node: str, tmp_path: Path, values: dict[str, np.ndarray], reference: Any,
            thresholds: dict[str, Any]) -> dict[str, Any]:
    """The RESULT export/proof.js gives `values` against `reference` under `thresholds`, in Node."""
    from export.samples import write_bundle

    folder = tmp_path / f"bundle-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    count = reference.samples.count
    write_bundle(folder, reference.samples.arrays, reference.expected, reference.classifiers, thresholds,
                 count)
    given = folder / "values.json"
    given.write_text(json.dumps({name: np.asarray(v, np.float32).ravel().tolist()
                                 for name, v in values.items()}))
    runner = [node, str(GIVEN_OUTPUTS_RUNTIME), str(REPO_ROOT / "export" / "proof.js")]
    out = subprocess.run([*runner, str(folder), str(given)], capture_output=True, text=True, timeout=60,
                         check=True)
    return json.loads(out.stdout)


@pytest.mark.node
def test_the_int8_rules_judge_agreement_ties_and_spread_in_the_shared_runner(node_ready: str,
                                                                             tmp_path: Path) -> None:
    _, _, _, reference = _reference(100)
    exact = {name: reference.expected[name] for name in OUTPUTS}
    passed = _judged(node_ready, tmp_path, exact, reference, INT8)
    assert passed["passed"] and passed["outputs"]["scores"]["agreement"] == 1.0
    assert passed["outputs"]["value"]["rms_error_of_spread"] == 0.0
    flips = int(100 * (1 - INT8_THRESHOLDS["min_agreement"])) + 1
    scores = exact["scores"]
    distinct = (np.sort(scores, axis=1)[:, -1] - np.sort(scores, axis=1)[:, -2] > 1e-6).all()
    assert distinct
    failed = _judged(node_ready, tmp_path, {**exact, "scores": _flip(scores, flips)}, reference, INT8)
    assert not failed["passed"] and failed["failures"][0].startswith("scores: argmax agreement")
    # flips where Keras' top two are within one step of the int8 grid are ties, up to max_tie_share
    within_a_step = {**INT8, "int8_step": {"scores": 1.0}}
    tied = _judged(node_ready, tmp_path, {**exact, "scores": _flip(scores, 3)}, reference, within_a_step)
    assert tied["passed"] and tied["outputs"]["scores"]["ties"] == 3
    assert tied["outputs"]["scores"]["agreement"] == 0.97
    flat = _judged(node_ready, tmp_path, {**exact, "scores": _flip(scores, 10)}, reference, within_a_step)
    assert not flat["passed"] and "10.00 % of the samples are ties" in flat["failures"][0]
    assert flat["outputs"]["scores"]["failed_rules"] == ["max_tie_share"]
    noisy = exact["value"] + reference.expected["value"].std(axis=0) * 0.5
    failed = _judged(node_ready, tmp_path, {**exact, "value": noisy}, reference, INT8)
    assert len(failed["failures"]) == 1 and failed["failures"][0].startswith("value: RMS error 0.5")
    assert 0.4 < failed["outputs"]["value"]["rms_error_of_spread"] < 0.6
    # the float rules alone (no int8 rules in the bundle) never compute the spread
    plain = _judged(node_ready, tmp_path, exact, reference, {"max_relative_diff": 1e-4})
    assert "rms_error_of_spread" not in plain["outputs"]["value"]


def test_digit_models_lose_at_most_the_allowed_test_accuracy_on_every_digit() -> None:
    from export.int8 import accuracy_rule

    _, _, _, plain = _reference(2000)
    labels = plain.expected["scores"].argmax(axis=1)  # Keras is right on every "digit"
    _, _, _, reference = _reference(2000, labels=labels)
    scores = reference.expected["scores"]
    limit = MNIST_INT8_THRESHOLDS["max_accuracy_drop_pp"]
    accuracy, failures = accuracy_rule(_flip(scores, 2), reference, 2000, MNIST_INT8_THRESHOLDS)
    assert failures == [] and accuracy["change_pp"] == pytest.approx(-0.1) and limit == 0.1
    _, failures = accuracy_rule(_flip(scores, 3), reference, 2000, MNIST_INT8_THRESHOLDS)
    assert len(failures) == 1 and "0.150 pp below Keras" in failures[0]
    _, failures = accuracy_rule(scores, reference, 1000, MNIST_INT8_THRESHOLDS)
    assert len(failures) == 1 and "needs every test digit" in failures[0]
    _, failures = accuracy_rule(scores, reference, 1000, MNIST_INT8_THRESHOLDS, every_digit=False)
    assert failures == []


def test_allow_float_fallback_needs_int8_and_the_cli_names_the_precision() -> None:
    from export.__main__ import parse_args
    from export.options import ExportOptions

    with pytest.raises(ExportError, match="--allow-float-fallback applies to the full-integer model"):
        ExportOptions(litert=True, allow_float_fallback=True).check()
    plain, int8, off = (ExportOptions.from_arguments(parse_args(argv))
                        for argv in (["--litert"], ["--litert", "int8"], []))
    assert plain.wants_litert and not plain.int8
    assert int8.wants_litert and int8.int8 and not off.wants_litert
    with pytest.raises(SystemExit):
        parse_args(["--litert", "int4"])


def _figures(gzip_bytes: int, ms: float, precision: str = "float32", accuracy: Any = None) -> Any:
    from export.runtime_advice import RuntimeFigures

    return RuntimeFigures(gzip_bytes * 3, gzip_bytes - 1000, 5000, 1000, {"wasm": ms}, {"wasm": 30},
                          precision=precision, accuracy=accuracy)


def test_the_advice_names_what_int8_costs_when_it_recommends_it() -> None:
    from export.report import _runtime_lines
    from export.runtime_advice import advice, runtimes_block

    cost = {"samples": 10_000, "held_out": True, "outputs": {"probs": {"agreement": 0.9995}},
            "accuracy_change_pp": -0.05}
    figures = {"tfjs": _figures(5_000_000, 30.0, "float32", {"max_relative_diff": 1e-6}),
               "litert": _figures(5_500_000, 19.0), "litert_int8": _figures(3_500_000, 8.0, "int8", cost)}
    verdict = advice(figures, mbit_per_s=8.0)
    assert verdict["ship"] == verdict["fastest"] == "litert_int8"
    assert "LiteRT.js int8 (wasm) is both the smaller download" in verdict["text"]
    assert ("probs argmax agrees with Keras on 99.95 %, test accuracy -0.05 pp (10,000 held-out"
            in verdict["text"])
    block = runtimes_block(figures)
    assert block["litert_int8"]["precision"] == "int8" and block["litert_int8"]["accuracy"] == cost
    text = "\n".join(_runtime_lines(block))
    assert "LiteRT.js int8 int8, batch 1: wasm 8 ms" in text and "TF.js          float32, batch 1" in text
    assert "vs Keras: max |Δ| 1.0e-06 of scale" in text


def test_the_cli_table_shows_the_int8_calibration_rules_and_verdict() -> None:
    from export.report import int8_lines

    block = {"status": "refused", "reason": "misses the int8 rules (LiteRT.js wasm: probs: argmax agreement "
             "90.00 % < 99.50 %)",
             "calibration": {"samples": 500, "source": "mnist-train", "held_out": 10_000},
             "thresholds": MNIST_INT8_THRESHOLDS, "float_ops": ["SIN"],
             "proof": {"browser": {"wasm": {"passed": False, "outputs": {"probs": {
                 "max_abs_diff": 0.5, "rms_error_of_spread": 0.2, "agreement": 0.9}},
                 "accuracy": {"keras": 0.99, "int8": 0.9, "change_pp": -9.0, "digits": 10_000}}}}}
    text = "\n".join(int8_lines(block))
    assert "int8 calibration 500 samples (mnist-train); proven on 10,000 held-out samples" in text
    assert "need min_agreement 0.995, max_tie_share 0.005, max_accuracy_drop_pp 0.1" in text
    assert "(-9.00 pp) on 10,000 digits  FAIL (wasm)" in text and "int8 float ops SIN" in text
    assert "model.int8.tflite not published (refused): misses the int8 rules" in text
    assert int8_lines({"status": "off"}) == []


def _staging(tiny_generic_export: Path, tmp_path: Path) -> Path:
    staging = tmp_path / "staging"
    shutil.copytree(tiny_generic_export, staging)
    (staging / "metadata.json").unlink()
    return staging


def test_the_int8_model_is_proven_in_litert_js_on_held_out_samples(chromium_ready: None,
                                                                  tiny_generic_export: Path,
                                                                  tmp_path: Path) -> None:
    from export.litert import litert_target
    from tests.test_export_litert import TFJS_PROVEN
    from tests.test_export_litert import _reference as exported_reference

    staging = _staging(tiny_generic_export, tmp_path)
    model, inputs, outputs, reference = exported_reference(staging)
    target = litert_target(model, inputs, outputs, reference, staging, INT8_JOB, TFJS_PROVEN)
    assert target.status == "proven"
    block = target.int8_target.block
    assert block["status"] == "proven", block["reason"]
    assert block["model"] == "model.int8.tflite" and block["reason"] is None
    int8_file = staging / "model.int8.tflite"
    assert block["bytes"] == int8_file.stat().st_size and int8_file.read_bytes()[4:8] == b"TFL3"
    assert block["calibration"]["samples"] == 32 and block["calibration"]["held_out"] == 32
    steps = block["thresholds"].pop("int8_step")  # each output's int8 grid, where ties are judged
    assert block["thresholds"] == INT8_THRESHOLDS and block["float_ops"] == [] and block["seconds"] > 0
    assert set(steps) == set(OUTPUTS) and all(0 < step < 1 for step in steps.values())
    wasm = block["proof"]["browser"]["wasm"]
    assert wasm["passed"] and wasm["samples"] == wasm["of"] == 32 and wasm["failures"] == []
    assert wasm["outputs"]["scores"]["agreement"] >= INT8_THRESHOLDS["min_agreement"]
    assert wasm["outputs"]["value"]["rms_error_of_spread"] <= INT8_THRESHOLDS["max_rms_error_of_spread"]
    assert wasm["outputs"]["value"]["agreement"] is None and wasm["batch1_ms"] > 0
    runtimes = target.runtimes
    assert runtimes is not None and set(runtimes) >= {"tfjs", "litert", "litert_int8"}
    assert runtimes["litert_int8"]["model_bytes"] == block["bytes"]
    # WebGPU too, judged by the same int8 rules; a software adapter's time never picks the backend
    webgpu = block["proof"]["browser"]["webgpu"]
    assert webgpu["passed"] and webgpu["samples"] == 32 and webgpu["repeated"] >= 1
    assert webgpu["outputs"]["scores"]["agreement"] >= INT8_THRESHOLDS["min_agreement"]
    assert runtimes["litert_int8"]["ms_per_call"] == {"wasm": wasm["batch1_ms"],
                                                     "webgpu": webgpu["batch1_ms"]}
    if webgpu["adapter"]["software"]:
        assert runtimes["litert_int8"]["software_adapter"] == ["webgpu"]
        assert runtimes["litert_int8"]["best"] == "wasm" and runtimes["litert"]["best"] == "wasm"
        assert "webgpu" not in runtimes["tfjs"]["ms_per_call"]  # TF.js webgpu is timed on a GPU only
    assert runtimes["litert_int8"]["precision"] == "int8"
    assert runtimes["litert_int8"]["accuracy"]["samples"] == 32
    assert runtimes["tfjs"]["accuracy"] == TFJS_PROVEN.accuracy
    assert runtimes["litert"]["precision"] == "float32"
    assert runtimes["litert_int8"]["runtime_bytes"] == runtimes["litert"]["runtime_bytes"]


def test_an_int8_model_that_misses_the_rules_is_left_out(chromium_ready: None, tiny_generic_export: Path,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import export.int8
    from export.litert import litert_target
    from tests.test_export_litert import TFJS_PROVEN
    from tests.test_export_litert import _reference as exported_reference

    monkeypatch.setattr(export.int8, "INT8_THRESHOLDS", STRICT)
    staging = _staging(tiny_generic_export, tmp_path)
    model, inputs, outputs, reference = exported_reference(staging)
    target = litert_target(model, inputs, outputs, reference, staging, INT8_JOB, TFJS_PROVEN)
    block = target.int8_target.block
    assert target.status == "proven" and block["status"] == "refused" and block["model"] is None
    assert not (staging / "model.int8.tflite").exists() and (staging / "model.tflite").is_file()
    assert block["reason"].startswith("misses the int8 rules (LiteRT.js wasm: value: RMS error")
    assert block["proof"]["passed"] is False and block["bytes"] > 0
    assert target.runtimes is not None and "litert_int8" not in target.runtimes


STRICT = {"min_agreement": 1.0, "max_rms_error_of_spread": 1e-6}  # no int8 model meets these
INT8_JOB = LitertJob(wanted=True, verify=True, browser=True, budget_s=None, int8=Int8Options())


def _cli(args: list[str]) -> tuple[int, str, str]:
    from tests.test_export_litert import _cli as run

    return run(args)


@pytest.mark.slow
def test_the_cli_publishes_the_int8_model_and_exits_3_when_it_is_left_out(
        chromium_ready: None, node_ready: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import export.int8
    from mnist_tfjs.files import sha256_file
    from tests.tiny_export import tiny_model

    model = tmp_path / "tiny.keras"
    tiny_model().save(model)
    common = ["--model", str(model), "--samples-count", "64", "--backend", "wasm", "--litert", "int8"]
    code, stdout, stderr = _cli([*common, "--out", str(tmp_path / "all")])
    assert code == 0, stderr
    metadata = json.loads((tmp_path / "all" / "metadata.json").read_text())
    assert metadata["litert"]["status"] == metadata["litert_int8"]["status"] == "proven"
    int8_file = tmp_path / "all" / "model.int8.tflite"
    assert metadata["files"]["model.int8.tflite"]["sha256"] == sha256_file(int8_file)
    assert "model.int8.tflite" not in str([n for n in metadata["files"] if n.startswith("group")])
    assert metadata["download_bytes"] == sum(entry["bytes"] for name, entry in metadata["files"].items()
                                             if name == "model.json" or name.startswith("group"))
    assert "model.int8.tflite proven, full integer" in stdout and "(and its int8 twin)" in stdout
    assert "LiteRT.js int8 int8, batch 1" in stdout

    monkeypatch.setattr(export.int8, "INT8_THRESHOLDS", STRICT)
    code, stdout, stderr = _cli([*common, "--out", str(tmp_path / "float-only")])
    assert code == 3, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: model.int8.tflite not published (refused): "
                                                      "misses the int8 rules")
    published = tmp_path / "float-only"
    assert (published / "model.json").is_file() and (published / "model.tflite").is_file()
    assert not (published / "model.int8.tflite").exists()


def test_no_verify_writes_the_int8_model_unverified(tmp_path: Path) -> None:
    from export.litert import litert_target

    model, inputs, outputs, reference = _reference(64)
    job = LitertJob(wanted=True, verify=False, browser=False, budget_s=None, int8=Int8Options())
    target = litert_target(model, inputs, outputs, reference, tmp_path, job)
    block = target.int8_target.block
    assert target.status == "unverified" and block["status"] == "unverified"
    assert block["model"] == "model.int8.tflite" and (tmp_path / "model.int8.tflite").is_file()
    assert block["calibration"]["samples"] == 32 and block["proof"] is None
    assert target.runtimes is None and block["seconds"] > 0
