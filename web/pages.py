"""The pages, their own JS/CSS, the exported model folder, the shared proof runner and the TF.js
and LiteRT.js runtimes from node_modules.

`/` is the draw-a-digit page for an MNIST export (`kind: mnist-digits`, or schema-1 metadata) and
the model page for any other (`kind: generic`); `/model` is the model page for every export.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from flask import Blueprint, Response, abort, current_app

from mnist_tfjs.contract import VENDOR_FILES
from web.contract import GENERIC_KIND, kind, read_metadata
from web.files import send

STATIC_DIR = Path(__file__).resolve().parent / "static"

STATIC_NAMES = re.compile(r"[A-Za-z0-9_-]+\.(?:html|js|css|svg|png|ico)")
MODEL_NAMES = re.compile(
    r"model\.json|model(?:\.int8)?\.tflite|metadata\.json|proof\.json|proof\.bin|group\d+-shard\d+of\d+\.bin")


def _export_package_dir() -> Path:
    """The folder of the `export` package, in a clone or in site-packages, found without importing it.

    Importing `export` would load the whole export pipeline (TensorFlow) into the web server.
    """
    spec = importlib.util.find_spec("export")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the export package of mnist-tfjs is not installed; reinstall mnist-tfjs")
    return Path(next(iter(spec.submodule_search_locations)))


# Files the pages share with the exporter: the proof runner and its LiteRT.js adapter
# (docs/export-format.md).
SHARED_DIR = _export_package_dir()
SHARED_NAMES = frozenset({"proof.js", "litert-proof.js"})
PAGES = frozenset({"index.html", "model.html"})


VENDOR_CACHE = "public, max-age=86400"

pages = Blueprint("pages", __name__)


def _settings():
    return current_app.extensions["digit_web"]


@pages.get("/")
def index() -> Response:
    """The draw-a-digit page for an MNIST export, the model page for a generic one."""
    generic = kind(read_metadata(_settings().model_dir)) == GENERIC_KIND
    return send(STATIC_DIR, "model.html" if generic else "index.html", allowed=PAGES)


@pages.get("/model")
def model_page() -> Response:
    """The model page: the export's card, its parity proof, and the check in this browser."""
    return send(STATIC_DIR, "model.html", allowed=PAGES)


@pages.get("/shared/<name>")
def shared_file(name: str) -> Response:
    """The proof runner `export/proof.js` and its LiteRT.js adapter, the files the exporter runs too."""
    return send(SHARED_DIR, name, allowed=SHARED_NAMES)


@pages.get("/static/<name>")
def static_file(name: str) -> Response:
    """The page's own scripts, styles and icon from web/static/ (one flat folder)."""
    return send(STATIC_DIR, name, allowed=STATIC_NAMES)


@pages.get("/model/<name>")
def model_file(name: str) -> Response:
    """The export: the TF.js graph model (model.json, weight shards), the LiteRT.js model (model.tflite),
    metadata.json, and the proof bundle (proof.json, proof.bin)."""
    return send(_settings().model_dir, name, allowed=MODEL_NAMES)


@pages.get("/vendor/<package>/<name>")
def vendor_file(package: str, name: str) -> Response:
    """The TF.js and LiteRT.js runtimes (their .wasm files too) from node_modules."""
    spec = VENDOR_FILES.get(package)
    if spec is None:
        abort(404)
    return send(_settings().node_modules / spec.folder, name, allowed=spec.files, cache_control=VENDOR_CACHE)
