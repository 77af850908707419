"""`python -m train`: the seed MLP, the CNN's artifacts, resume, repeatability, multi-device, CLI errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_tfjs.paths import REPO_ROOT
from train import __main__ as cli

METRIC_KEYS = {"test_accuracy", "test_loss", "val_accuracy", "params", "model", "preset", "epochs",
               "train_seconds", "device", "seed", "backend", "versions", "data_sha256", "compile_seconds",
               "steady_images_per_s", "seconds_to_99_val", "compilations", "precision"}
TINY_RUN = ("--epochs", "1", "--train-limit", "4000", "--batch-size", "32")
SMALL_RUN = ("--epochs", "2", "--train-limit", "5000", "--batch-size", "64", "--seed", "7")


def run_train(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in a fresh process (runs that train, or need a fresh backend)."""
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})})


def read_metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cnn")
    result = run_train(*SMALL_RUN, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_cnn_writes_every_artifact(cnn_run: Path) -> None:
    for name in ("model.keras", "metrics.json", "history.csv", "training.png", "confusion.png"):
        assert (cnn_run / name).stat().st_size > 0, name
    assert not list(cnn_run.glob("checkpoint*")), "the checkpoint is removed once the run completes"
    assert not list(cnn_run.glob(".*")), "no temporary files are left behind"
    metrics = read_metrics(cnn_run)
    assert set(metrics) >= METRIC_KEYS
    assert metrics["model"] == "cnn" and metrics["preset"] == "quick" and metrics["epochs"] == 2
    assert metrics["backend"] == "tensorflow" and metrics["seed"] == 7
    assert set(metrics["versions"]) == {"python", "keras", "numpy", "tensorflow"}  # the backend in use only
    assert metrics["precision"] == "float32" and metrics["xla"] is False and metrics["compilations"] is None
    assert metrics["steady_images_per_s"] > 0 and metrics["compile_seconds"] >= 0
    assert len(metrics["epoch_seconds"]) == 2
    assert metrics["params"] > 10_000
    assert 0.90 < metrics["test_accuracy"] <= 1.0  # 5,000 images, two epochs: well above chance
    assert sum(map(sum, metrics["confusion_matrix"])) == 10_000
    rows = list(csv.DictReader((cnn_run / "history.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert (cnn_run / "training.png").read_bytes()[:4] == b"\x89PNG"


def test_saved_model_reproduces_metrics(cnn_run: Path, mnist_test) -> None:
    import keras

    # a plain load, as the exporter and the server do: no custom objects needed
    model = keras.models.load_model(cnn_run / "model.keras")
    x_test, y_test = mnist_test
    accuracy = float((model.predict(x_test, batch_size=1000, verbose=0).argmax(1) == y_test).mean())
    assert accuracy == pytest.approx(read_metrics(cnn_run)["test_accuracy"], abs=1e-6)


@pytest.mark.slow  # a second full CLI training run
def test_same_seed_same_metrics(cnn_run: Path, tmp_path: Path) -> None:
    again = run_train(*SMALL_RUN, "--out", str(tmp_path))
    assert again.returncode == 0, again.stderr
    first, second = read_metrics(cnn_run), read_metrics(tmp_path)
    assert second["test_accuracy"] == first["test_accuracy"]
    assert second["test_loss"] == first["test_loss"]


@pytest.mark.slow  # a CLI training run of the tutorial MLP; the CNN's run above covers the CLI quickly
def test_tutorial_mlp_trains_and_evaluates(tmp_path: Path) -> None:
    result = run_train("--model", "tutorial-mlp", "--steps", "200", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(tmp_path)
    assert metrics["model"] == "tutorial-mlp" and metrics["preset"] == "tutorial"
    assert metrics["params"] == 784 * 300 + 300 + 300 * 10 + 10
    assert metrics["optimizer"] == "sgd" and metrics["lr"] == 0.5 and metrics["batch_size"] == 100
    assert metrics["steps"] == 200
    assert metrics["test_accuracy"] > 0.88  # 200 of the tutorial's 1000 steps
    assert "test accuracy" in result.stdout and "python -m export" in result.stdout


def test_interrupt_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after epoch 1 leaves a usable checkpoint; --resume finishes the remaining epoch."""
    from train import artifacts

    original = artifacts.EpochCheckpoint.on_epoch_end

    def interrupt_after_first_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        raise KeyboardInterrupt

    args = ["--epochs", "2", "--train-limit", "1000", "--out", str(tmp_path)]
    monkeypatch.setattr(artifacts.EpochCheckpoint, "on_epoch_end", interrupt_after_first_epoch)
    assert cli.main(args) == 130
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert state["epoch"] == 1 and (tmp_path / state["model_file"]).is_file()
    assert not (tmp_path / "model.keras").exists()

    monkeypatch.setattr(artifacts.EpochCheckpoint, "on_epoch_end", original)
    assert cli.main([*args, "--resume"]) == 0
    metrics = read_metrics(tmp_path)
    assert metrics["epochs"] == 2
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert len(rows) == 2
    assert not (tmp_path / "checkpoint.json").exists()


def test_resume_without_checkpoint_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--resume", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"error: no checkpoint in {tmp_path} to resume from; run without --resume"


@pytest.mark.slow  # a CLI training run in a fresh process under MirroredStrategy
def test_data_parallel_on_two_logical_cpus(tmp_path: Path) -> None:
    """The multi-GPU path (MirroredStrategy) on a CPU split into two logical devices."""
    result = run_train("--cpu-devices", "2", *TINY_RUN, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "device: 2 x CPU" in result.stdout
    metrics = read_metrics(tmp_path)
    assert metrics["strategy"] == "MirroredStrategy over 2 CPU devices"
    assert metrics["test_accuracy"] > 0.9


@pytest.mark.slow  # JAX compiles the model and the loop afresh: about a minute
def test_training_code_is_backend_agnostic(tmp_path: Path) -> None:
    """The same models, schedule and loop train under JAX."""
    pytest.importorskip("jax")
    result = run_train(*TINY_RUN, "--out", str(tmp_path), env={"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(tmp_path)
    assert metrics["backend"] == "jax" and metrics["device"].endswith("[jax]")
    assert metrics["test_accuracy"] > 0.9


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs: must be a positive integer"),
    (["--model", "resnet"], "--model: invalid choice"),
    (["--lr", "-1"], "--lr: must be a positive number"),
])
def test_bad_arguments_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Arguments are checked before TensorFlow starts: in-process, no training, no TF import cost."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_help_does_not_start_tensorflow() -> None:
    code = "import sys; from train.__main__ import parse_args; parse_args(['--model', 'cnn']); " \
           "print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "False"


def test_every_preset_names_a_model_that_is_built_and_each_model_has_a_default_preset() -> None:
    """train.presets is the source of the model names; train.models builds exactly those."""
    from mnist_tfjs.quiet import quiet_tensorflow

    quiet_tensorflow()
    from train.models import MODELS
    from train.presets import DEFAULT_PRESET_FOR_MODEL, MODEL_NAMES, PRESETS

    assert set(MODELS) == set(MODEL_NAMES)
    assert DEFAULT_PRESET_FOR_MODEL == {"tutorial-mlp": "tutorial", "cnn": "quick", "cnn-best": "best"}
    for model, preset in DEFAULT_PRESET_FOR_MODEL.items():
        assert PRESETS[preset].model == model


def test_unwritable_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cli.main(["--out", str(blocker / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --out {blocker / 'out'} is not writable")


def test_best_preset_fits_200_kb_as_float16_and_its_augmentation_varies_the_pen() -> None:
    """The best preset's network has under 100K parameters (2 bytes each as float16: under 200 KB), and
    its training-time augmentation moves and re-pens the digits (in training only), each image its own
    way, with the stroke width drawn independently of the affine transform."""
    from mnist_tfjs.quiet import quiet_tensorflow

    quiet_tensorflow()
    import numpy as np

    from train import run
    from train.presets import PRESETS

    preset = PRESETS["best"]
    model = run.build(preset, seed=3)
    network = run.network_of(model)
    assert network.name == "cnn_best" and network.count_params() < 100_000
    augmentation = model.layers[0]
    images = np.zeros((64, 28, 28, 1), np.float32)
    images[:, 8:20, 12:16] = 1.0  # a thick bar: a "1"
    augmented = np.asarray(augmentation(images, training=True))
    assert np.array_equal(np.asarray(augmentation(images, training=False)), images)
    assert not np.allclose(augmented[0], augmented[1])  # each image its own transform
    ink = augmented.sum(axis=(1, 2, 3))
    assert ink.max() > 1.3 * np.median(ink) and ink.min() < 0.7 * np.median(ink)  # thicker and thinner pens
