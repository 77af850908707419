"""The two ways an export can fail, each carrying one line for the user."""

from __future__ import annotations

from typing import Any


class ExportError(Exception):
    """A user or environment problem (bad model, missing Node, unwritable --out): nothing published."""

    exit_code = 2

    def __init__(self, message: str, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.metadata = metadata  # the figures gathered so far, when there are any


class VerificationError(ExportError):
    """The exported model does not predict what the Keras model predicts: nothing published."""

    exit_code = 1
