"""The wheel, installed like a tool: built from the repository, installed in a fresh venv where the
editable install cannot mask it, then `mnist-tfjs export` and `mnist-tfjs serve` run from an empty
folder, with the npm packages installed into an empty cache on first use."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mnist_tfjs.chromium import find_chromium
from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require

# Slow: a wheel build, a fresh venv, the npm packages and an export proven in Chromium.
pytestmark = [pytest.mark.install, pytest.mark.slow]

# What the build never reads; copying the rest keeps setuptools' build/ and egg-info out of the
# shared working tree, and tests/ and benchmarks/ in the copy prove the wheel leaves them out.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "node_modules", "artifacts", "test-artifacts", "build",
                                    "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
                                    "*.keras")
TINY_MODEL = """
import keras
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(
    4, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(stddev=2.0))])
model.save("m.keras")
"""


@pytest.fixture(scope="module")
def tools() -> None:
    """Node.js, npm and Chromium, which the first use and the full proof need."""
    require(shutil.which("node") is not None, "Node.js (`node` on PATH)")
    require(shutil.which("npm") is not None, "npm (on PATH)")
    require(find_chromium() is not None, "Chromium (Debian's chromium)")


@pytest.fixture(scope="module")
def wheel(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the repository (with build isolation: the build needs
    setuptools>=77, newer than a venv's own)."""
    source = tmp_path_factory.mktemp("source") / "mnist-tfjs"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE, symlinks=True)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)], timeout=300)
    (built,) = out.glob("mnist_tfjs-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv without pip holding only the wheel; the test venv's packages (TensorFlow, pip) are
    reachable through a .pth line, whose folder's own .pth files (the editable finder) never run."""
    root = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    site = Path(_run([str(root / "bin" / "python"), "-c",
                      "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (site / "test-venv-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # --ignore-installed: the editable install seen through the .pth is never touched
    _run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
          "--ignore-installed", str(wheel)], timeout=120)
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The commands' environment: an empty runtime cache, nothing from the repository on the path.

    The cache (~360 MB once filled) is removed afterwards; pytest keeps its other folders a while.
    """
    cache = tmp_path_factory.mktemp("cache")
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    yield {**environ, "MNIST_TFJS_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty folder outside the repository, where the user runs the command."""
    return tmp_path_factory.mktemp("work")


def _run(args: list[str], *, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    assert result.returncode == 0, f"{args[:4]} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def test_wheel_carries_the_packages_and_the_npm_lockfile(wheel: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert {"mnist_tfjs/npm/package.json", "mnist_tfjs/npm/package-lock.json", "mnist_tfjs/cli.py",
            "mnist_tfjs/export/proof.js", "mnist_tfjs/export/node_proof.js",
            "mnist_tfjs/web/templates/digits.html", "mnist_tfjs/web/static/main.js"} <= set(names)
    tops = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert tops == {"mnist_tfjs"}  # one package: no top-level train/export/web, tests, benchmarks or harness


def test_installed_package_is_the_wheel(venv: Path, env: dict[str, str], workdir: Path) -> None:
    code = ("import mnist_tfjs.export, importlib.util; print(mnist_tfjs.export.__file__); "
            "print(*(importlib.util.find_spec(name) for name in ('export', 'train', 'web')))")
    export_file, *top_level = _run([str(venv / "bin" / "python"), "-c", code], env=env,
                                   cwd=workdir).stdout.split()
    assert Path(export_file).is_relative_to(venv)
    assert top_level == ["None", "None", "None"], "export, train and web live inside mnist_tfjs only"
    version = _run([str(venv / "bin" / "mnist-tfjs"), "--version"], env=env, cwd=workdir).stdout
    assert version.strip() == "mnist-tfjs 0.1.0"


@pytest.fixture(scope="module")
def exported(venv: Path, env: dict[str, str], workdir: Path) -> tuple[Path, str]:
    """`mnist-tfjs export` of a tiny Keras model from the empty folder: (web_model, its stderr)."""
    _run([str(venv / "bin" / "python"), "-c", TINY_MODEL], env=env, cwd=workdir, timeout=120)
    result = _run([str(venv / "bin" / "mnist-tfjs"), "export", "--model", "m.keras", "--out", "web_model",
                   "--browser"], env=env, cwd=workdir, timeout=300)
    return workdir / "web_model", result.stderr


def test_export_installs_the_runtime_once_and_proves_everywhere(exported: tuple[Path, str],
                                                                env: dict[str, str]) -> None:
    web_model, stderr = exported
    assert stderr.count("installing the npm packages (TF.js, LiteRT.js)") == 1
    cache = Path(env["MNIST_TFJS_CACHE"])
    assert [p.name for p in cache.glob("npm-*/node_modules/@tensorflow/tfjs")] == ["tfjs"]
    assert not list(cache.glob("npm-*/.partial-*"))  # the staging folder is gone
    metadata = json.loads((web_model / "metadata.json").read_text())
    proof = metadata["proof"]
    assert metadata["verified"] is True and proof["passed"] is True
    assert {"wasm", "cpu"} <= set(proof["node"])
    assert proof["browser"], "the Chromium proof did not run"


@pytest.fixture(scope="module")
def server(exported: tuple[Path, str], venv: Path, env: dict[str, str], workdir: Path) -> Iterator[str]:
    """`mnist-tfjs serve` on a free port, in the background; yields its URL."""
    proc = subprocess.Popen([str(venv / "bin" / "mnist-tfjs"), "serve", "--model-dir", "web_model",
                             "--port", "0"], cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in proc.stdout:
            if "http://" in line:
                url = line[line.index("http://"):].split()[0]
                break
        assert url, f"the server printed no URL: {proc.stderr.read() if proc.poll() is not None else ''}"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("path, marker", [
    ("", b"<title>Model"),
    ("vendor/tfjs/tf.es2017.min.js", b"tensorflow"),
    ("shared/proof.js", b"readBundle"),
])
def test_serve_gives_the_page_the_runtime_and_the_proof_runner(server: str, path: str, marker: bytes) -> None:
    with urllib.request.urlopen(server + path, timeout=10) as response:
        assert response.status == 200
        assert marker in response.read()
