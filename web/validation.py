"""Strict checks of an `/api/predict` body: {"images": [rows x columns lists of numbers in [0, 1]], ...}.

The image size is the export's input shape (metadata.json, see web/export_metadata.py): 28x28 for MNIST.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mnist_tfjs.model_kinds import MNIST_IMAGE_SHAPE

MAX_BATCH = 256


class PayloadError(ValueError):
    """The request body is not a valid batch of images; `status` is the HTTP code to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _check_row(row: Any, columns: int, where: str) -> None:
    if not isinstance(row, list) or len(row) != columns:
        raise PayloadError(f"{where} must be a list of {columns} numbers")
    for value in row:
        # bool is a subclass of int in Python; JSON true/false are not pixel values.
        if type(value) is not float and type(value) is not int:
            raise PayloadError(f"{where} holds {type(value).__name__}, expected numbers")
        if not math.isfinite(value) or value < 0.0 or value > 1.0:
            raise PayloadError(f"{where} holds {value}, pixel values must be finite and in [0, 1]")


def parse_images(payload: Any, shape: tuple[int, int, int] = MNIST_IMAGE_SHAPE) -> np.ndarray:
    """JSON payload → float32 array (N, rows, columns, 1); raises PayloadError with a one-line message.

    `shape` is (rows, columns, channels) of the model's input; only grey images (1 channel) are accepted.
    """
    rows, columns, channels = shape
    if channels != 1:
        raise PayloadError(f"the model takes {channels}-channel images; /api/predict sends grey ones", 501)
    size = f"{rows}x{columns}"
    if not isinstance(payload, dict):
        raise PayloadError('body must be a JSON object like '
                           f'{{"images": [[[...{columns} numbers], ...{rows} rows]]}}')
    images = payload.get("images")
    if not isinstance(images, list):
        raise PayloadError(f'"images" must be a list of {size} images')
    if not images:
        raise PayloadError('"images" is empty')
    if len(images) > MAX_BATCH:
        raise PayloadError(f"batch of {len(images)} images is over the limit of {MAX_BATCH}", status=413)
    for n, image in enumerate(images):
        if not isinstance(image, list) or len(image) != rows:
            raise PayloadError(f"images[{n}] must be a list of {rows} rows")
        for r, row in enumerate(image):
            _check_row(row, columns, f"images[{n}][{r}]")
    return np.asarray(images, dtype=np.float32)[..., np.newaxis]
