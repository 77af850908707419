"""What the export's metadata.json says the server needs: which page to show, the digit input's shape.

Schema 2 (docs/export-format.md) has `kind`, `inputs` and `outputs`; schema 1 (no `kind`) has
`input` and `output` and is always an MNIST digit model. The page's JS reads the same fields
(web/static/contract.js).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mnist_tfjs.contract import GENERIC_KIND, MNIST_KIND

__all__ = ["GENERIC_KIND", "MNIST_KIND", "image_shape", "input_spec", "kind", "read_metadata"]
# MNIST's image when metadata.json does not say (no export yet, or an unreadable file).
DEFAULT_IMAGE_SHAPE = (28, 28, 1)


def read_metadata(model_dir: Path) -> dict[str, Any] | None:
    """metadata.json of the export as a dict, or None when it is absent or not a JSON object."""
    try:
        metadata = json.loads((Path(model_dir) / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return metadata if isinstance(metadata, dict) else None


def kind(metadata: dict[str, Any] | None) -> str:
    """`generic` or `mnist-digits`; schema 1 (no kind) and a missing metadata.json are MNIST."""
    value = (metadata or {}).get("kind")
    return GENERIC_KIND if value == GENERIC_KIND else MNIST_KIND


def input_spec(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The first input's spec: schema 2 `inputs[0]`, else schema 1 `input`, else {}."""
    metadata = metadata or {}
    inputs = metadata.get("inputs")
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        return inputs[0]
    single = metadata.get("input")
    return single if isinstance(single, dict) else {}


def image_shape(metadata: dict[str, Any] | None) -> tuple[int, int, int]:
    """(rows, columns, channels) of one digit image from the input spec; MNIST's when not stated."""
    shape = input_spec(metadata).get("shape")
    if isinstance(shape, list) and len(shape) == 4 and all(
            type(n) is int and n > 0 for n in shape[1:]):
        return shape[1], shape[2], shape[3]
    return DEFAULT_IMAGE_SHAPE
