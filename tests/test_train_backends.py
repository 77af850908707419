"""`python -m train` on every Keras backend, each in a process where the other backends (TensorFlow
included) cannot be imported: JAX compiles each step function once and reuses its compilation cache,
torch trains too, the models export and pass the proof, and data-parallel training runs on a CPU
split into devices. Plus the cheap pieces (epoch order, epoch clock, compile log) in-process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require

BLOCKER = REPO_ROOT / "tests" / "import_blocker"
# Small but real: the quick preset's convnet and augmentation, 2 epochs of 8 batches of 128.
SMALL = ("--epochs", "2", "--train-limit", "1024", "--batch-size", "128")
ONE_EACH = {"train_step": 1, "test_step": 1, "predict_step": 1}


def run_without(blocked: tuple[str, ...], module: str, *args: str, backend: str,
                env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """`python -m module args` with KERAS_BACKEND=backend, in a process (and its children) where the
    `blocked` packages cannot be imported, as on a machine without them."""
    pythonpath = os.pathsep.join(filter(None, [str(BLOCKER), os.environ.get("PYTHONPATH")]))
    full_env = {**os.environ, "KERAS_BACKEND": backend, "BLOCKED_IMPORTS": ",".join(blocked),
                "PYTHONPATH": pythonpath, **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def read_metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def export_and_prove(model: Path, out: Path) -> dict:
    """Export with TensorFlow in a normal process (Node proof on 500 test digits); its metadata."""
    result = subprocess.run([sys.executable, "-m", "export", "--model", str(model), "--out", str(out),
                             "--digits", "500", "--backend", "wasm", "--no-browser"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads((out / "metadata.json").read_text())


def test_blocker_hides_a_package_as_if_it_were_not_installed() -> None:
    code = ("import importlib.util; from importlib import metadata;"
            "print(importlib.util.find_spec('tensorflow'), 'tensorflow' in metadata.packages_distributions()"
            ".get('tensorflow', []), metadata.version('numpy') != '');"
            "import tensorflow")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(BLOCKER), "BLOCKED_IMPORTS": "tensorflow"})
    assert result.stdout.strip() == "None False True"  # not found, no metadata; the rest is untouched
    assert "ModuleNotFoundError: No module named 'tensorflow'" in result.stderr


@pytest.mark.slow  # two JAX training runs and an export: a few minutes on 2 cores
def test_jax_without_tensorflow_compiles_once_caches_and_exports(tmp_path: Path, node_ready: str) -> None:
    pytest.importorskip("jax")
    cache = tmp_path / "cache"
    cold = run_without(("tensorflow", "tensorflowjs"), "train", *SMALL, "--out", str(tmp_path / "cold"),
                       "--compile-cache", str(cache), backend="jax")
    assert cold.returncode == 0, cold.stderr[-3000:]
    metrics = read_metrics(tmp_path / "cold")
    assert metrics["backend"] == "jax" and metrics["device"].endswith("[jax]")
    assert "jax" in metrics["versions"] and "tensorflow" not in metrics["versions"]
    # one compilation per step function: no second shape for a last partial batch, the validation
    # batch or the test evaluation
    assert metrics["compilations"]["step_functions"] == ONE_EACH
    assert metrics["compilations"]["persistent_cache_hits"] == 0
    assert metrics["compile_seconds"] > 0 and metrics["steady_images_per_s"] > 0
    assert "compiled predict_step x1, test_step x1, train_step x1 in " in cold.stdout
    assert any(cache.iterdir()), "compiled programs are kept in the cache folder"

    warm = run_without(("tensorflow", "tensorflowjs"), "train", *SMALL, "--out", str(tmp_path / "warm"),
                       "--compile-cache", str(cache), backend="jax")
    assert warm.returncode == 0, warm.stderr[-3000:]
    again = read_metrics(tmp_path / "warm")
    assert again["compilations"]["persistent_cache_hits"] >= 3, "the step functions come from the cache"
    assert again["compilations"]["step_compile_seconds"] < metrics["compilations"]["step_compile_seconds"] / 2
    assert again["test_accuracy"] == metrics["test_accuracy"], "a cached program computes the same"

    metadata = export_and_prove(tmp_path / "cold" / "model.keras", tmp_path / "web_model")
    assert metadata["proof"]["passed"] is True


@pytest.mark.slow  # a torch training run and an export
def test_torch_without_tensorflow_or_jax_trains_and_exports(tmp_path: Path, node_ready: str) -> None:
    require(importlib.util.find_spec("torch") is not None,
            "torch (CPU wheel: `pip install torch==2.13.0+cpu`, as .ci/run does)")
    result = run_without(("tensorflow", "tensorflowjs", "jax", "jaxlib"), "train", *SMALL,
                         "--out", str(tmp_path / "run"), backend="torch")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_metrics(tmp_path / "run")
    assert metrics["backend"] == "torch" and metrics["device"].endswith("[torch]")
    assert set(metrics["versions"]) == {"python", "keras", "numpy", "torch"}
    assert metrics["compilations"] is None and metrics["xla"] is False
    assert metrics["test_accuracy"] > 0.3  # 16 steps of 128: well above chance (10%)
    metadata = export_and_prove(tmp_path / "run" / "model.keras", tmp_path / "web_model")
    assert metadata["proof"]["passed"] is True


@pytest.mark.slow  # a JAX training run over two CPU devices
def test_jax_data_parallel_on_two_cpu_devices(tmp_path: Path) -> None:
    """keras.distribution.DataParallel on a CPU split in two (the multi-GPU path): each batch is
    split across the devices, and each step function still compiles once."""
    pytest.importorskip("jax")
    result = run_without(("tensorflow", "tensorflowjs"), "train", "--cpu-devices", "2", *SMALL,
                         "--out", str(tmp_path), "--no-compile-cache", backend="jax")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "device: 2 x CPU" in result.stdout
    metrics = read_metrics(tmp_path)
    assert metrics["strategy"] == "DataParallel over 2 CPU devices"
    assert metrics["compilations"]["step_functions"] == ONE_EACH
    assert metrics["compilation_cache"] is None
    assert metrics["test_accuracy"] > 0.3  # 16 steps of 128: well above chance (10%)


@pytest.mark.slow  # two short JAX training runs through the benchmark
def test_gpu_benchmark_needs_neither_tensorflow_nor_node(tmp_path: Path) -> None:
    """`python -m benchmarks --only gpu` where TensorFlow and tensorflowjs cannot be imported and no
    `node` is on PATH: a cold run, then a warm one that takes its programs from the cache."""
    pytest.importorskip("jax")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    result = run_without(("tensorflow", "tensorflowjs"), "benchmarks", "--smoke", "--only", "gpu",
                         "--out", str(tmp_path / "out"), backend="jax", env={"PATH": str(bin_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "benchmarks.json").read_text())
    assert results["machine"]["tensorflow"] is None and results["machine"]["node"] is None
    row = results["sections"]["gpu"]["rows"][0]
    assert row["preset"] == "quick" and row["backend"] == "jax" and row["step_compilations"] == ONE_EACH
    assert row["cache_hits_warm"] >= 3, "the warm run loads its step functions from the cache"
    assert row["compile_seconds_cold"] > 0 and row["compile_seconds_warm"] is not None
    assert row["wall_to_model_warm_s"] > 0 and row["wall_to_model_cold_s"] > 0
    assert row["steady_images_per_s"] > 0 and 0 < row["host_share_of_step"] < 1
    assert "start to model.keras" in result.stdout
    assert "Training on the accelerator" in (tmp_path / "out" / "benchmarks.md").read_text()


def test_epoch_order_is_whole_batches_reshuffled_every_epoch_and_repeatable() -> None:
    from train.run import epoch_order

    first, second = epoch_order(1000, 128, seed=3, epoch=0), epoch_order(1000, 128, seed=3, epoch=1)
    assert len(first) == len(second) == 7 * 128  # the last partial batch (104 images) is left out
    assert len(set(first.tolist())) == len(first) and first.max() < 1000
    assert not np.array_equal(first, second)
    assert np.array_equal(first, epoch_order(1000, 128, seed=3, epoch=0)), "a resumed run repeats it"


def test_whole_batches_only_where_xla_compiles_the_steps() -> None:
    from train.presets import PRESETS
    from train.run import steps_per_epoch

    quick = PRESETS["quick"]
    assert steps_per_epoch(quick, 55_000) == 215  # TensorFlow on a CPU: Keras batches, partial one included
    assert steps_per_epoch(quick, 55_000, whole_batches=True) == 214


def test_epoch_clock_separates_compiling_from_the_steady_pace() -> None:
    from train.clock import EpochClock

    clock = EpochClock(batch_size=100)
    clock.epoch_seconds, clock.epoch_steps = [7.0, 2.0, 2.2], [100, 100, 100]
    clock.val_accuracy = [0.985, 0.991, 0.993]
    summary = clock.summary()
    assert summary["steady_step_ms"] == pytest.approx(21.0)  # median of the later epochs
    assert summary["compile_seconds"] == pytest.approx(7.0 - 2.1)
    assert summary["steady_images_per_s"] == pytest.approx(100 / 0.021, rel=1e-3)
    assert summary["seconds_to_99_val"] == pytest.approx(9.0)  # 99% first reached after epoch 2
    assert summary["seconds_to_99_val_without_compile"] == pytest.approx(9.0 - 4.9)


def test_training_callbacks_leave_keras_batch_logs_asynchronous() -> None:
    """A callback with its own on_train_batch_end makes Keras hand over every batch's logs
    synchronously (on JAX: wait for each step); the run's own callbacks have none."""
    import keras

    from train.artifacts import EpochCheckpoint
    from train.clock import EpochClock

    for callback in (EpochClock, EpochCheckpoint):
        assert callback.on_train_batch_end is keras.callbacks.Callback.on_train_batch_end
        assert callback.on_batch_end is keras.callbacks.Callback.on_batch_end


def test_compile_log_counts_step_functions_by_name() -> None:
    from train.compilation import COMPILE_EVENT, CompileLog

    log = CompileLog()
    for name, seconds in (("jit(train_step)", 3.0), ("jit(add)", 0.01), ("jit(test_step)", 1.0)):
        log._on_duration(COMPILE_EVENT, seconds, fun_name=name)
    log._on_event("/jax/compilation_cache/cache_hits")
    assert log.step_compilations() == {"train_step": 1, "test_step": 1}
    assert log.summary() == {"step_functions": {"train_step": 1, "test_step": 1},
                             "step_compile_seconds": 4.0, "all_programs": 3, "all_compile_seconds": 4.01,
                             "persistent_cache_hits": 1}


def test_compile_cache_folder_is_the_users_unless_overridden(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    from train.compilation import CACHE_ENV, default_cache_dir

    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_cache_dir() == tmp_path / "mnist-tfjs" / "jax-compilation-cache"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
