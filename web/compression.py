"""Flask-Compress set up for our files: brotli/zstd/gzip, compressed once per file version."""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Flask, Request, g
from flask_compress import Compress

NO_CACHE = "-"
COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/wasm",
    "image/svg+xml",
]


class CompressedFileCache:
    """A small LRU of compressed bodies, keyed by algorithm + file path + ETag.

    Responses that are not files (the JSON API) get the key `NO_CACHE` and are never stored.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: str) -> bytes | None:
        """The stored body for `key`, or None."""
        if key.endswith(";" + NO_CACHE):
            return None
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        """Store `value` under `key` (ignored for uncacheable responses)."""
        if key.endswith(";" + NO_CACHE):
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def _cache_key(_request: Request) -> str:
    return g.get("compress_cache_key", NO_CACHE)


def init_compression(app: Flask) -> Compress:
    """Attach Flask-Compress to `app` for text, JSON and wasm responses of 1 KB or more."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["zstd", "br", "gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", CompressedFileCache)
    app.config.setdefault("COMPRESS_CACHE_KEY", _cache_key)
    return Compress(app)
