"""Any Keras 3 model → TensorFlow.js graph model, with a parity proof in TF.js itself and an atomic publish;
beside it, on request (`litert=True`, `--litert`), a `model.tflite` for LiteRT.js proven the same way,
and which runtime to ship.

`export_model(model_or_path, out_dir, samples=None, quantize="none", ...)` is the API (see its
docstring); `python -m export` is the command line around it.
"""

from .errors import ExportError, VerificationError
from .pipeline import export_model

__all__ = ["ExportError", "VerificationError", "export_model"]
