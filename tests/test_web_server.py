"""The Flask app through its test client: routes, types, headers, caching, traversal, the API, the CLI."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mnist_tfjs.paths import NODE_MODULES, REPO_ROOT
from web import create_app
from web.compression import EXTENSION as COMPRESSION
from web.security import SECURITY_HEADERS
from web.settings import settings

TFJS = NODE_MODULES / "@tensorflow" / "tfjs" / "dist" / "tf.es2017.min.js"
needs_npm = pytest.mark.skipif(not TFJS.is_file(), reason="npm packages not installed (`npm ci`)")


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A stand-in export (no TensorFlow needed): model.json, one shard, metadata.json with hashes."""
    folder = tmp_path / "artifacts" / "web_model"
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"format": "graph-model", "weightsManifest": []}) * 40)
    shard = os.urandom(5000)
    (folder / "group1-shard1of1.bin").write_bytes(shard)
    (folder / "metadata.json").write_text(json.dumps({
        "accuracy": {"native": 0.99},
        "files": {"group1-shard1of1.bin": {"bytes": len(shard), "sha256": hashlib.sha256(shard).hexdigest()}},
    }))
    (folder / "notes.txt").write_text("not a model file")
    (tmp_path / "secret.txt").write_text("outside the served folders")
    return folder


@pytest.fixture
def client(model_dir: Path):
    return create_app(model_dir, native=False).test_client()


