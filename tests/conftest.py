"""Shared fixtures: MNIST test digits, a small trained model, and the CI rule for missing tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from common.quiet import quiet_tensorflow

quiet_tensorflow()

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip locally when a tool (browser, Node, npm packages) is missing; fail in CI (`CI=true`)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing, and CI must run every test; install it in .ci/run")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits (float32, (N, 28, 28, 1)) and their labels."""
    from train.data import load_test_set

    return load_test_set()


@pytest.fixture(scope="session")
def node_ready() -> str:
    """Path to `node`, with the project's npm packages installed; skip/fail as `require` says."""
    node = shutil.which("node")
    require(node is not None, "Node.js (`node` on PATH)")
    require((REPO_ROOT / "node_modules" / "@tensorflow" / "tfjs").is_dir(), "npm packages (`npm ci`)")
    return node


@pytest.fixture(scope="session")
def small_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small convnet trained briefly on real MNIST (about 97% test accuracy), saved as .keras."""
    import keras

    from train.data import load_mnist
    from train.models import build_model

    keras.utils.set_random_seed(0)
    data = load_mnist()
    model = build_model("cnn")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(data.x_train[:12_000], data.y_train[:12_000], batch_size=128, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def exported_model_dir(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory,
                       node_ready: str) -> Path:
    """`small_model_path` exported by `export.run_export` (unquantized, verified on 1,000 digits)."""
    from export import run_export

    out = tmp_path_factory.mktemp("export") / "web_model"
    run_export(small_model_path, out, quantize="none", verify=True, digits=1000)
    return out


# Chromium/Playwright and live-server fixtures for the web tests.
pytest_plugins = ["tests.browser_fixtures"]
