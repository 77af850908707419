"""Silence TensorFlow's C++ and Python log noise. Import this before TensorFlow or Keras."""

from __future__ import annotations

import logging
import os
import warnings


def quiet_tensorflow(verbose: bool = False) -> None:
    """Hide TF's C++ logs, oneDNN notices and absl warnings unless `verbose`.

    Must run before the first `import tensorflow` / `import keras` to affect C++ logging.
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
