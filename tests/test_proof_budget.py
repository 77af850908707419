"""The proof's cost fits the model: per-backend time budgets, Keras in batches, weight shards, progress;
and a proof on outputs that do not vary is refused rather than passed."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from export import ExportError, export_model
from export.__main__ import main
from export.node_proof import _timeout_message
from export.reference import ProofReach, batch_size
from export.rules import MIN_SPREAD, constant_outputs, output_spread
from export.specs import TensorSpec


def _classifier(zero_kernel: bool = False, units: int = 64):
    """features (8) → Dense(units) → softmax over 4 classes; a zero kernel makes every output 1/4."""
    import keras

    keras.utils.set_random_seed(0)
    x_in = keras.Input((8,), name="features")
    hidden = keras.layers.Dense(units, activation="relu")(x_in)
    init = "zeros" if zero_kernel else "glorot_uniform"
    return keras.Model(x_in, keras.layers.Dense(4, activation="softmax", name="probs",
                                                kernel_initializer=init)(hidden))


def test_keras_batches_are_sized_by_the_bytes_of_a_sample() -> None:
    assert batch_size({"image": np.zeros((3, 28, 28, 1), np.float32)}) == 256
    assert batch_size({"image": np.zeros((3, 224, 224, 3), np.float32)}) == 3
    assert batch_size({"huge": np.zeros((2, 2048, 2048, 3), np.float32)}) == 1
    # outputs count too: DeepLabV3 turns a 64x64 image into 64x64x256 features
    features = [TensorSpec("features", "float32", (None, 64, 64, 256), "float32")]
    assert batch_size({"image": np.zeros((3, 64, 64, 3), np.float32)}, features) == 1


def test_keras_predicts_no_more_samples_than_their_outputs_fit_in() -> None:
    """A generous time budget, but 4 MB of outputs a sample: Keras stops at 64 samples (256 MB)."""
    features = [TensorSpec("features", "float32", (None, 64, 64, 256), "float32")]
    reach = ProofReach(1000.0, features)
    assert not reach.enough(32, 0.1) and reach.enough(64, 0.2)
    assert "256 MB" in reach.why
    small = ProofReach(1000.0, [TensorSpec("probs", "float32", (None, 10), "float32")])
    assert not small.enough(32, 0.1) and not small.enough(256, 0.2)


def test_the_spread_of_a_large_output_is_measured_a_few_samples_at_a_time() -> None:
    """No float64 copy of the whole output (a gigabyte in float32 for DeepLabV3), the same answer."""
    values = np.random.default_rng(2).normal(size=(70, 6, 5)).astype(np.float32)
    exact = values.astype(np.float64)
    assert output_spread(values) == pytest.approx(
        np.max(np.abs(exact - exact.mean(axis=0))) / np.max(np.abs(values)), rel=1e-12)


def test_spread_tells_constant_outputs_from_varying_ones() -> None:
    flat = np.full((32, 10), 0.1, np.float32)
    varied = np.random.default_rng(0).dirichlet(np.ones(10), size=32).astype(np.float32)
    assert output_spread(flat) == 0.0 and output_spread(varied) > 0.1
    nearly = flat + np.random.default_rng(1).normal(0, 1e-6, flat.shape).astype(np.float32)
    rules = {"max_relative_diff": 1e-4}
    assert constant_outputs({"a": output_spread(nearly), "b": output_spread(varied)}, rules) == ["a"]
    assert constant_outputs({"a": 0.05}, {"max_relative_diff": 0.1}) == ["a"]  # a loose rule needs more
    assert constant_outputs({"a": MIN_SPREAD * 2}, {}) == []


def test_a_stopped_node_run_names_the_backend_and_its_cost_not_the_machine() -> None:
    text = _timeout_message(300, {"backend": "cpu", "done": 3, "total": 256, "msPerSample": 1536.0})
    assert "cpu backend" in text and "3 of 256 samples" in text and "1.54 s each" in text
    assert "overloaded" not in text and "--proof-seconds" in text


@pytest.mark.node
def test_each_backend_compares_what_its_budget_allows(tmp_path: Path, node_ready: str) -> None:
    metadata = export_model(_classifier(), tmp_path / "budget", samples_count=200, proof_seconds=1e-3,
                            browser=False)
    proof = metadata["proof"]
    assert proof["passed"] is True and proof["budget_s"] == 1e-3
    for result in proof["node"].values():
        assert result["of"] == 200 and result["stopped_by"] == "time budget"
        assert 2 <= result["samples"] < 200 and result["ms_per_sample"] > 0

    unlimited = export_model(_classifier(), tmp_path / "all", samples_count=200, proof_seconds=0,
                             browser=False)
    for result in unlimited["proof"]["node"].values():
        assert result["samples"] == result["of"] == 200 and result["stopped_by"] == "all samples"
    assert unlimited["proof"]["budget_s"] is None


@pytest.mark.node
def test_constant_outputs_are_refused_then_accepted_on_request(tmp_path: Path, node_ready: str) -> None:
    out = tmp_path / "web_model"
    with pytest.raises(ExportError) as caught:
        export_model(_classifier(zero_kernel=True), out, samples_count=32, browser=False)
    message = str(caught.value)
    assert caught.value.exit_code == 2 and "'probs' barely varies" in message and "--samples" in message
    assert "\n" not in message and not out.exists()

    metadata = export_model(_classifier(zero_kernel=True), out, samples_count=32, browser=False,
                            accept_constant_outputs=True)
    assert metadata["proof"]["constant_outputs_accepted"] is True
    assert metadata["proof"]["output_spread"] == {"probs": 0.0}
    assert json.loads((out / "metadata.json").read_text())["proof"]["constant_outputs_accepted"] is True


@pytest.mark.node
def test_weight_shards_follow_the_size_asked_for(tmp_path: Path, node_ready: str) -> None:
    model = _classifier(units=4096)  # 4096 x 8 + 4096 x 4 weights: about 200 KB of float32
    metadata = export_model(model, tmp_path / "small", samples_count=16, shard_mb=0.05, browser=False)
    shards = sorted(name for name in metadata["files"] if name.endswith(".bin") and name.startswith("group"))
    assert len(shards) >= 4
    assert all(metadata["files"][name]["bytes"] <= 0.05 * 1024 * 1024 for name in shards)
    default = export_model(model, tmp_path / "default", samples_count=16, browser=False)
    assert [name for name in default["files"] if name.startswith("group")] == ["group1-shard1of1.bin"]


@pytest.mark.node
def test_verbose_export_reports_progress_per_backend(tmp_path: Path, node_ready: str) -> None:
    path = tmp_path / "model.keras"
    _classifier().save(path)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["--model", str(path), "--out", str(tmp_path / "web_model"), "--no-browser",
                     "--samples-count", "40", "--verbose"])
    assert code == 0, stderr.getvalue()
    assert "node wasm: 40/40 samples, done" in stderr.getvalue()
    assert "node cpu: 40/40 samples, done" in stderr.getvalue()
    assert "all 40 samples" in stdout.getvalue()  # the table says what each backend compared


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--proof-seconds", "-1", "must be a number of seconds, 0 or more"),
    ("--proof-seconds", "soon", "must be a number of seconds, 0 or more"),
    ("--shard-mb", "0", "must be a size in MB above 0"),
    ("--samples-count", "0", "must be a positive integer"),
    ("--digits", "10001", "must be an integer from 1 to 10000"),
])
def test_bad_option_values_are_refused_in_one_line(option: str, value: str, expected: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--model", "m.keras", option, value])
    assert caught.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"{expected}, got {value}")
