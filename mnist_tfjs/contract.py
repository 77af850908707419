"""Re-exports mnist_tfjs.model_kinds, mnist_tfjs.export_files and mnist_tfjs.js_runtimes for the
export modules that still import them from here; new code imports those modules."""

from __future__ import annotations

from mnist_tfjs.export_files import LITERT_INT8_MODEL, LITERT_MODEL
from mnist_tfjs.js_runtimes import (
    ISOLATION_HEADERS,
    LITERT_IMPORT_MAP,
    LITERT_MODULE,
    LITERT_WASM_DIR,
    RUNTIME_FILES,
    TFJS_BUNDLE,
    TFJS_PARTS,
    TFJS_WASM_BUNDLE,
    VENDOR_FILES,
)
from mnist_tfjs.model_kinds import MNIST_KIND, MNIST_TEST_DIGITS

__all__ = ["ISOLATION_HEADERS", "LITERT_IMPORT_MAP", "LITERT_INT8_MODEL", "LITERT_MODEL", "LITERT_MODULE",
           "LITERT_WASM_DIR", "MNIST_KIND", "MNIST_TEST_DIGITS", "RUNTIME_FILES", "TFJS_BUNDLE", "TFJS_PARTS",
           "TFJS_WASM_BUNDLE", "VENDOR_FILES"]
