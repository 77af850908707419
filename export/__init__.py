"""Keras → TensorFlow.js graph model, with a parity proof in TF.js itself and an atomic publish.

`run_export(model_path, out_dir, quantize="none", verify=True, digits=None)` is the API;
`python -m export` is the command line around it.
"""

from export.errors import ExportError, VerificationError
from export.pipeline import run_export

__all__ = ["ExportError", "VerificationError", "run_export"]
