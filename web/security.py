"""Security headers on every response: cross-origin isolation (for wasm threads), CSP, nosniff."""

from __future__ import annotations

from flask import Flask, Response

from mnist_tfjs.contract import ISOLATION_HEADERS

# Only our own scripts. 'wasm-unsafe-eval' lets WebAssembly compile. `blob:` is there for the
# wasm backend's threads: tfjs-backend-wasm 4.22 starts its Emscripten pthread workers from
# blob: URLs and each worker `importScripts()` the backend's factory from another blob: URL
# (hard-coded in the library). A blob: URL can only be made by a script already running on
# this origin, so no outside code is admitted; without it the threaded wasm build cannot start.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' blob: 'wasm-unsafe-eval'",
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
