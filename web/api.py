"""JSON API: `/api/status` (what the server has) and `/api/predict` (the native Keras model)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from mnist_tfjs.export_files import METADATA_JSON, MODEL_JSON

from .export_metadata import image_shape, read_metadata
from .native import NativeModelError
from .settings import settings
from .validation import PayloadError, parse_images

api = Blueprint("api", __name__, url_prefix="/api")


def json_error(message: str, status: int) -> tuple[Response, int]:
    """A JSON error body {"error": message, "status": status} with that HTTP status."""
    return jsonify(error=message, status=status), status


@api.get("/status")
def status() -> Response:
    """Whether the exported model, its metadata and the native model are there."""
    app_settings = settings()
    native = app_settings.native
    return jsonify(
        model=(app_settings.model_dir / MODEL_JSON).is_file(),
        metadata=(app_settings.model_dir / METADATA_JSON).is_file(),
        native=native is not None,
        native_state=None if native is None else native.state,
        native_error=None if native is None else native.error,
    )


@api.post("/predict")
def predict() -> Response | tuple[Response, int]:
    """Classify a batch of 28x28 images with the native Keras model.

    Body: {"images": [[[28 numbers] x 28 rows] x N]} with 1 <= N <= 256 and values in [0, 1]
    (the image size is the export's input shape from metadata.json; 28x28 for MNIST).
    Answer: {"probs": [[10 floats] x N], "digits": [N ints], "ms": float}.
    """
    app_settings = settings()
    native = app_settings.native
    if native is None:
        return json_error("native predictions are off (no model.keras next to the export, or --no-native)",
                          404)
    if not request.is_json:
        return json_error("send JSON with Content-Type: application/json", 415)
    payload = request.get_json(silent=True)
    if payload is None:
        return json_error("the body is not valid JSON", 400)
    try:
        # The export's input shape, which the native model shares: metadata.json beside model.json.
        shape = image_shape(read_metadata(app_settings.model_dir))
        images = parse_images(payload, shape)
    except PayloadError as exc:
        return json_error(str(exc), exc.status)
    try:
        probs, elapsed = native.predict(images)
    except NativeModelError as exc:
        return json_error(str(exc), 503)
    return jsonify(probs=probs.tolist(), digits=probs.argmax(axis=1).tolist(), ms=round(elapsed, 3))
