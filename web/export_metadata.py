"""What the export's metadata.json says the server needs: which page to show, the digit input's shape.

metadata.json (docs/export-format.md) has `kind`, `inputs` and `outputs`. The page's JS reads the
same fields (web/static/digit-contract.js).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mnist_tfjs.export_files import METADATA_JSON
from mnist_tfjs.model_kinds import GENERIC_KIND, MNIST_IMAGE_SHAPE, MNIST_KIND

__all__ = ["GENERIC_KIND", "MNIST_KIND", "image_shape", "input_spec", "kind", "read_metadata"]


def read_metadata(model_dir: Path) -> dict[str, Any] | None:
    """metadata.json of the export as a dict, or None when it is absent or not a JSON object."""
    try:
        metadata = json.loads((Path(model_dir) / METADATA_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return metadata if isinstance(metadata, dict) else None


def kind(metadata: dict[str, Any] | None) -> str:
    """`generic` or `mnist-digits`; before anything is exported (no metadata.json), the digit page."""
    value = (metadata or {}).get("kind")
    return GENERIC_KIND if value == GENERIC_KIND else MNIST_KIND


def input_spec(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The first input's spec (`inputs[0]`), or {} when metadata.json does not give one."""
    inputs = (metadata or {}).get("inputs")
    return inputs[0] if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict) else {}


def image_shape(metadata: dict[str, Any] | None) -> tuple[int, int, int]:
    """(rows, columns, channels) of one digit image from the input spec; MNIST's when metadata.json
    does not say (no export yet, or an unreadable file)."""
    shape = input_spec(metadata).get("shape")
    if isinstance(shape, list) and len(shape) == 4 and all(
            type(n) is int and n > 0 for n in shape[1:]):
        return shape[1], shape[2], shape[3]
    return MNIST_IMAGE_SHAPE
