"""What an export folder means to everyone who reads it: the kinds of model, the TF.js runtime
files a page or a proof loads from npm, and the headers that let the wasm backend use threads.

`export` writes by these names and `web` serves by them; neither imports the other.
"""

from __future__ import annotations

from typing import NamedTuple

MNIST_KIND = "mnist-digits"  # a digit classifier on 28x28x1 images: the draw-a-digit page
GENERIC_KIND = "generic"  # any other model: the model page
MNIST_TEST_DIGITS = 10_000  # the MNIST test set, every digit of which a digit model's proof reads



class VendorPackage(NamedTuple):
    """An npm package folder (relative to node_modules) that only the listed files are served from."""

    folder: str
    files: frozenset[str]


# The TF.js runtime, as served under /vendor/<name>/<file>.
TFJS_BUNDLE = "tf.es2017.min.js"
TFJS_WASM_BUNDLE = "tf-backend-wasm.es2017.min.js"
WASM_BINARIES = ("tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm",
                 "tfjs-backend-wasm-threaded-simd.wasm")
VENDOR_FILES: dict[str, VendorPackage] = {
    "tfjs": VendorPackage("@tensorflow/tfjs/dist", frozenset({TFJS_BUNDLE, f"{TFJS_BUNDLE}.map"})),
    "tfjs-backend-wasm": VendorPackage(
        "@tensorflow/tfjs-backend-wasm/dist",
        frozenset({TFJS_WASM_BUNDLE, f"{TFJS_WASM_BUNDLE}.map", *WASM_BINARIES})),
}

# Cross-origin isolation: the wasm backend's threads need SharedArrayBuffer, which browsers give
# only to isolated pages.
ISOLATION_HEADERS: dict[str, str] = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
