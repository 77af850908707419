"""The Flask app factory: settings, blueprints, compression, security headers, error pages."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from mnist_tfjs.npm_packages import NpmPackagesMissing
from mnist_tfjs.paths import WEB_MODEL

from .api import api
from .compression import init_compression
from .native import NativeModel
from .pages import pages
from .security import init_security
from .settings import WebSettings, attach

DEFAULT_MODEL_DIR = WEB_MODEL
MAX_BODY_BYTES = 6 * 1024 * 1024  # 256 images x 784 values as JSON text, with room to spare
NATIVE_MODEL_NAME = "model.keras"


def default_native_path(model_dir: Path) -> Path | None:
    """`model.keras` in the parent folder of the export (artifacts/model.keras), if it is there."""
    candidate = Path(model_dir).parent / NATIVE_MODEL_NAME
    return candidate if candidate.is_file() else None


def create_app(
    model_dir: str | Path = DEFAULT_MODEL_DIR,
    *,
    native: bool = True,
    native_model_path: str | Path | None = None,
    node_modules: str | Path | None = None,
) -> Flask:
    """Build the app serving the page, `model_dir`, the TF.js and LiteRT.js runtimes and `/api/predict`.

    The native model is `native_model_path`, or else `model.keras` next to `model_dir`;
    `native=False` turns `/api/predict` off. Nothing is loaded here: the native model
    loads on first use or when `web.settings.settings(app).native.load_in_background()` runs,
    and the npm packages are in `node_modules`, else `mnist_tfjs.npm_packages.node_modules()` on first use.
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
    attach(app, WebSettings(
        model_dir=model_dir,
        native=native_model,
        node_modules_given=Path(node_modules).expanduser().absolute() if node_modules else None,
    ))
    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NpmPackagesMissing, _npm_packages_missing)
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


def _npm_packages_missing(exc: NpmPackagesMissing) -> tuple[Response, int]:
    """503 with the one-line fix when a request needs the npm packages (TF.js, LiteRT.js) and npm cannot
    provide them."""
    return Response(f"503 npm packages missing: {exc}\n", mimetype="text/plain"), 503
