"""The JS runtimes (TF.js, LiteRT.js) a page or a proof loads from npm: which files of which package
are served under /vendor/, where LiteRT.js is found (its import map), what a page downloads to run
each, and the headers that let their wasm use threads.

`export` loads its proof pages by these names and `web` serves by them; neither imports the other.
"""

from __future__ import annotations

from typing import NamedTuple


class VendorPackage(NamedTuple):
    """An npm package folder (relative to node_modules) that only the listed files are served from."""

    folder: str
    files: frozenset[str]


# The TF.js runtime, as served under /vendor/<name>/<file>.
TFJS_BUNDLE = "tf.es2017.min.js"
TFJS_WASM_BUNDLE = "tf-backend-wasm.es2017.min.js"
WASM_BINARIES = ("tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm",
                 "tfjs-backend-wasm-threaded-simd.wasm")
# The pages load TF.js in parts (core, cpu kernels, converter, wasm backend; webgl and webgpu only when
# chosen): 0.8 MB of script instead of the 1.25 MB union bundle, which starts a page ~0.3 s sooner on
# 2 cores. The union bundle has no webgpu backend: the exporter's proof page loads that part beside it.
TFJS_PARTS = {"tfjs-core": "tf-core.es2017.min.js", "tfjs-backend-cpu": "tf-backend-cpu.es2017.min.js",
              "tfjs-converter": "tf-converter.es2017.min.js",
              "tfjs-backend-webgl": "tf-backend-webgl.es2017.min.js",
              "tfjs-backend-webgpu": "tf-backend-webgpu.es2017.min.js"}
VENDOR_FILES: dict[str, VendorPackage] = {
    "tfjs": VendorPackage("@tensorflow/tfjs/dist", frozenset({TFJS_BUNDLE, f"{TFJS_BUNDLE}.map"})),
    **{name: VendorPackage(f"@tensorflow/{name}/dist", frozenset({bundle, f"{bundle}.map"}))
       for name, bundle in TFJS_PARTS.items()},
    "tfjs-backend-wasm": VendorPackage(
        "@tensorflow/tfjs-backend-wasm/dist",
        frozenset({TFJS_WASM_BUNDLE, f"{TFJS_WASM_BUNDLE}.map", *WASM_BINARIES})),
    "litertjs": VendorPackage("@litertjs/core/dist", frozenset({"index.js", "index.js.map"})),
    # LiteRT.js picks one pair by the browser's features: plain (relaxed SIMD), threaded (relaxed
    # SIMD + threads, asked for), jspi (asked for), compat (no relaxed SIMD).
    "litertjs-wasm": VendorPackage(
        "@litertjs/core/wasm",
        frozenset(f"litert_wasm{variant}_internal.{ext}" for variant in ("", "_compat", "_threaded", "_jspi")
                  for ext in ("js", "wasm"))),
    "litertjs-wasm-utils": VendorPackage("@litertjs/wasm-utils/dist",
                                         frozenset({"index.js", "index.js.map"})),
}

# Where LiteRT.js is served, the one place its URLs are written: its ES module (which imports
# '@litertjs/wasm-utils' by bare name) and the folder of its wasm builds. Every page, and the
# exporter's proof page, carries LITERT_IMPORT_MAP (<script type="importmap">), so their scripts
# import '@litertjs/core' and find the wasm folder as import.meta.resolve('@litertjs/wasm/'); LiteRT.js
# runs on threads where the page is isolated (ISOLATION_HEADERS), which halves a MobileNetV2 call on
# two cores.
LITERT_MODULE = "/vendor/litertjs/index.js"
LITERT_WASM_DIR = "/vendor/litertjs-wasm/"
LITERT_IMPORT_MAP: dict[str, dict[str, str]] = {"imports": {
    "@litertjs/core": LITERT_MODULE,
    "@litertjs/wasm-utils": "/vendor/litertjs-wasm-utils/index.js",
    "@litertjs/wasm/": LITERT_WASM_DIR,
}}
# What an isolated page downloads to run each runtime in a browser with relaxed SIMD (every
# current Chromium), as (vendor name, file): the runtime download figures in metadata's `runtimes`.
RUNTIME_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "tfjs": (*((name, TFJS_PARTS[name]) for name in ("tfjs-core", "tfjs-backend-cpu", "tfjs-converter")),
             ("tfjs-backend-wasm", TFJS_WASM_BUNDLE),
             ("tfjs-backend-wasm", "tfjs-backend-wasm-threaded-simd.wasm")),
    "litert": (("litertjs", "index.js"), ("litertjs-wasm-utils", "index.js"),
               ("litertjs-wasm", "litert_wasm_threaded_internal.js"),
               ("litertjs-wasm", "litert_wasm_threaded_internal.wasm")),
}

# Cross-origin isolation: the wasm backend's threads need SharedArrayBuffer, which browsers give
# only to isolated pages.
ISOLATION_HEADERS: dict[str, str] = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
