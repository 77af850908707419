"""Any Keras 3 model → TensorFlow.js graph model, with a parity proof in TF.js itself and an atomic publish;
beside it, on request (`litert=True`, `--litert`), a `model.tflite` for LiteRT.js proven the same way,
and which runtime to ship.

`export_model(model_or_path, out_dir, samples=None, quantize="none", ...)` is the API (see its
docstring); `python -m export` is the command line around it.

The steps beneath it are public too, for checking exports made another way (the benchmarks compare
the official converter's routes with them): `check_model_file`, `input_specs` / `output_specs` (a
model's named inputs and outputs), `generate_samples` (inputs made from those specs),
`float_range` (the values an input expects), `keras_outputs` (Keras' outputs in batches),
`is_classifier`, `write_bundle` (the proof bundle beside a graph model), `prove_in_chromium` (that
bundle's proof in headless Chromium), `THRESHOLDS` (the proof's rules per quantization) and
`proof_failure_report` (where a refused export's layer-by-layer report is written).
"""

from .chromium_proof import prove_in_chromium
from .convert import check_model_file
from .errors import ExportError, VerificationError
from .located import report_path as proof_failure_report
from .pipeline import export_model
from .reference import keras_outputs
from .rules import QUANTIZATIONS, THRESHOLDS
from .samples import float_range, is_classifier, write_bundle
from .samples import generate as generate_samples
from .specs import input_specs, output_specs

__all__ = [
    "QUANTIZATIONS",
    "THRESHOLDS",
    "ExportError",
    "VerificationError",
    "check_model_file",
    "export_model",
    "float_range",
    "generate_samples",
    "input_specs",
    "is_classifier",
    "keras_outputs",
    "output_specs",
    "proof_failure_report",
    "prove_in_chromium",
    "write_bundle",
]
