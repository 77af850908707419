"""What `metadata.json` says about a published model: its contract with the page, and its proof."""

from __future__ import annotations

import platform
import time
from typing import Any

from common.versions import package_version
from export.convert import INPUT_NAME, INPUT_SHAPE, NUM_CLASSES

SCHEMA_VERSION = 1
LABELS = [str(digit) for digit in range(NUM_CLASSES)]
UNVERIFIED_WARNING = ("UNVERIFIED: exported with --no-verify; TF.js predictions were never compared "
                      "with the Keras model. Do not publish this model.")

INPUT_SPEC: dict[str, Any] = {
    "name": INPUT_NAME,
    "dtype": "float32",
    "shape": [None, *INPUT_SHAPE],
    "layout": "NHWC: [batch, 28 rows, 28 columns, 1 channel]",
    "range": [0.0, 1.0],
    "polarity": "white digit (1.0) on black background (0.0)",
}

OUTPUT_SPEC: dict[str, Any] = {
    "dtype": "float32",
    "shape": [None, NUM_CLASSES],
    "meaning": "softmax probabilities of the digits 0-9 (each row sums to 1); index = digit",
}

# As the MNIST digits were made (LeCun, Cortes, Burges): the page must do the same.
PREPROCESSING: dict[str, Any] = {
    "steps": [
        "grey levels in [0, 1], ink white (1.0) on black (0.0)",
        "crop to the bounding box of the ink",
        "scale to fit a 20x20 box, keeping the aspect ratio, anti-aliased",
        "paste into a 28x28 black field so the ink's centre of mass is at the field's centre",
    ],
    "fit_box": 20,
    "keep_aspect_ratio": True,
    "antialias": True,
    "field": 28,
    "centre": "centre of mass (intensity-weighted) at the centre of the 28x28 field",
}


def versions(runtime: dict[str, str] | None) -> dict[str, str | None]:
    """Versions of everything that shaped the export (Node entries only when verified)."""
    import keras
    import tensorflow as tf

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflowjs_converter": package_version("tensorflowjs"),
        "tfjs_runtime": runtime["tfjs"] if runtime else None,
        "node": runtime["node"] if runtime else None,
        "numpy": package_version("numpy"),
        "python": platform.python_version(),
    }


def build_metadata(*, source: dict[str, Any], quantize: str, files: dict[str, dict[str, Any]],
                   parity: dict[str, Any] | None, native_accuracy: float, digits: int,
                   runtime: dict[str, str] | None, seconds: float) -> dict[str, Any]:
    """Assemble metadata.json; `parity` is None for an unverified (--no-verify) export."""
    return {
        "schema": SCHEMA_VERSION,
        "format": "tfjs-graph-model",
        "model": "model.json",
        "verified": parity is not None,
        "warning": None if parity is not None else UNVERIFIED_WARNING,
        "input": INPUT_SPEC,
        "output": OUTPUT_SPEC,
        "labels": LABELS,
        "preprocessing": PREPROCESSING,
        "quantization": quantize,
        "accuracy": {
            "digits": digits,
            "native": native_accuracy,
            "exported": parity["exported_accuracy"] if parity is not None else None,
        },
        "parity": parity,
        "download_bytes": sum(entry["bytes"] for entry in files.values()),
        "files": files,
        "source": source,
        "versions": versions(runtime),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "export_seconds": round(seconds, 2),
    }
