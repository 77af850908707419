"""The pages, their own JS/CSS, the exported model folder, the shared proof runner and the TF.js
and LiteRT.js runtimes from node_modules.

`/` is the draw-a-digit page for an MNIST export (`kind: mnist-digits`, or nothing exported yet) and
the model page for any other (`kind: generic`); `/model` is the model page for every export.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Blueprint, Response, abort, render_template

from mnist_tfjs.export_files import NAMED_FILES
from mnist_tfjs.js_runtimes import RUNTIME_FILES, VENDOR_FILES

from .export_metadata import GENERIC_KIND, kind, read_metadata
from .files import respond, send
from .security import IMPORT_MAP
from .settings import settings

STATIC_DIR = Path(__file__).resolve().parent / "static"

STATIC_NAMES = re.compile(r"[A-Za-z0-9_-]+\.(?:html|js|css|svg|png|ico)")
MODEL_NAMES = re.compile("|".join([*map(re.escape, NAMED_FILES), r"group\d+-shard\d+of\d+\.bin"]))


def _export_package_dir() -> Path:
    """The folder of the `export` package: beside `web`, in a clone and inside the installed
    mnist_tfjs alike (found without importing it, which would load TensorFlow into the server)."""
    return Path(__file__).resolve().parent.parent / "export"


# Files the pages share with the exporter: the proof runner and its LiteRT.js adapter
# (docs/export-format.md).
SHARED_DIR = _export_package_dir()
SHARED_NAMES = frozenset({"proof.js", "litert-proof.js"})
# The TF.js scripts a page loads (web/templates/page.html), in order: the parts metadata.runtimes counts.
TFJS_SCRIPTS = tuple(f"/vendor/{package}/{name}" for package, name in RUNTIME_FILES["tfjs"]
                     if name.endswith(".js"))


VENDOR_CACHE = "public, max-age=86400"

pages = Blueprint("pages", __name__)


@pages.get("/")
def index() -> Response:
    """The draw-a-digit page for an MNIST export, the model page for a generic one."""
    generic = kind(read_metadata(settings().model_dir)) == GENERIC_KIND
    return page("model.html" if generic else "digits.html")


@pages.get("/model")
def model_page() -> Response:
    """The model page: the export's card, its parity proof, and the check in this browser."""
    return page("model.html")


def page(template: str) -> Response:
    """A page from web/templates/, with the import map the Content-Security-Policy admits and the TF.js
    scripts, conditional on its ETag like the served files."""
    data = render_template(template, import_map=IMPORT_MAP, tfjs_scripts=TFJS_SCRIPTS).encode("utf-8")
    etag = hashlib.sha256(data).hexdigest()
    return respond(data, "text/html", etag, f"page:{template}:{etag}")


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
    return send(settings().model_dir, name, allowed=MODEL_NAMES)


@pages.get("/vendor/<package>/<name>")
def vendor_file(package: str, name: str) -> Response:
    """The TF.js and LiteRT.js runtimes (their .wasm files too) from node_modules."""
    spec = VENDOR_FILES.get(package)
    if spec is None:
        abort(404)
    return send(settings().node_modules / spec.folder, name, allowed=spec.files, cache_control=VENDOR_CACHE)
