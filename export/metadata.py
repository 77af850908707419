"""What `metadata.json` says about a published model: its contract with the page, and its proof
(schema 2, see docs/export-format.md)."""

from __future__ import annotations

import platform
import time
from typing import Any

from mnist_tfjs.export_files import MODEL_JSON
from mnist_tfjs.model_kinds import MNIST_CLASSES
from mnist_tfjs.versions import package_version

from .publish import FileInventory
from .specs import TensorSpec

SCHEMA_VERSION = 2
LABELS = [str(digit) for digit in range(MNIST_CLASSES)]
UNVERIFIED_WARNING = ("UNVERIFIED: exported with --no-verify; TF.js outputs were never compared "
                      "with the Keras model. Do not publish this model.")

# As the MNIST digits were made (LeCun, Cortes, Burges): the page must do the same.
MNIST_PREPROCESSING: dict[str, Any] = {
    "fit_box": 20,
    "field": 28,
    "centre_of_mass": 14,
    "keep_aspect_ratio": True,
    "antialias": True,
    "polarity": "white on black",
    "range": [0.0, 1.0],
    "steps": [
        "grey levels in [0, 1], ink white (1.0) on black (0.0)",
        "crop to the bounding box of the ink",
        "scale to fit a 20x20 box, keeping the aspect ratio, anti-aliased",
        "paste into a 28x28 black field so the ink's centre of mass is at pixel 14",
    ],
}


def versions(runtime: dict[str, str] | None, chromium: str | None = None) -> dict[str, str | None]:
    """Versions of everything that shaped the export (Node entries only when verified)."""
    import keras
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflowjs_converter": package_version("tensorflowjs"),
        "tfjs_runtime": runtime["tfjs"] if runtime else None,
        "node": runtime["node"] if runtime else None,
        "chromium": chromium,
        "numpy": package_version("numpy"),
        "python": platform.python_version(),
    }


def io_entries(specs: list[TensorSpec], classifiers: dict[str, bool] | None = None) -> list[dict[str, Any]]:
    entries = []
    for spec in specs:
        entry = spec.as_json()
        if classifiers is not None:
            entry["classifier"] = bool(classifiers.get(spec.name, False))
        entries.append(entry)
    return entries


def build_metadata(*, kind: str, inputs: list[TensorSpec], outputs: list[TensorSpec],
                   classifiers: dict[str, bool], rewrites: list[dict[str, Any]], quantize: str,
                   proof: dict[str, Any], mnist: dict[str, Any] | None, files: FileInventory,
                   source: dict[str, Any], runtime: dict[str, str] | None, chromium: str | None,
                   verified: bool, seconds: float, litert: dict[str, Any] | None = None,
                   runtimes: dict[str, Any] | None = None, litert_int8: dict[str, Any] | None = None,
                   extra_versions: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Assemble metadata.json (schema 2); `litert`, `litert_int8` and `runtimes` are the LiteRT.js
    target's blocks."""
    metadata: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "format": "tfjs-graph-model",
        "model": MODEL_JSON,
        "kind": kind,
        "verified": verified,
        "warning": None if verified else UNVERIFIED_WARNING,
        "inputs": io_entries(inputs),
        "outputs": io_entries(outputs, classifiers),
        "rewrites": rewrites,
        "quantization": quantize,
        "proof": proof,
    }
    if mnist is not None:
        metadata["mnist"] = mnist
    metadata.update({
        "download_bytes": files.download_bytes,
        "files": files.files,
        "source": source,
        "versions": {**versions(runtime, chromium), **(extra_versions or {})},
        "litert": litert,
        "litert_int8": litert_int8,
        "runtimes": runtimes,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "export_seconds": round(seconds, 2),
    })
    return metadata


def mnist_block(digits: int, native_accuracy: float, exported_accuracy: float | None) -> dict[str, Any]:
    return {"labels": LABELS, "preprocessing": MNIST_PREPROCESSING,
            "accuracy": {"digits": digits, "native": native_accuracy, "exported": exported_accuracy}}
