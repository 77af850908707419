"""Serving a file only when it is one we mean to serve: name rules, containment, types, ETags."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

from flask import Response, abort, g, request

MIME_TYPES: dict[str, str] = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".bin": "application/octet-stream",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

# One path segment: letters, digits, dot, dash, underscore; no leading dot.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")

_etag_lock = threading.Lock()
_etag_cache: dict[tuple[str, int, int], str] = {}


def mime_type(path: Path) -> str:
    """The Content-Type for a served file, from a fixed table (not the host's mimetypes database)."""
    return MIME_TYPES.get(path.suffix.lower(), "application/octet-stream")


def resolve(root: Path, name: str) -> Path | None:
    """`root/name` if `name` is a single safe file name whose real path stays inside `root`, else None.

    Rejects `..`, absolute paths, sub-folders, hidden files, back-slashes and NUL bytes, and
    symlinks that lead out of `root` (the real path is checked after resolving links).
    """
    if not _SAFE_NAME.match(name) or ".." in name:
        return None
    try:
        real_root = root.resolve(strict=True)
        real = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real.parent != real_root or not real.is_file():
        return None
    return real


def content_etag(path: Path, data: bytes) -> str:
    """A strong ETag: the content's SHA-256 (as metadata.json lists it), memoised on (path, mtime, size)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _etag_lock:
        cached = _etag_cache.get(key)
    if cached is None:
        cached = hashlib.sha256(data).hexdigest()
        with _etag_lock:
            _etag_cache[key] = cached
    return cached


def compress_cache_key(path: Path, etag: str) -> str:
    """Where Flask-Compress keeps a served file's compressed bodies: its real path and its ETag."""
    return f"{os.fspath(path)}:{etag}"


def send(root: Path, name: str, *, allowed: re.Pattern[str] | frozenset[str],
         cache_control: str = "no-cache") -> Response:
    """Respond with `root/name` (ETag, conditional 304, fixed MIME type) or abort with 404.

    `allowed` is a regular expression or a set of exact names: anything else is a 404, even
    when the file exists. The body is returned whole (the files are small) so that
    Flask-Compress can compress it and cache the result under the ETag.
    """
    permitted = allowed.fullmatch(name) if isinstance(allowed, re.Pattern) else name in allowed
    path = resolve(root, name) if permitted else None
    if path is None:
        abort(404)
    try:
        data = path.read_bytes()
    except OSError:
        abort(404)
    etag = content_etag(path, data)
    return respond(data, mime_type(path), etag, compress_cache_key(path, etag), cache_control)


def respond(data: bytes, mimetype: str, etag: str, cache_key: str,
            cache_control: str = "no-cache") -> Response:
    """`data` with its ETag (conditional 304) and Cache-Control; Flask-Compress keeps its compressed
    bodies under `cache_key`."""
    response = Response(data, mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    g.compress_cache_key = cache_key
    return response.make_conditional(request)
