"""Load and check a `.keras` model, then turn it into a TF.js graph model.

Route: Keras 3 model → SavedModel (`model.export`, in a private temporary folder) →
`tensorflowjs.converters.convert_tf_saved_model` → `model.json` + weight shards. The Keras 3
layers format is never produced: TF.js 4.22 cannot load it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from common.quiet import captured_output
from export.errors import ExportError

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
INPUT_NAME = "image"
QUANTIZATIONS = ("none", "float16", "uint8")


def check_model_file(path: Path) -> None:
    """Cheap checks before TensorFlow is imported: the file exists and is a Keras zip archive."""
    if not path.exists():
        raise ExportError(f"model file {path} not found; "
                          "train one with `python -m train` or pass --model PATH")
    if path.is_dir():
        raise ExportError(f"--model {path} is a folder; pass the .keras file that `python -m train` wrote")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ExportError(f"{path} is not a Keras model file (.keras zip archive); "
                          "pass the file that `python -m train` wrote")


def _use_tensorflow_backend() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"Keras runs on the {keras.backend.backend()} backend; export needs TensorFlow: "
                          "set KERAS_BACKEND=tensorflow")


def load_model(path: Path) -> Any:
    """Load a `.keras` model with the TensorFlow backend and check it maps 28x28x1 to 10 classes."""
    check_model_file(path)
    _use_tensorflow_backend()
    import keras

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged archive; all mean the same here
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{path} is not a loadable Keras model ({reason}); "
                          "pass the file that `python -m train` wrote") from None
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(f"{path}: the model has {len(model.inputs)} inputs and "
                          f"{len(model.outputs)} outputs; "
                          "export needs one 28x28x1 image input and one 10-class output")
    in_shape = tuple(model.inputs[0].shape[1:])
    out_shape = tuple(model.outputs[0].shape[1:])
    if in_shape != INPUT_SHAPE:
        raise ExportError(f"{path}: input shape {in_shape} is not {INPUT_SHAPE}; "
                          "export needs an MNIST model (28x28 grey images, 1 channel)")
    if out_shape != (NUM_CLASSES,):
        raise ExportError(f"{path}: output shape {out_shape} is not ({NUM_CLASSES},); "
                          "export needs a 10-class digit classifier")
    return model


def import_tensorflowjs() -> Any:
    """Import the converter without its tensorflow-decision-forests banner.

    TF-DF prints "Try YDF" on import; when stdout is not a plain file (pytest capture, a
    redirect) it tries an HTML banner through IPython instead and crashes without it, so
    the banner is switched off by its own environment variable rather than redirected.
    """
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    import tensorflowjs
    from tensorflowjs.converters import tf_saved_model_conversion_v2  # noqa: F401

    return tensorflowjs


def quantization_map(quantize: str) -> dict[str, bool] | None:
    """The converter's `quantization_dtype_map` for a --quantize choice (all weights, or none)."""
    if quantize not in QUANTIZATIONS:
        raise ExportError(f"--quantize {quantize!r} is not one of {', '.join(QUANTIZATIONS)}")
    return None if quantize == "none" else {quantize: True}


def convert_to_graph_model(model: Any, out_dir: Path, quantize: str = "none", verbose: bool = False) -> None:
    """Write `model` as a TF.js graph model (`model.json` + shards) into the existing folder `out_dir`.

    Input: float32 [batch, 28, 28, 1] named "image"; output: 10 probabilities. The
    intermediate SavedModel lives in its own temporary folder, never inside `out_dir`.
    """
    import tensorflow as tf

    dtype_map = quantization_map(quantize)
    tfjs = import_tensorflowjs()
    saved_model = Path(tempfile.mkdtemp(prefix="mnist-savedmodel-"))
    try:
        signature = [tf.TensorSpec([None, *INPUT_SHAPE], tf.float32, name=INPUT_NAME)]
        with captured_output(verbose):
            model.export(str(saved_model), format="tf_saved_model", verbose=verbose,
                         input_signature=signature)
            tfjs.converters.convert_tf_saved_model(str(saved_model), str(out_dir),
                                                   quantization_dtype_map=dtype_map)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"the TF.js converter failed ({type(exc).__name__}: {str(exc)[:160]}); "
                          "rerun with --verbose for its log") from None
    finally:
        shutil.rmtree(saved_model, ignore_errors=True)
    if not (out_dir / "model.json").is_file():
        raise ExportError("the TF.js converter wrote no model.json; rerun with --verbose for its log")
