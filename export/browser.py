"""The parity proof in headless Chromium: TF.js on each browser backend (wasm, webgl, cpu) runs the
proof bundled with an export (`proof.json` + `proof.bin`) through the shared runner `export/proof.js`.

No web server: Playwright answers every request of a fake origin from the export folder, the TF.js
runtime in node_modules and `export/proof.js`, with the cross-origin isolation headers the wasm
backend's threads need. Playwright is imported only when `browser_proof` runs.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from export.errors import ExportError
from mnist_tfjs.chromium import CHROMIUM_ARGS, find_chromium
from mnist_tfjs.paths import NODE_MODULES

BACKENDS = ("wasm", "webgl", "cpu")
ORIGIN = "https://tfjs-proof.local"  # https: a secure context, so cross-origin isolation applies
PROOF_JS = Path(__file__).resolve().parent / "proof.js"
TFJS_DIST = "@tensorflow/tfjs/dist"
WASM_DIST = "@tensorflow/tfjs-backend-wasm/dist"
TFJS_FILE = "tf.es2017.min.js"  # the bundle the web app serves
WASM_FILES = frozenset({"tf-backend-wasm.es2017.min.js", "tfjs-backend-wasm.wasm",
                        "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"})
# WebGL without a GPU: Chromium's software renderer (SwiftShader) through ANGLE.
WEBGL_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]

HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
TYPES = {".js": "text/javascript", ".json": "application/json", ".wasm": "application/wasm",
         ".bin": "application/octet-stream", ".html": "text/html"}

HARNESS = f"""<!doctype html>
<meta charset="utf-8">
<title>TF.js proof</title>
<script src="/vendor/tfjs/{TFJS_FILE}"></script>
<script src="/vendor/tfjs-backend-wasm/tf-backend-wasm.es2017.min.js"></script>
<script src="/proof.js"></script>
"""

# Runs in the harness page: each backend in turn, the model loaded afresh on it, the proof run.
RUN_PROOF = """async ({backends, batch, classifiers, timeoutMs}) => {
  const withTimeout = (promise, what) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      const message = `${what} did not finish in ${timeoutMs / 1000} s`;
      timer = setTimeout(() => reject(new Error(message)), timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  const fetchOk = async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response;
  };
  const json = await (await fetchOk('/model/proof.json')).json();
  const bin = await (await fetchOk('/model/proof.bin')).arrayBuffer();
  const bundle = tfjsProof.readBundle(json, bin);
  tf.wasm.setWasmPaths('/vendor/tfjs-backend-wasm/');
  tf.enableProdMode();
  const results = {};
  const errors = {};
  for (const name of backends) {
    try {
      const ok = await withTimeout(tf.setBackend(name), `starting ${name}`);
      if (!ok || tf.getBackend() !== name) throw new Error(`the ${name} backend did not start`);
      await tf.ready();
      const model = await withTimeout(tf.loadGraphModel('/model/model.json'), `loading the model on ${name}`);
      try {
        results[name] = await withTimeout(tfjsProof.runProof(tf, model, bundle, {batch, classifiers}),
                                          `the proof on ${name}`);
      } finally {
        model.dispose();
      }
    } catch (err) {
      errors[name] = String(err && err.message || err);
    }
  }
  return {results, errors, tfjs: tf.version.tfjs, isolated: self.crossOriginIsolated};
}"""


def _classifiers(model_dir: Path) -> list[str]:
    """Output names marked `classifier` in metadata.json (none when it is absent or unreadable)."""
    try:
        metadata = json.loads((model_dir / "metadata.json").read_text())
    except (OSError, ValueError):
        return []
    outputs = metadata.get("outputs") if isinstance(metadata, dict) else None
    return [o["name"] for o in outputs or [] if isinstance(o, dict) and o.get("classifier") and "name" in o]


def _model_file(model_dir: Path, name: str) -> Path | None:
    """A file the harness may fetch from the export folder: model.json, shards, the proof bundle."""
    allowed = name in ("model.json", "proof.json", "proof.bin", "metadata.json") or (
        name.startswith("group") and name.endswith(".bin") and "/" not in name)
    path = model_dir / name
    return path if allowed and path.is_file() else None


def _resolve(model_dir: Path, node_modules: Path, url_path: str) -> Path | str | None:
    """The file (or the harness text) answering `url_path` on the fake origin, or None (404)."""
    if url_path in ("/", "/index.html"):
        return HARNESS
    if url_path == "/proof.js":
        return PROOF_JS
    if url_path == f"/vendor/tfjs/{TFJS_FILE}":
        return node_modules / TFJS_DIST / TFJS_FILE
    prefix, _, name = url_path.rpartition("/")
    if prefix == "/vendor/tfjs-backend-wasm" and name in WASM_FILES:
        return node_modules / WASM_DIST / name
    if prefix == "/model":
        return _model_file(model_dir, name)
    return None


def _route_handler(model_dir: Path, node_modules: Path):
    from urllib.parse import urlsplit

    def handle(route: Any) -> None:
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != ORIGIN:
            route.abort()  # nothing leaves the machine
            return
        target = _resolve(model_dir, node_modules, url.path)
        if isinstance(target, str):
            route.fulfill(status=200, headers={**HEADERS, "Content-Type": TYPES[".html"]}, body=target)
        elif target is not None and target.is_file():
            content_type = TYPES.get(target.suffix, "application/octet-stream")
            route.fulfill(status=200, headers={**HEADERS, "Content-Type": content_type},
                          body=target.read_bytes())
        else:
            route.fulfill(status=404, headers=HEADERS, body="not found")

    return handle


def _check_folder(model_dir: Path, node_modules: Path) -> None:
    for name in ("model.json", "proof.json", "proof.bin"):
        if not (model_dir / name).is_file():
            raise ExportError(f"no {name} in {model_dir}: the browser proof needs the model and its "
                              "proof bundle")
    for path in (node_modules / TFJS_DIST / TFJS_FILE, node_modules / WASM_DIST / "tfjs-backend-wasm.wasm"):
        if not path.is_file():
            raise ExportError(f"TF.js runtime missing ({path}): run `npm ci`")
    if not PROOF_JS.is_file():
        raise ExportError(f"the proof runner {PROOF_JS} is missing")


def browser_proof(model_dir: Path, backends: tuple[str, ...] = BACKENDS, timeout_s: float = 120.0, *,
                  batch: int = 32, classifiers: Sequence[str] | None = None,
                  node_modules: Path = NODE_MODULES) -> dict[str, dict[str, Any]]:
    """Run the export's proof in headless Chromium on each of `backends`; {backend: RESULT}.

    `model_dir` holds model.json, its shards, proof.json and proof.bin (a staging folder will do).
    `classifiers` names the outputs whose argmax agreement counts; None reads them from
    metadata.json's `outputs` when it is there (outputs marked `"classifier": true` in proof.json
    count either way). `timeout_s` bounds each step (browser start, each backend's start, model
    load and proof).

    RESULT is the shared runner's (docs/export-format.md) plus "chromium" (the browser's version)
    and "tfjs" (the runtime's). Raises ExportError (one line) when Chromium or Playwright is
    missing, a file is missing, or a backend cannot start or run the model; a proof that runs but
    fails is a RESULT with "passed": false, not an exception.
    """
    model_dir = Path(model_dir)
    node_modules = Path(node_modules)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise ExportError(f"unknown browser backend(s) {unknown or '(none)'}; use {', '.join(BACKENDS)}")
    _check_folder(model_dir, node_modules)
    executable = find_chromium()
    if executable is None:
        raise ExportError("Chromium not found for the browser proof: install Debian's `chromium` "
                          "or set CHROMIUM_PATH")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ExportError("Playwright for Python is missing for the browser proof "
                          "(`pip install playwright`)") from None

    timeout_ms = int(timeout_s * 1000)
    wanted_classifiers = list(classifiers) if classifiers is not None else _classifiers(model_dir)

    def run_in_chromium() -> tuple[str, dict[str, Any]]:
        with sync_playwright() as playwright:
            args = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + WEBGL_ARGS
            browser = playwright.chromium.launch(executable_path=executable, args=args, timeout=timeout_ms)
            try:
                version = browser.version
                context = browser.new_context(service_workers="block")
                context.route("**/*", _route_handler(model_dir, node_modules))
                page = context.new_page()
                page.set_default_timeout(timeout_ms)
                page_errors: list[str] = []
                page.on("pageerror", lambda exc: page_errors.append(str(exc)))
                page.goto(f"{ORIGIN}/", wait_until="load")
                if not page.evaluate("() => typeof tf === 'object' && typeof tfjsProof === 'object'"):
                    raise ExportError(f"the proof page did not load TF.js or proof.js in Chromium {version}"
                                      + (f" ({page_errors[0]})" if page_errors else ""))
                outcome = page.evaluate(RUN_PROOF, {"backends": list(backends), "batch": batch,
                                                    "classifiers": wanted_classifiers,
                                                    "timeoutMs": timeout_ms})
            finally:
                browser.close()
        return version, outcome

    try:
        # Its own thread: Playwright's sync API will not start in a thread where another sync
        # Playwright (a test suite's, a notebook's) already runs its event loop.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            version, outcome = pool.submit(run_in_chromium).result()
    except PlaywrightError as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ExportError(f"headless Chromium failed during the browser proof: {first}") from None

    if outcome["errors"]:
        failed = "; ".join(f"{name}: {error}" for name, error in outcome["errors"].items())
        raise ExportError(f"the browser proof could not run in Chromium {version}: {failed}")
    return {name: {**outcome["results"][name], "chromium": version, "tfjs": outcome["tfjs"]}
            for name in backends}
