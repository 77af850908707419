"""Silence TensorFlow's C++ and Python log noise. Call `quiet_tensorflow()` before importing Keras."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
import warnings


def quiet_tensorflow(verbose: bool = False) -> None:
    """Hide TF's C++ logs, oneDNN notices, absl and Python warnings unless `verbose`.

    TensorFlow 2.19 prints CUDA-factory lines from C++ before its log level applies, so
    the first import runs with the stderr file descriptor pointed at a temporary file;
    if the import fails, what was captured is replayed so the real error stays visible.
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    for category in (UserWarning, DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    # Keras imports TensorFlow (for tf.data) on every backend when it is installed.
    if "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow") is not None:
        _import_with_stderr_captured("tensorflow")


def _import_with_stderr_captured(module: str) -> None:
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            __import__(module)
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