# --- routes and types ------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "mimetype"), [
    ("/", "text/html"),
    ("/static/main.js", "text/javascript"),
    ("/static/model.js", "text/javascript"),
    ("/static/preprocess.js", "text/javascript"),
    ("/static/style.css", "text/css"),
    ("/static/favicon.svg", "image/svg+xml"),
    ("/model/model.json", "application/json"),
    ("/model/metadata.json", "application/json"),
    ("/model/group1-shard1of1.bin", "application/octet-stream"),
])
def test_served_files_have_their_types(client, url: str, mimetype: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == mimetype
    assert response.data


def test_page_references_only_served_local_files(client) -> None:
    import re

    html = client.get("/").get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs, "the page loads scripts and styles"
    for ref in refs:
        assert ref.startswith("/"), f"{ref}: nothing from another origin (no CDN)"
    for ref in refs:
        if ref.startswith("/vendor/") and not TFJS.is_file():
            continue
        assert client.get(ref).status_code == 200, ref


@needs_npm
@pytest.mark.parametrize(("url", "mimetype"), [
    ("/vendor/tfjs/tf.es2017.min.js", "text/javascript"),
    ("/vendor/tfjs-backend-wasm/tf-backend-wasm.es2017.min.js", "text/javascript"),
    ("/vendor/tfjs-backend-wasm/tfjs-backend-wasm.wasm", "application/wasm"),
    ("/vendor/tfjs-backend-wasm/tfjs-backend-wasm-simd.wasm", "application/wasm"),
    ("/vendor/tfjs-backend-wasm/tfjs-backend-wasm-threaded-simd.wasm", "application/wasm"),
])
def test_tfjs_runtime_is_served_from_node_modules(client, url: str, mimetype: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    name = url.rsplit("/", 1)[1]
    package = "tfjs" if url.startswith("/vendor/tfjs/") else "tfjs-backend-wasm"
    served = NODE_MODULES / "@tensorflow" / package / "dist" / name
    assert response.data == served.read_bytes()
    assert "max-age" in response.headers["Cache-Control"]


@needs_npm
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_tfjs_bundle_is_compressed(client, encoding: str) -> None:
    plain = TFJS.read_bytes()
    response = client.get("/vendor/tfjs/tf.es2017.min.js", headers={"Accept-Encoding": encoding})
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(response.data) < len(plain) / 3
    if encoding == "gzip":
        assert gzip.decompress(response.data) == plain
    else:
        import brotli

        assert brotli.decompress(response.data) == plain
    again = client.get("/vendor/tfjs/tf.es2017.min.js", headers={"Accept-Encoding": encoding})
    assert again.data == response.data, "the compressed body is the same (and cached) on the next request"


LITERT_WASM = NODE_MODULES / "@litertjs" / "core" / "wasm"


@needs_npm
@pytest.mark.parametrize("package", ["tfjs-core", "tfjs-backend-cpu", "tfjs-converter", "tfjs-backend-webgl",
                                     "tfjs-backend-webgpu"])
def test_tfjs_parts_the_pages_load_are_served(client, package: str) -> None:
    from mnist_tfjs.js_runtimes import TFJS_PARTS

    response = client.get(f"/vendor/{package}/{TFJS_PARTS[package]}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    plain = (NODE_MODULES / "@tensorflow" / package / "dist" / TFJS_PARTS[package]).read_bytes()
    assert gzip.decompress(response.data) == plain


@needs_npm
@pytest.mark.parametrize(("url", "source", "mimetype"), [
    ("/vendor/litertjs/index.js", "@litertjs/core/dist/index.js", "text/javascript"),
    ("/vendor/litertjs-wasm-utils/index.js", "@litertjs/wasm-utils/dist/index.js", "text/javascript"),
    ("/vendor/litertjs-wasm/litert_wasm_internal.js", "@litertjs/core/wasm/litert_wasm_internal.js",
     "text/javascript"),
    ("/vendor/litertjs-wasm/litert_wasm_internal.wasm", "@litertjs/core/wasm/litert_wasm_internal.wasm",
     "application/wasm"),
    ("/vendor/litertjs-wasm/litert_wasm_compat_internal.wasm",
     "@litertjs/core/wasm/litert_wasm_compat_internal.wasm", "application/wasm"),
])
def test_litert_runtime_is_served_from_node_modules(client, url: str, source: str, mimetype: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == mimetype
    assert response.data == (NODE_MODULES / source).read_bytes()
    assert "max-age" in response.headers["Cache-Control"]
    assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


@needs_npm
def test_litert_wasm_is_compressed_to_under_a_third(client) -> None:
    from flask_compress.compat import compression

    plain = (LITERT_WASM / "litert_wasm_internal.wasm").read_bytes()
    response = client.get("/vendor/litertjs-wasm/litert_wasm_internal.wasm",
                          headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["Content-Encoding"] == "zstd" and response.mimetype == "application/wasm"
    assert len(response.data) < len(plain) / 3
    assert compression.zstd.decompress(response.data) == plain


@needs_npm
def test_precompressed_runtime_files_are_served_and_kept(model_dir: Path) -> None:
    import brotli
    from flask_compress.compat import compression

    from mnist_tfjs.js_runtimes import RUNTIME_FILES, VENDOR_FILES
    from web.compression import PRECOMPRESS_LEVELS, compress_hard, precompress, runtime_files

    app = create_app(model_dir, native=False, node_modules=NODE_MODULES)
    big = runtime_files(NODE_MODULES)
    litert_wasm = next(NODE_MODULES / VENDOR_FILES[package].folder / name
                       for package, name in RUNTIME_FILES["litert"] if name.endswith(".wasm"))
    assert litert_wasm in big, "LiteRT.js' wasm is compressed ahead"
    assert all(path.stat().st_size >= 1_000_000 for path in big)
    # the same path through a small file: compressed once, hard, then served as made
    source = LITERT_WASM / "litert_wasm_internal.js"
    plain = source.read_bytes()
    sizes = precompress(app, [source])
    client = app.test_client()
    decode = {"zstd": compression.zstd.decompress, "br": brotli.decompress, "gzip": gzip.decompress}
    for algorithm in PRECOMPRESS_LEVELS:
        response = client.get("/vendor/litertjs-wasm/litert_wasm_internal.js",
                              headers={"Accept-Encoding": algorithm})
        assert response.headers["Content-Encoding"] == algorithm
        assert response.data == compress_hard(plain, algorithm), algorithm
        assert len(response.data) == sizes[source.name][algorithm] < len(plain) / 3
        assert decode[algorithm](response.data) == plain
    cache = app.extensions[COMPRESSION].cache
    key = next(k for k in cache._kept if k.startswith("zstd;"))
    cache.set(key, b"a request's own body")
    assert cache.get(key) == compress_hard(plain, "zstd"), "a request never replaces a precompressed body"


def test_pages_carry_the_import_map_the_policy_admits(client, generic_client) -> None:
    import re

    from mnist_tfjs.js_runtimes import LITERT_IMPORT_MAP, VENDOR_FILES
    from web.security import CONTENT_SECURITY_POLICY, IMPORT_MAP, script_hash

    for page in (client.get("/"), client.get("/model"), generic_client.get("/")):
        html = page.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
        assert inline == [IMPORT_MAP], "the import map is the pages' only inline script"
        first_module = html.index('type="module"')
        assert html.index('type="importmap"') < first_module, "the map comes before any module loads"
    assert json.loads(IMPORT_MAP) == LITERT_IMPORT_MAP
    assert script_hash(IMPORT_MAP) in CONTENT_SECURITY_POLICY.split("script-src ", 1)[1].split(";")[0]
    for target in LITERT_IMPORT_MAP["imports"].values():
        package, name = target.removeprefix("/vendor/").split("/")
        assert package in VENDOR_FILES and (name in VENDOR_FILES[package].files or not name), target
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY


def test_tflite_model_is_served_beside_the_graph_model(client, model_dir: Path) -> None:
    (model_dir / "model.tflite").write_bytes(b"TFL3" + os.urandom(2000))
    response = client.get("/model/model.tflite")
    assert response.status_code == 200 and response.mimetype == "application/octet-stream"
    assert response.data == (model_dir / "model.tflite").read_bytes()
    assert response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()}"'
    assert client.get("/model/other.tflite").status_code == 404


def test_small_and_binary_files_are_not_compressed(client) -> None:
    shard = client.get("/model/group1-shard1of1.bin", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in shard.headers
    assert client.get("/static/favicon.svg", headers={"Accept-Encoding": "gzip"}).headers.get(
        "Content-Encoding") is None  # under 1 KB


def test_etags_give_304_and_match_metadata_hashes(client, model_dir: Path) -> None:
    shard = client.get("/model/group1-shard1of1.bin")
    digest = hashlib.sha256((model_dir / "group1-shard1of1.bin").read_bytes()).hexdigest()
    metadata = json.loads((model_dir / "metadata.json").read_text())
    listed = metadata["files"]["group1-shard1of1.bin"]["sha256"]
    assert shard.headers["ETag"] == f'"{digest}"' == f'"{listed}"'
    assert shard.headers["Cache-Control"] == "no-cache"
    assert client.get("/model/group1-shard1of1.bin", headers={"If-None-Match": shard.headers["ETag"]}
                      ).status_code == 304
    compressed = client.get("/model/model.json", headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["Content-Encoding"] == "gzip"
    again = client.get("/model/model.json", headers={"Accept-Encoding": "gzip",
                                                     "If-None-Match": compressed.headers["ETag"]})
    assert again.status_code == 304
    (model_dir / "group1-shard1of1.bin").write_bytes(b"re-exported")
    changed = client.get("/model/group1-shard1of1.bin", headers={"If-None-Match": shard.headers["ETag"]})
    assert changed.status_code == 200 and changed.data == b"re-exported"


# --- headers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/", "/model", "/static/main.js", "/shared/proof.js", "/model/model.json",
                                 "/nope", "/api/status"])
def test_security_headers_on_every_response(client, url: str) -> None:
    response = client.get(url)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (url, name)
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_content_security_policy_allows_only_our_scripts() -> None:
    from web.security import CONTENT_SECURITY_POLICY

    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    scripts = directives["script-src"].split()
    assert "'self'" in scripts and "'wasm-unsafe-eval'" in scripts
    assert "'unsafe-eval'" not in scripts and "'unsafe-inline'" not in scripts
    assert not any(src.startswith(("http", "*", "data:")) for src in scripts)
    assert directives["object-src"] == "'none'"
    assert directives["connect-src"] == "'self'"


# --- only what we mean to serve ----------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/static/../app.py",
    "/static/%2e%2e/app.py",
    "/static/%2E%2E/%2E%2E/pyproject.toml",
    "/static/..%2fapp.py",
    "/static/..%5capp.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/.hidden.js",
    "/static/",
    "/static",
    "/model/",
    "/model/..%2fsecret.txt",
    "/model/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/model/notes.txt",
    "/model/model.keras",
    "/vendor/",
    "/vendor/tfjs/",
    "/vendor/tfjs/package.json",
    "/vendor/tfjs/tf.js",
    "/vendor/tfjs/..%2f..%2f..%2f..%2fpyproject.toml",
    "/vendor/nope/tf.min.js",
    "/vendor/tfjs-backend-wasm/index.js",
    "/vendor/litertjs/package.json",
    "/vendor/litertjs-wasm/index.js",
    "/vendor/litertjs-wasm/..%2f..%2fpackage.json",
    "/index.html/../../app.py",
    "/app.py",
    "/web/app.py",
    "/node_modules/@tensorflow/tfjs/package.json",
    "/static/main.js%00.html",
    "/shared/",
    "/shared/node_proof.js",
    "/shared/browser.py",
    "/shared/..%2fpages.py",
    "/model/proof.txt",
])
def test_anything_else_is_404(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404, url
    assert b"outside the served folders" not in response.data
    assert b"import" not in response.data  # no source file leaked


def test_symlinks_out_of_the_served_folder_are_404(client, model_dir: Path) -> None:
    target = model_dir.parent.parent / "secret.txt"
    (model_dir / "group2-shard1of1.bin").symlink_to(target)
    (model_dir / "metadata.json").unlink()
    (model_dir / "metadata.json").symlink_to(target)
    assert client.get("/model/group2-shard1of1.bin").status_code == 404
    assert client.get("/model/metadata.json").status_code == 404


def test_symlinks_inside_the_folder_are_served(client, model_dir: Path) -> None:
    (model_dir / "group1-shard2of2.bin").symlink_to(model_dir / "group1-shard1of1.bin")
    assert client.get("/model/group1-shard2of2.bin").status_code == 200


@pytest.mark.parametrize(("method", "url"), [
    ("post", "/"),
    ("put", "/static/main.js"),
    ("delete", "/model/model.json"),
    ("post", "/vendor/tfjs/tf.es2017.min.js"),
    ("get", "/api/predict"),
    ("post", "/api/status"),
])
def test_wrong_methods_are_405(client, method: str, url: str) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert response.headers["Allow"]
    if url.startswith("/api/"):
        assert response.get_json()["status"] == 405


def test_no_model_yet_still_serves_the_page(tmp_path: Path) -> None:
    client = create_app(tmp_path / "missing" / "web_model").test_client()
    assert client.get("/").status_code == 200
    assert client.get("/model/model.json").status_code == 404
    status = client.get("/api/status").get_json()
    assert status == {"model": False, "metadata": False, "native": False, "native_state": None,
                      "native_error": None}
    html = client.get("/").get_data(as_text=True)
    assert "python -m train" in html and "python -m export" in html


# --- the model page and the proof bundle ------------------------------------------------------

def _generic_export(folder: Path) -> Path:
    """A stand-in generic export (metadata.json schema 2 and a proof bundle; no TensorFlow needed)."""
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps({"format": "graph-model", "weightsManifest": []}))
    (folder / "group1-shard1of1.bin").write_bytes(os.urandom(64))
    (folder / "metadata.json").write_text(json.dumps({
        "schema": 2, "kind": "generic",
        "inputs": [{"name": "features", "dtype": "float32", "shape": [None, 6]}],
        "outputs": [{"name": "scores", "dtype": "float32", "shape": [None, 3], "classifier": True}]}))
    (folder / "proof.json").write_text(json.dumps({"samples": 1, "thresholds": {}, "arrays": []}))
    (folder / "proof.bin").write_bytes(np.arange(9, dtype="<f4").tobytes())
    return folder


@pytest.fixture
def generic_client(tmp_path: Path):
    return create_app(_generic_export(tmp_path / "generic"), native=False).test_client()


def test_generic_export_gets_the_model_page(generic_client) -> None:
    home = generic_client.get("/")
    assert home.status_code == 200 and home.mimetype == "text/html"
    html = home.get_data(as_text=True)
    assert "/static/model-page.js" in html and "/shared/proof.js" in html
    assert 'id="check"' in html and "Check in this browser" in html
    assert 'id="pad"' not in html, "no drawing pad for a model that does not read digits"
    assert generic_client.get("/model").data == home.data


@pytest.mark.parametrize(("url", "mimetype", "source"), [
    ("/model/proof.json", "application/json", "proof.json"),
    ("/model/proof.bin", "application/octet-stream", "proof.bin"),
    ("/shared/proof.js", "text/javascript", None),
])
def test_proof_bundle_and_runner_are_served(generic_client, tmp_path: Path, url: str, mimetype: str,
                                            source: str | None) -> None:
    response = generic_client.get(url)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    path = tmp_path / "generic" / source if source else REPO_ROOT / "export" / "proof.js"
    assert response.data == path.read_bytes()
    assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"


def test_model_page_references_only_served_local_files(generic_client) -> None:
    import re

    html = generic_client.get("/model").get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/shared/proof.js" in refs and "/static/model-page.js" in refs
    for ref in refs:
        assert ref.startswith("/"), f"{ref}: nothing from another origin (no CDN)"
        if ref.startswith("/vendor/") and not TFJS.is_file():
            continue
        assert generic_client.get(ref).status_code == 200, ref
    for module in ("model-page.js", "proof-check.js", "model.js", "ui.js", "digit-contract.js",
                   "export-files.js"):
        assert generic_client.get(f"/static/{module}").status_code == 200, module


@pytest.mark.parametrize("metadata", [
    None,  # the stand-in's metadata.json, which names no kind
    {"schema": 2, "kind": "mnist-digits", "inputs": [{"name": "image", "shape": [None, 28, 28, 1]}]},
])
def test_mnist_export_keeps_the_digit_page_and_links_the_model_page(client, model_dir: Path,
                                                                    metadata: dict | None) -> None:
    if metadata is not None:
        (model_dir / "metadata.json").write_text(json.dumps(metadata))
    html = client.get("/").get_data(as_text=True)
    assert 'id="pad"' in html and "/static/main.js" in html
    assert 'href="/model"' in html
    model_page = client.get("/model")
    assert model_page.status_code == 200 and "/static/model-page.js" in model_page.get_data(as_text=True)


def test_input_shape_comes_from_metadata() -> None:
    from web.export_metadata import image_shape, kind
    from web.validation import PayloadError, parse_images

    schema2 = {"schema": 2, "kind": "mnist-digits", "inputs": [{"name": "image", "shape": [None, 8, 6, 1]}]}
    assert image_shape(schema2) == (8, 6, 1)
    assert image_shape(None) == (28, 28, 1)
    assert image_shape({"inputs": [{"shape": [None, "x", 2, 1]}]}) == (28, 28, 1)
    assert [kind(m) for m in (schema2, None, {"kind": "generic"})] == [
        "mnist-digits", "mnist-digits", "generic"]
    images = parse_images({"images": [[[0.5] * 6] * 8]}, image_shape(schema2))
    assert images.shape == (1, 8, 6, 1)
    with pytest.raises(PayloadError, match="8 rows"):
        parse_images({"images": [_image()]}, image_shape(schema2))


# --- /api/predict ------------------------------------------------------------------------------

def test_native_model_is_found_next_to_the_export(model_dir: Path) -> None:
    (model_dir.parent / "model.keras").write_bytes(b"not really a model")
    app = create_app(model_dir)
    native = settings(app).native
    assert native is not None and native.path == model_dir.parent / "model.keras"
    assert settings(create_app(model_dir, native=False)).native is None


def test_predict_is_off_without_native_model(client) -> None:
    response = client.post("/api/predict", json={"images": [[[0.0] * 28] * 28]})
    assert response.status_code == 404
    assert "native" in response.get_json()["error"]
    assert client.get("/api/status").get_json()["native"] is False


def test_broken_native_model_is_a_503_with_the_reason(model_dir: Path) -> None:
    (model_dir.parent / "model.keras").write_bytes(b"not really a model")
    client = create_app(model_dir).test_client()
    response = client.post("/api/predict", json={"images": [[[0.0] * 28] * 28]})
    assert response.status_code == 503
    assert "model.keras" in response.get_json()["error"]
    assert client.get("/api/status").get_json()["native_state"] == "failed"


@pytest.fixture(scope="module")
def api_client(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("api") / "web_model"
    return create_app(folder, native_model_path=small_model_path).test_client()


def test_predict_matches_keras(api_client, small_model_path: Path, mnist_test) -> None:
    import keras

    images, _ = mnist_test
    batch = images[:8]
    response = api_client.post("/api/predict", json={"images": batch[..., 0].tolist()})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    probs = np.asarray(body["probs"], dtype=np.float32)
    expected = keras.saving.load_model(small_model_path).predict(batch, verbose=0)
    assert probs.shape == (8, 10)
    assert np.abs(probs - expected).max() <= 1e-5
    assert body["digits"] == expected.argmax(axis=1).tolist()
    assert body["ms"] >= 0


def _image(value: object = 0.5) -> list[list[object]]:
    return [[value] * 28 for _ in range(28)]


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"images": [_image()[:27]]}, 400, "28 rows"),
    ({"images": [[[0.5] * 27] * 28]}, 400, "28 numbers"),
    ({"images": [_image()] * 2 + [[[0.5] * 784]]}, 400, "images[2]"),
    ({"images": [_image(1.5)]}, 400, "[0, 1]"),
    ({"images": [_image(-0.1)]}, 400, "[0, 1]"),
    ({"images": [_image("0.5")]}, 400, "str"),
    ({"images": [_image(True)]}, 400, "bool"),
    ({"images": [_image(None)]}, 400, "NoneType"),
    ({"images": []}, 400, "empty"),
    ({"images": _image()}, 400, "images[0]"),
    ({"pixels": [_image()]}, 400, '"images"'),
    ([_image()], 400, "JSON object"),
    ({"images": [_image(0.0)] * 257}, 413, "256"),
])
def test_predict_rejects_bad_batches(api_client, body: object, status: int, fragment: str) -> None:
    response = api_client.post("/api/predict", json=body)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert fragment in error, error


