"""Flask-Compress set up for our files: brotli/zstd/gzip, compressed once per file version; the large
runtime files compressed harder, once, ahead of the first request (`precompress`)."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import brotli
from flask import Flask, Request, g
from flask_compress import Compress
from flask_compress.compat import compression

from mnist_tfjs.js_runtimes import RUNTIME_FILES, VENDOR_FILES

from .files import compress_cache_key

EXTENSION = "mnist_tfjs_compression"  # the app.extensions key of the compressor and its cache
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


# The runtime files worth compressing harder than per request: LiteRT.js' 9.4 MB wasm (its threaded
# build: zstd 3 gives 2.73 MB in 0.1 s, zstd 19 2.15 MB in 10 s; brotli 4 2.6 MB, 9 2.29 MB in
# 1.7 s, 11 about 2.0 MB but 22 s; gzip 6 2.86 MB) and TF.js' 1.1 MB bundle. Browsers take zstd first
# (Chromium sends it on plain http://localhost too), so zstd gets its strongest level; brotli stops
# at 9 to keep the one-off start-up work near 15 s of one core.
PRECOMPRESS_MIN_BYTES = 1_000_000
PRECOMPRESS_LEVELS = {"zstd": 19, "br": 9, "gzip": 9}


class CompressedFileCache:
    """A small LRU of compressed bodies, keyed by algorithm + file path + ETag, plus the bodies
    `precompress` made ahead of time, which are kept for good and never replaced by a request's.

    Responses that are not files (the JSON API) get the key `NO_CACHE` and are never stored.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._kept: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: str) -> bytes | None:
        """The stored body for `key`, or None."""
        if key.endswith(";" + NO_CACHE):
            return None
        with self._lock:
            value = self._kept.get(key) or self._entries.get(key)
            if key in self._entries:
                self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        """Store `value` under `key` (ignored for uncacheable responses and precompressed files)."""
        if key.endswith(";" + NO_CACHE) or key in self._kept:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def keep(self, key: str, value: bytes) -> None:
        """Store a precompressed body for good: served for `key` from now on, whatever a request made."""
        with self._lock:
            self._kept[key] = value
            self._entries.pop(key, None)


def _cache_key(_request: Request) -> str:
    return g.get("compress_cache_key", NO_CACHE)


def file_cache_key(path: Path, data: bytes) -> str:
    """The cache key `web.files.send` gives a served file (its ETag is the content's sha256)."""
    return compress_cache_key(path, hashlib.sha256(data).hexdigest())


def compress_hard(data: bytes, algorithm: str) -> bytes:
    """`data` compressed with `algorithm` at PRECOMPRESS_LEVELS' level."""
    level = PRECOMPRESS_LEVELS[algorithm]
    if algorithm == "zstd":
        return compression.zstd.compress(data, level)
    if algorithm == "br":
        return brotli.compress(data, quality=level)
    return gzip.compress(data, level, mtime=0)  # no timestamp: the same bytes every time


def runtime_files(node_modules: Path, min_bytes: int = PRECOMPRESS_MIN_BYTES) -> list[Path]:
    """The runtime files a page downloads (mnist_tfjs.js_runtimes.RUNTIME_FILES) of `min_bytes` or more."""
    paths = [(node_modules / VENDOR_FILES[package].folder / name).resolve()
             for files in RUNTIME_FILES.values() for package, name in files]
    return [path for path in dict.fromkeys(paths) if path.is_file() and path.stat().st_size >= min_bytes]


def precompress(app: Flask, paths: Iterable[Path]) -> dict[str, dict[str, int]]:
    """Compress each file once with every algorithm at PRECOMPRESS_LEVELS and keep the bodies in the
    app's cache, where the requests for those files find them; returns {file name: {algorithm: bytes}}."""
    cache: CompressedFileCache = app.extensions[EXTENSION].cache
    sizes: dict[str, dict[str, int]] = {}
    for path in paths:
        data = Path(path).read_bytes()
        key = file_cache_key(Path(path).resolve(), data)
        sizes[Path(path).name] = {"plain": len(data)}
        for algorithm in PRECOMPRESS_LEVELS:
            body = compress_hard(data, algorithm)
            cache.keep(f"{algorithm};{key}", body)
            sizes[Path(path).name][algorithm] = len(body)
    return sizes


def precompress_in_background(app: Flask, paths: Iterable[Path]) -> threading.Thread:
    """`precompress` on a daemon thread (the compressors release the GIL: requests go on meanwhile;
    one for such a file before it is done is compressed at the per-request level)."""
    thread = threading.Thread(target=precompress, args=(app, list(paths)), name="precompress", daemon=True)
    thread.start()
    return thread


def init_compression(app: Flask) -> Compress:
    """Attach Flask-Compress to `app` for text, JSON and wasm responses of 1 KB or more."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["zstd", "br", "gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", CompressedFileCache)
    app.config.setdefault("COMPRESS_CACHE_KEY", _cache_key)
    compress = Compress(app)
    app.extensions[EXTENSION] = compress
    return compress
