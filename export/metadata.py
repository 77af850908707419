"""What `metadata.json` says about a published model: its contract with the page, and its proof
(schema 2, see docs/export-format.md)."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from typing import Any

from mnist_tfjs.export_files import MODEL_JSON
from mnist_tfjs.model_kinds import MNIST_CLASSES
from mnist_tfjs.versions import package_version

from .litert import LitertTarget
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


@dataclass(frozen=True)
class PageContract:
    """What the page relies on: the model's kind (which page), its inputs and outputs (which outputs
    are classifiers), and for digit models the labels and preprocessing (`mnist_block`)."""

    kind: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    classifiers: dict[str, bool]
    mnist: dict[str, Any] | None = None


@dataclass(frozen=True)
class Provenance:
    """How the export came about: the source model, the rewrites and weight quantization of its
    conversion, the runtimes that proved it, and how long it all took."""

    source: dict[str, Any]
    rewrites: list[dict[str, Any]]
    quantize: str
    runtime: dict[str, str] | None  # Node.js' and TF.js' versions (None: not verified)
    chromium: str | None
    seconds: float


def build_metadata(contract: PageContract, provenance: Provenance, proof: dict[str, Any], verified: bool,
                   files: FileInventory, litert: LitertTarget) -> dict[str, Any]:
    """Assemble metadata.json (schema 2); `litert` gives the LiteRT.js target's blocks (`litert`,
    `litert_int8`, `runtimes`) and the versions it adds."""
    metadata: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "format": "tfjs-graph-model",
        "model": MODEL_JSON,
        "kind": contract.kind,
        "verified": verified,
        "warning": None if verified else UNVERIFIED_WARNING,
        "inputs": io_entries(contract.inputs),
        "outputs": io_entries(contract.outputs, contract.classifiers),
        "rewrites": provenance.rewrites,
        "quantization": provenance.quantize,
        "proof": proof,
    }
    if contract.mnist is not None:
        metadata["mnist"] = contract.mnist
    metadata.update({
        "download_bytes": files.download_bytes,
        "files": files.files,
        "source": provenance.source,
        "versions": {**versions(provenance.runtime, provenance.chromium), **litert.versions},
        "litert": litert.block,
        "litert_int8": litert.int8_target.block,
        "runtimes": litert.runtimes,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "export_seconds": round(provenance.seconds, 2),
    })
    return metadata


def mnist_block(digits: int, native_accuracy: float, exported_accuracy: float | None) -> dict[str, Any]:
    return {"labels": LABELS, "preprocessing": MNIST_PREPROCESSING,
            "accuracy": {"digits": digits, "native": native_accuracy, "exported": exported_accuracy}}