def test_predict_rejects_nan_and_infinity(api_client) -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps({"images": [_image(0.0)]}).replace("0.0", literal, 1)
        response = api_client.post("/api/predict", data=text, content_type="application/json")
        assert response.status_code == 400, literal
        assert "finite" in response.get_json()["error"]


def test_predict_rejects_non_json(api_client) -> None:
    plain = api_client.post("/api/predict", data="images=1", content_type="text/plain")
    assert plain.status_code == 415 and plain.get_json()["status"] == 415
    broken = api_client.post("/api/predict", data="{not json", content_type="application/json")
    assert broken.status_code == 400 and "JSON" in broken.get_json()["error"]


def test_predict_rejects_oversized_bodies(api_client) -> None:
    from web.app import MAX_BODY_BYTES

    body = b'{"images": [' + b"0," * (MAX_BODY_BYTES // 2) + b"0]}"
    response = api_client.post("/api/predict", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["status"] == 413


def test_full_batch_is_accepted(api_client) -> None:
    response = api_client.post("/api/predict", json={"images": [_image(0.0)] * 256})
    assert response.status_code == 200
    probs = np.asarray(response.get_json()["probs"])
    assert probs.shape == (256, 10)
    assert all(math.isclose(row.sum(), 1.0, abs_tol=1e-4) for row in probs)


# --- python -m web -----------------------------------------------------------------------------

def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "web", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_cli_rejects_a_file_as_model_dir(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "model.json"
    not_a_folder.write_text("{}")
    result = run_cli("--model-dir", str(not_a_folder), "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_cli_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("--model-dir", str(tmp_path), "--port", str(port), "--no-native")
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_rejects_bad_port() -> None:
    result = run_cli("--port", "70000")
    assert result.returncode == 2 and "--port" in result.stderr and "Traceback" not in result.stderr


def test_cli_serves_with_waitress_and_prints_the_url(model_dir: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "web", "--model-dir", str(model_dir), "--port", "0",
                             "--no-native"], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        url = None
        for _ in range(10):
            line = proc.stdout.readline()
            if "http://" in line:
                url = line[line.index("http://"):].split()[0]
                break
        assert url and url.startswith("http://127.0.0.1:"), url
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Server"] == "mnist-tfjs"  # waitress, not the development server
            assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
