"""Shared fixtures: MNIST test digits, Node with the npm packages, a small trained model, its Keras
predictions and its TF.js export, and the tiny hand-built generic export; the browser fixtures come
from tests/browser_fixtures.py. Helpers live in tests/helpers.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mnist_tfjs.paths import NODE_MODULES
from mnist_tfjs.quiet import quiet_tensorflow
from tests.helpers import require

quiet_tensorflow()


@pytest.fixture(scope="session")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits (float32, (N, 28, 28, 1)) and their labels."""
    from mnist_tfjs.mnist import load_test_set

    return load_test_set()


@pytest.fixture(scope="session")
def node_ready() -> str:
    """Path to `node`, with the project's npm packages installed; skip/fail as `require` says."""
    node = shutil.which("node")
    require(node is not None, "Node.js (`node` on PATH)")
    require((NODE_MODULES / "@tensorflow" / "tfjs").is_dir(), "npm packages (`npm ci`)")
    return node


@pytest.fixture(scope="session")
def small_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quick preset's convnet trained for one epoch on 12,000 MNIST images (about 96% test
    accuracy) through train.run's steps, saved as the CLI saves model.keras."""
    import keras

    from train import run
    from train.presets import PRESETS

    keras.utils.set_random_seed(0)
    preset = PRESETS["quick"].with_overrides(epochs=1)
    data = run.load_data(train_limit=12_000)
    model = run.compile_model(run.build(preset, seed=0), preset, len(data.x_train))
    run.fit(model, data, preset, seed=0, verbose=0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    run.save_inference_model(model, path)
    return path


@pytest.fixture(scope="session")
def small_model_probs(small_model_path: Path, mnist_test: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Keras' probabilities from `small_model_path` for all 10,000 test digits (batches of 500),
    computed once for the export and browser parity tests. Read only."""
    import keras

    model = keras.saving.load_model(small_model_path, compile=False)
    return np.asarray(model.predict(mnist_test[0], batch_size=500, verbose=0))


@pytest.fixture(scope="session")
def exported_model_dir(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory,
                       node_ready: str) -> Path:
    """`small_model_path` exported by `export.export_model` (unquantized, verified in Node on 1,000
    digits)."""
    from export import export_model

    out = tmp_path_factory.mktemp("export") / "web_model"
    export_model(small_model_path, out, quantize="none", verify=True, digits=1000, browser=False)
    return out


@pytest.fixture(scope="session")
def tiny_generic_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/tiny_export.py's hand-built generic export (no exporter, no Node), built once for the
    browser proof and the model page tests; a test that changes it works on a copy."""
    from tests.tiny_export import build_generic_export

    return build_generic_export(tmp_path_factory.mktemp("generic") / "web_model")


# Chromium/Playwright and live-server fixtures for the web tests.
pytest_plugins = ["tests.browser_fixtures"]
