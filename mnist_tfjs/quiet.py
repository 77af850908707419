"""Silence TensorFlow's C++ and Python log noise, hide what native code prints, and import the TF.js
converter without its banner.

Call `quiet_tensorflow()` before anything imports Keras; wrap noisy native calls (the
SavedModel export, the TF.js converter) in `captured_output()`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def quiet_tensorflow(verbose: bool = False) -> None:
    """Hide TF's C++ logs, oneDNN notices, absl and Python warnings unless `verbose`.

    TensorFlow 2.19 prints CUDA-factory lines from C++ before its log level applies, so
    the first import runs with stderr captured; if the import fails, what was captured
    is replayed so the real error stays visible.
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    # tensorflow-decision-forests (imported by tensorflowjs) greets with a banner otherwise.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    for category in (UserWarning, DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    # Only the TensorFlow backend imports TensorFlow: on JAX or torch, importing it here would cost
    # seconds for nothing. Where it is not installed there is nothing to quieten.
    if "tensorflow" in sys.modules or keras_backend_name() != "tensorflow":
        return
    try:
        if importlib.util.find_spec("tensorflow") is None:
            return
        with captured_output(streams=(2,)):
            __import__("tensorflow")
    except ImportError:
        return


def keras_backend_name() -> str:
    """The backend Keras will load, read as Keras reads it (without importing Keras):
    $KERAS_BACKEND, else keras.json in $KERAS_HOME or ~/.keras, else tensorflow."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json"
    try:
        return str(json.loads(config.read_text()).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


@contextlib.contextmanager
def captured_output(verbose: bool = False, streams: tuple[int, ...] = (1, 2)) -> Iterator[None]:
    """Send what C++ and Python write to the file descriptors `streams` to a temporary file.

    If the block raises, the captured text (its last 4,000 characters) is replayed on stderr
    so the cause stays visible; otherwise it is dropped. A no-op when `verbose`.
    """
    if verbose:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in streams}
    with tempfile.TemporaryFile(mode="w+b") as captured:
        for fd in streams:
            os.dup2(captured.fileno(), fd)
        try:
            with contextlib.redirect_stdout(io.StringIO()) if 1 in streams else contextlib.nullcontext():
                yield
        except BaseException:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace")[-4000:])
            raise
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


def import_tensorflowjs() -> Any:
    """Import the TF.js converter without its tensorflow-decision-forests banner.

    TF-DF prints "Try YDF" on import; when stdout is not a plain file (pytest capture, a
    redirect) it tries an HTML banner through IPython instead and crashes without it, so
    the banner is switched off by its own environment variable rather than redirected.
    """
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    import tensorflowjs
    from tensorflowjs.converters import tf_saved_model_conversion_v2  # noqa: F401

    return tensorflowjs
