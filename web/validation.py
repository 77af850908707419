"""Strict checks of an `/api/predict` body: {"images": [28x28 lists of numbers in [0, 1]], ...}."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_BATCH = 256
SIDE = 28


class PayloadError(ValueError):
    """The request body is not a valid batch of images; `status` is the HTTP code to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _check_row(row: Any, where: str) -> None:
    if not isinstance(row, list) or len(row) != SIDE:
        raise PayloadError(f"{where} must be a list of {SIDE} numbers")
    for value in row:
        # bool is a subclass of int in Python; JSON true/false are not pixel values.
        if type(value) is not float and type(value) is not int:
            raise PayloadError(f"{where} holds {type(value).__name__}, expected numbers")
        if not math.isfinite(value) or value < 0.0 or value > 1.0:
            raise PayloadError(f"{where} holds {value}, pixel values must be finite and in [0, 1]")


def parse_images(payload: Any) -> np.ndarray:
    """JSON payload → float32 array (N, 28, 28, 1); raises PayloadError with a one-line message."""
    if not isinstance(payload, dict):
        raise PayloadError('body must be a JSON object like {"images": [[[...28 numbers], ...28 rows]]}')
    images = payload.get("images")
    if not isinstance(images, list):
        raise PayloadError('"images" must be a list of 28x28 images')
    if not images:
        raise PayloadError('"images" is empty')
    if len(images) > MAX_BATCH:
        raise PayloadError(f"batch of {len(images)} images is over the limit of {MAX_BATCH}", status=413)
    for n, image in enumerate(images):
        if not isinstance(image, list) or len(image) != SIDE:
            raise PayloadError(f"images[{n}] must be a list of {SIDE} rows")
        for r, row in enumerate(image):
            _check_row(row, f"images[{n}][{r}]")
    return np.asarray(images, dtype=np.float32)[..., np.newaxis]
