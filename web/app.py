"""The Flask app factory: settings, blueprints, compression, security headers, error pages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from mnist_tfjs.paths import NODE_MODULES, REPO_ROOT
from web.api import api
from web.compression import init_compression
from web.native import NativeModel
from web.pages import pages
from web.security import init_security

DEFAULT_MODEL_DIR = REPO_ROOT / "artifacts" / "web_model"
DEFAULT_NODE_MODULES = NODE_MODULES
MAX_BODY_BYTES = 6 * 1024 * 1024  # 256 images x 784 values as JSON text, with room to spare
NATIVE_MODEL_NAME = "model.keras"


@dataclass(frozen=True)
class WebSettings:
    """What one app instance serves; kept in `app.extensions["digit_web"]`."""

    model_dir: Path
    node_modules: Path
    native: NativeModel | None


def default_native_path(model_dir: Path) -> Path | None:
    """`model.keras` in the parent folder of the export (artifacts/model.keras), if it is there."""
    candidate = Path(model_dir).parent / NATIVE_MODEL_NAME
    return candidate if candidate.is_file() else None


def create_app(
    model_dir: str | Path = DEFAULT_MODEL_DIR,
    *,
    native: bool = True,
    native_model_path: str | Path | None = None,
    node_modules: str | Path = DEFAULT_NODE_MODULES,
) -> Flask:
    """Build the app serving the page, `model_dir`, the TF.js runtime and `/api/predict`.

    The native model is `native_model_path`, or else `model.keras` next to `model_dir`;
    `native=False` turns `/api/predict` off. Nothing is loaded here: the native model
    loads on first use or when `app.extensions["digit_web"].native.load_in_background()` runs.
    """
    model_dir = Path(model_dir).expanduser().absolute()
    native_model: NativeModel | None = None
    if native:
        path = Path(native_model_path) if native_model_path else default_native_path(model_dir)
        if path is not None:
            native_model = NativeModel(path)

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["digit_web"] = WebSettings(
        model_dir=model_dir,
        node_modules=Path(node_modules).expanduser().absolute(),
        native=native_model,
    )
    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.register_error_handler(HTTPException, _http_error)
    init_security(app)
    init_compression(app)
    return app


def _http_error(exc: HTTPException) -> Response | tuple[Response, int]:
    """JSON errors under /api/, short plain-text ones elsewhere (no Werkzeug HTML pages)."""
    status = exc.code or 500
    if request.path.startswith("/api/"):
        response = jsonify(error=exc.description or exc.name, status=status)
    else:
        response = Response(f"{status} {exc.name}\n", mimetype="text/plain")
    response.status_code = status
    allow = dict(exc.get_headers()).get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response
