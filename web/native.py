"""The native Keras model behind `/api/predict`: loaded once (in the background), run under a lock."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import numpy as np


class NativeModelError(RuntimeError):
    """The native model could not be loaded (one-line message)."""


class NativeModel:
    """Lazily loads a `.keras` file and classifies batches of (N, rows, columns, 1) float32 images."""

    def __init__(self, path: Path, *, quiet: bool = True) -> None:
        self.path = Path(path)
        self.quiet = quiet
        self._model = None
        self._error: str | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    @property
    def state(self) -> str:
        """'ready', 'loading' or 'failed'."""
        if self._error is not None:
            return "failed"
        return "ready" if self._model is not None else "loading"

    @property
    def error(self) -> str | None:
        """Why loading failed, or None."""
        return self._error

    def load(self) -> None:
        """Load the model now (idempotent, thread-safe); raises NativeModelError on failure."""
        with self._load_lock:
            if self._model is not None:
                return
            if self._error is not None:
                raise NativeModelError(self._error)
            try:
                from mnist_tfjs.quiet import quiet_tensorflow

                quiet_tensorflow(verbose=not self.quiet)
                import keras

                model = keras.saving.load_model(self.path, compile=False)
                model(np.zeros((1, *model.input_shape[1:]), np.float32), training=False)  # build + warm up
            except Exception as exc:  # any load failure becomes one line for the API and the CLI
                first_line = (str(exc).splitlines() or [""])[0][:200]
                self._error = f"cannot load {self.path}: {type(exc).__name__}: {first_line}"
                raise NativeModelError(self._error) from None
            self._model = model

    def load_in_background(self) -> threading.Thread:
        """Start loading in a daemon thread so the server answers at once."""

        def _load() -> None:
            with contextlib.suppress(NativeModelError):  # kept in self.error, shown by /api/status
                self.load()

        thread = threading.Thread(target=_load, name="native-model-loader", daemon=True)
        thread.start()
        return thread

    def predict(self, images: np.ndarray) -> tuple[np.ndarray, float]:
        """Softmax probabilities (N, 10) float32 and the inference time in milliseconds."""
        self.load()
        with self._run_lock:
            start = time.perf_counter()
            probs = self._model(images, training=False)
            probs = np.asarray(probs.numpy() if hasattr(probs, "numpy") else probs, dtype=np.float32)
            elapsed = (time.perf_counter() - start) * 1000.0
        return probs, elapsed
