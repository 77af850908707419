"""Security headers on every response: cross-origin isolation (for wasm threads), CSP, nosniff."""

from __future__ import annotations

import base64
import hashlib
import json

from flask import Flask, Response

from mnist_tfjs.js_runtimes import ISOLATION_HEADERS, LITERT_IMPORT_MAP

# The pages' one inline script: the import map that resolves LiteRT.js' bare import of
# '@litertjs/wasm-utils' to our served copy. Each page holds exactly this text inside
# <script type="importmap">; the policy admits it by its hash (and no other inline script).
IMPORT_MAP = json.dumps(LITERT_IMPORT_MAP)


def script_hash(text: str) -> str:
    """A CSP hash source for an inline script whose content is exactly `text`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# Only our own scripts. 'wasm-unsafe-eval' lets WebAssembly compile. `blob:` is there for the
# wasm backend's threads: tfjs-backend-wasm 4.22 starts its Emscripten pthread workers from
# blob: URLs and each worker `importScripts()` the backend's factory from another blob: URL
# (hard-coded in the library). A blob: URL can only be made by a script already running on
# this origin, so no outside code is admitted; without it the threaded wasm build cannot start.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    f"script-src 'self' blob: 'wasm-unsafe-eval' {script_hash(IMPORT_MAP)}",
    "worker-src 'self' blob:",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS: dict[str, str] = {
    **ISOLATION_HEADERS,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def add_security_headers(response: Response) -> Response:
    """Set the headers in SECURITY_HEADERS on `response` (an `after_request` hook)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def init_security(app: Flask) -> None:
    """Register the security headers on every response of `app`."""
    app.after_request(add_security_headers)
