"""The parity proof in headless Chromium: TF.js on each browser backend (wasm, webgl, webgpu, cpu)
runs the proof bundled with an export (`proof.json` + `proof.bin`) through the shared runner
`export/proof.js`; `litert_proof` runs the same proof on `model.tflite` through LiteRT.js
(`export/litert-proof.js`). Each runtime can be timed at batch 1 after its proof.

No web server: Playwright answers every request of a fake origin from the export folder, the npm
runtimes in node_modules and the two runner files, with the cross-origin isolation headers the wasm
threads need. Playwright is imported only when a proof runs.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import gzip
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.chromium import WEBGPU_CHROMIUM_ARGS, find_chromium
from mnist_tfjs.contract import (
    ISOLATION_HEADERS,
    LITERT_IMPORT_MAP,
    LITERT_INT8_MODEL,
    LITERT_MODEL,
    LITERT_MODULE,
    LITERT_WASM_DIR,
    TFJS_BUNDLE,
    TFJS_PARTS,
    TFJS_WASM_BUNDLE,
    VENDOR_FILES,
)
from mnist_tfjs.npm_packages import NpmPackagesMissing, node_modules

from .errors import ExportError

BROWSER_BACKENDS = ("wasm", "webgl", "webgpu", "cpu")
LITERT_ACCELERATORS = ("wasm", "webgpu")
ORIGIN = "https://tfjs-proof.local"  # https: a secure context, so cross-origin isolation applies
PROOF_JS = Path(__file__).resolve().parent / "proof.js"
LITERT_PROOF_JS = Path(__file__).resolve().parent / "litert-proof.js"
HARNESS_JS = Path(__file__).resolve().parent / "chromium_harness.js"  # runProof, runLitert
TIMED_CALLS = 30  # batch-1 calls whose median is a runtime's ms per call
TIMING_BUDGET_S = 3.0  # at most this long per backend (at least 3 calls), after 2 warm-up calls
LITERT_STEP_TIMEOUT_S = 120.0  # each step of a LiteRT.js page: browser start, runtime start, model load
PROGRESS_PREFIX = "tfjs-proof-progress "

HEADERS = {**ISOLATION_HEADERS, "Cache-Control": "no-store"}
TYPES = {".js": "text/javascript", ".json": "application/json", ".wasm": "application/wasm",
         ".bin": "application/octet-stream", ".html": "text/html"}

HARNESS = f"""<!doctype html>
<meta charset="utf-8">
<title>TF.js proof</title>
<script src="/vendor/tfjs/{TFJS_BUNDLE}"></script>
<script src="/vendor/tfjs-backend-wasm/{TFJS_WASM_BUNDLE}"></script>
<script src="/vendor/tfjs-backend-webgpu/{TFJS_PARTS["tfjs-backend-webgpu"]}"></script>
<script src="/proof.js"></script>
<script src="/litert-proof.js"></script>
<script src="/chromium_harness.js"></script>
<script type="importmap">{json.dumps(LITERT_IMPORT_MAP)}</script>
"""

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
    allowed = name in ("model.json", LITERT_MODEL, LITERT_INT8_MODEL, "proof.json", "proof.bin",
                       "metadata.json") or (
        name.startswith("group") and name.endswith(".bin") and "/" not in name)
    path = model_dir / name
    return path if allowed and path.is_file() else None


def _resolve(folders: _Folders, url_path: str) -> Path | str | None:
    """The file (or the harness text) answering `url_path` on the fake origin, or None (404)."""
    if url_path in ("/", "/index.html"):
        return HARNESS
    if url_path == "/proof.js":
        return PROOF_JS
    if url_path == "/litert-proof.js":
        return LITERT_PROOF_JS
    if url_path == "/chromium_harness.js":
        return HARNESS_JS
    prefix, _, name = url_path.rpartition("/")
    vendor = VENDOR_FILES.get(prefix.removeprefix("/vendor/")) if prefix.startswith("/vendor/") else None
    if vendor is not None and name in vendor.files:
        return folders.node_modules / vendor.folder / name
    if prefix == "/model":
        return _model_file(folders.model, name)
    if prefix == "/bundle" and name in ("proof.json", "proof.bin"):
        return folders.bundle / name
    if prefix == "/bundle-int8" and name in ("proof.json", "proof.bin") and folders.int8_bundle is not None:
        return folders.int8_bundle / name
    return None


@dataclass(frozen=True)
class _Folders:
    """What the fake origin serves: the model, the proof bundle, the npm packages."""

    model: Path
    bundle: Path
    node_modules: Path
    int8_bundle: Path | None = None  # the int8 model's held-out samples (litert_proof)


# Playwright hands a fulfilled body to Chromium through the DevTools protocol, at a few MB a second
# on two busy cores: the 31 MB of 10,000 test digits took 25 s to arrive, 4 s gzip-compressed (to
# 3 MB). Chromium does not inflate a fulfilled body itself, so the header is our own.
BUNDLE_GZIP_LEVEL = 1


def _bundle_body(path: Path) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=BUNDLE_GZIP_LEVEL, mtime=0)


def _ranged(path: Path, range_header: str | None) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body answering a request for `path` with its Range header (one
    `bytes=start-end` range: what the harness asks for a large .tflite in), or the whole file."""
    size = path.stat().st_size
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header or "")
    if match is None:
        return 200, {}, path.read_bytes()
    start = int(match[1])
    end = min(int(match[2]) if match[2] else size - 1, size - 1)
    with path.open("rb") as file:
        file.seek(start)
        body = file.read(max(0, end - start + 1))
    return 206, {"Content-Range": f"bytes {start}-{end}/{size}"}, body


def _route_handler(folders: _Folders) -> Callable[[Any], None]:
    from urllib.parse import urlsplit

    def handle(route: Any) -> None:
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != ORIGIN:
            route.abort()  # nothing leaves the machine
            return
        target = _resolve(folders, url.path)
        if isinstance(target, str):
            route.fulfill(status=200, headers={**HEADERS, "Content-Type": TYPES[".html"]}, body=target)
        elif url.path.endswith("/proof.bin") and url.path.startswith("/bundle") and target is not None \
                and target.is_file():
            route.fulfill(status=200, headers={**HEADERS, "Content-Type": TYPES[".bin"],
                                               "X-Proof-Encoding": "gzip"}, body=_bundle_body(target))
        elif target is not None and target.is_file():
            content_type = TYPES.get(target.suffix, "application/octet-stream")
            status, headers, body = _ranged(target, route.request.headers.get("range"))
            route.fulfill(status=status, headers={**HEADERS, "Content-Type": content_type, **headers},
                          body=body)
        else:
            route.fulfill(status=404, headers=HEADERS, body="not found")

    return handle


def _check_folders(folders: _Folders, model_files: tuple[str, ...] = ("model.json",)) -> None:
    needed = [(folders.model, name) for name in model_files]
    for folder, name in [*needed, (folders.bundle, "proof.json"), (folders.bundle, "proof.bin")]:
        if not (folder / name).is_file():
            raise ExportError(f"no {name} in {folder}: the browser proof needs the model and its "
                              "proof bundle")
    for package, (folder, files) in VENDOR_FILES.items():
        missing = [name for name in files if not name.endswith(".map")
                   and not (folders.node_modules / folder / name).is_file()]
        if missing:
            raise ExportError(f"browser runtime missing ({package}: {missing[0]} in "
                              f"{folders.node_modules / folder}): run `npm ci`")
    for runner in (PROOF_JS, LITERT_PROOF_JS):
        if not runner.is_file():
            raise ExportError(f"the proof runner {runner} is missing")


def _check_backends(backends: tuple[str, ...]) -> None:
    unknown = [b for b in backends if b not in BROWSER_BACKENDS]
    if unknown or not backends:
        raise ExportError(f"unknown browser backend(s) {unknown or '(none)'}; "
                          f"use {', '.join(BROWSER_BACKENDS)}")


def _chromium_and_playwright() -> str:
    """Chromium's path, once Chromium and Playwright are known to be there (ExportError if not)."""
    executable = find_chromium()
    if executable is None:
        raise ExportError("Chromium not found for the browser proof: install Debian's `chromium` "
                          "or set CHROMIUM_PATH")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise ExportError("Playwright for Python is missing for the browser proof "
                          "(`pip install playwright`)") from None
    return executable


def _progress_listener(on_progress: Callable[[dict[str, Any]], None] | None) -> Callable[[Any], None]:
    def listen(message: Any) -> None:
        text = message.text
        if on_progress is not None and text.startswith(PROGRESS_PREFIX):
            with contextlib.suppress(ValueError):
                on_progress(json.loads(text[len(PROGRESS_PREFIX):]))

    return listen


def _run_in_chromium(executable: str, folders: _Folders, run: str, arguments: dict[str, Any],
                     on_progress: Callable[[dict[str, Any]], None] | None) -> tuple[str, dict[str, Any]]:
    """Open the harness on the fake origin and call its `proofHarness[run]` (chromium_harness.js) with
    `arguments`; (Chromium's version, its outcome)."""
    from playwright.sync_api import sync_playwright

    timeout_ms = arguments["timeoutMs"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=WEBGPU_CHROMIUM_ARGS,
                                             timeout=timeout_ms)
        try:
            version = browser.version
            context = browser.new_context(service_workers="block")
            context.route("**/*", _route_handler(folders))
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.on("console", _progress_listener(on_progress))
            page.goto(f"{ORIGIN}/", wait_until="load")
            if not page.evaluate("() => typeof tf === 'object' && typeof proofHarness === 'object'"):
                raise ExportError(f"the proof page did not load TF.js or its scripts in Chromium {version}"
                                  + (f" ({page_errors[0]})" if page_errors else ""))
            return version, page.evaluate(f"(arguments) => proofHarness.{run}(arguments)", arguments)
        finally:
            browser.close()


def prove_in_chromium(model_dir: Path, backends: tuple[str, ...] = BROWSER_BACKENDS,
                      timeout_s: float = 120.0, *, bundle_dir: Path | None = None,
                      budget_s: float | None = None, batch: int = 32,
                      classifiers: Sequence[str] | None = None, modules: Path | None = None,
                      timed: bool = False, on_progress: Callable[[dict[str, Any]], None] | None = None,
                      ) -> dict[str, dict[str, Any]]:
    """Run the proof in headless Chromium on each of `backends`; {backend: RESULT}.

    `model_dir` holds model.json and its shards (a staging folder will do); `bundle_dir` the proof
    bundle (proof.json + proof.bin; default: `model_dir`'s). Each backend compares samples for at
    most `budget_s` seconds (None: all of them). `classifiers` names the outputs whose argmax
    agreement counts; None reads them from metadata.json's `outputs` when it is there (outputs
    marked `"classifier": true` in proof.json count either way). `timeout_s` bounds each step
    (browser start, each backend's start, model load). `modules`: the node_modules folder with
    the TF.js runtime (default: the project's). `timed`: each backend that passed is then timed
    at batch 1 (`batch1_ms`, the median of up to TIMED_CALLS warm calls within TIMING_BUDGET_S, or
    its proof's own calls where those were too slow; not TF.js webgpu on a software adapter).

    RESULT is the shared runner's (docs/export-format.md) plus "chromium" (the browser's version)
    and "tfjs" (the runtime's); WebGPU's also names its "adapter" (vendor, architecture, software).
    WebGPU where the browser has no adapter is {"skipped": why} instead, and WebGPU that cannot
    run the model {"unavailable": why, "adapter": ...}: neither is offered by the pages. Raises
    ExportError (one line) when Chromium or Playwright is missing, a file is missing, or another
    backend cannot start or run the model; a proof that runs but fails is a RESULT with "passed":
    false, not an exception.
    """
    _check_backends(backends)
    folders = _folders(model_dir, bundle_dir, modules)
    _check_folders(folders)
    executable = _chromium_and_playwright()
    arguments = {"backends": list(backends), "batch": batch,
                 "budgetMs": 1000 * budget_s if budget_s else None,
                 "classifiers": list(classifiers) if classifiers is not None else _classifiers(folders.model),
                 "timeoutMs": int(timeout_s * 1000), "progressPrefix": PROGRESS_PREFIX,
                 "timeCalls": TIMED_CALLS if timed else 0, "timeBudgetMs": 1000 * TIMING_BUDGET_S}
    version, outcome = _in_own_thread(executable, folders, "runProof", arguments, on_progress)
    if outcome["errors"]:
        failed = "; ".join(f"{name}: {error}" for name, error in outcome["errors"].items())
        raise ExportError(f"the browser proof could not run in Chromium {version}: {failed}")
    skipped = {name: {"skipped": f"{reason} (headless Chromium {version})"}
               for name, reason in outcome["skipped"].items()}
    unavailable = {name: {"unavailable": f"TF.js {name} cannot run this model in Chromium {version}: {error}",
                          "adapter": outcome["adapter"]}
                   for name, error in outcome["unavailable"].items()}
    ran = {name: {**result, "chromium": version, "tfjs": outcome["tfjs"]}
           for name, result in outcome["results"].items()}
    return {name: skipped.get(name) or unavailable.get(name) or ran[name] for name in backends}


def node_values_in_chromium(model_dir: Path, bundle_dir: Path, nodes: list[str], backend: str,
                            timeout_s: float = 300.0) -> list[np.ndarray | None]:
    """The values TF.js computes in headless Chromium on `backend` at each of `nodes` (graph node
    names) for the samples of `bundle_dir` (None: a node TF.js could not fetch), for the locator."""
    _check_backends((backend,))
    folders = _folders(model_dir, bundle_dir, None)
    executable = _chromium_and_playwright()
    arguments = {"backend": backend, "nodes": nodes, "timeoutMs": int(timeout_s * 1000)}
    _, outcome = _in_own_thread(executable, folders, "fetchNodes", arguments, None)
    return [None if data is None else np.frombuffer(base64.b64decode(data), "<f4").reshape(shape)
            for shape, data in zip(outcome["shapes"], outcome["data"], strict=True)]


def _folders(model_dir: Path, bundle_dir: Path | None, modules: Path | None) -> _Folders:
    try:
        return _Folders(Path(model_dir), Path(bundle_dir or model_dir), Path(modules or node_modules()))
    except NpmPackagesMissing as exc:
        raise ExportError(str(exc)) from None


def _in_own_thread(executable: str, folders: _Folders, run: str, arguments: dict[str, Any],
                   on_progress: Callable[[dict[str, Any]], None] | None) -> tuple[str, dict[str, Any]]:
    """`_run_in_chromium` in a thread of its own: Playwright's sync API will not start in a thread
    where another sync Playwright (a test suite's, a notebook's) already runs its event loop."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(_run_in_chromium, executable, folders, run, arguments, on_progress).result()
    except PlaywrightError as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ExportError(f"headless Chromium failed during the browser proof: {first}") from None


@dataclass(frozen=True)
class LitertRun:
    """LiteRT.js in headless Chromium: its proof per accelerator, each with its batch-1 timing."""

    results: dict[str, dict[str, Any]]  # accelerator: RESULT (with batch1_ms, batch1_calls)
    errors: dict[str, str]  # accelerator: why LiteRT.js could not load or run the model
    skipped: dict[str, str]  # accelerator: why it was not tried (no WebGPU adapter)
    unavailable: dict[str, str]  # accelerator: why WebGPU cannot run this model (not offered there)
    chromium: str
    threads: bool = False  # LiteRT.js ran its threaded build (the page was cross-origin isolated)
    int8_results: dict[str, dict[str, Any]] = field(default_factory=dict)  # accelerator: RESULT with `values`
    int8_errors: dict[str, str] = field(default_factory=dict)
    int8_s: float = 0.0  # what the int8 model's proof and timing took in the page
    adapter: dict[str, Any] | None = None  # the browser's WebGPU adapter (None: it has none)

    @property
    def software_backends(self) -> tuple[str, ...]:
        """Backends whose timings are a software adapter's (WebGPU on SwiftShader): they say nothing of
        a GPU's speed, so they never decide which runtime to ship."""
        return ("webgpu",) if self.adapter and self.adapter.get("software") else ()


@dataclass(frozen=True)
class Int8Bundle:
    """The full-integer twin (model.int8.tflite) proven in a LiteRT.js page once the float model
    passed: its held-out bundle (thresholds: the int8 rules) and the time wasm may compare for."""

    bundle_dir: Path
    budget_s: float | None = None  # None: every held-out sample (a digit model's accuracy rule)


def litert_proof(model_dir: Path, accelerators: tuple[str, ...] = LITERT_ACCELERATORS, *,
                 bundle_dir: Path | None = None, budget_s: float | None = None,
                 classifiers: Sequence[str] | None = None, time_calls: int = TIMED_CALLS,
                 int8: Int8Bundle | None = None,
                 on_progress: Callable[[dict[str, Any]], None] | None = None) -> LitertRun:
    """Prove `model.tflite` in `model_dir` through LiteRT.js in headless Chromium, and time it at
    batch 1.

    Each accelerator compares samples one per call for at most `budget_s` seconds (None: all), then
    makes `time_calls` warm calls (at most TIMING_BUDGET_S seconds, at least 3) whose median is its
    `batch1_ms` (or, where those calls were too slow, its proof's own). An accelerator this
    browser lacks (WebGPU in headless Chromium without a GPU) is in `skipped`, one LiteRT.js cannot
    compile or run the model on in `errors`: neither raises. With `int8`, once `model.tflite`
    passed, its full-integer twin (model.int8.tflite) is proven in the same page on that bundle,
    judged there by the int8 rules its thresholds carry (wasm for at most `int8.budget_s`, WebGPU
    for `budget_s`; its outputs kept, for the accuracy rule judged in Python) and timed:
    `int8_results`, `int8_errors`. Each step (browser start, model load) may take 120 s. Raises
    ExportError (one line) when Chromium, Playwright, a runtime file or LiteRT.js itself is missing
    or will not start.
    """
    unknown = [a for a in accelerators if a not in LITERT_ACCELERATORS]
    if unknown or not accelerators:
        raise ExportError(f"unknown LiteRT.js accelerator(s) {unknown or '(none)'}; "
                          f"use {', '.join(LITERT_ACCELERATORS)}")
    folders = _folders(model_dir, bundle_dir, None)
    if int8 is not None:
        folders = replace(folders, int8_bundle=Path(int8.bundle_dir))
        _check_folders(replace(folders, bundle=Path(int8.bundle_dir)), (LITERT_INT8_MODEL,))
    _check_folders(folders, (LITERT_MODEL,))
    executable = _chromium_and_playwright()
    arguments = {"accelerators": list(accelerators),
                 "budgetMs": 1000 * budget_s if budget_s else None,
                 "classifiers": list(classifiers) if classifiers is not None else _classifiers(folders.model),
                 "timeoutMs": int(LITERT_STEP_TIMEOUT_S * 1000), "progressPrefix": PROGRESS_PREFIX,
                 "timeCalls": time_calls, "timeBudgetMs": 1000 * TIMING_BUDGET_S, "module": LITERT_MODULE,
                 "wasmDir": LITERT_WASM_DIR, "modelUrl": f"/model/{LITERT_MODEL}", "keepOutputs": False,
                 "int8Job": None if int8 is None else {
                     "modelUrl": f"/model/{LITERT_INT8_MODEL}",
                     "budgetMs": 1000 * int8.budget_s if int8.budget_s else None}}
    version, outcome = _in_own_thread(executable, folders, "runLitert", arguments, on_progress)
    int8 = outcome["int8"] or {"results": {}, "errors": {}, "ms": 0.0}
    skipped = {name: f"{reason} (headless Chromium {version})" for name, reason in outcome["skipped"].items()}
    results = {name: {**result, "chromium": version} for name, result in outcome["results"].items()}
    return LitertRun(results=results, errors=dict(outcome["errors"]), skipped=skipped,
                     unavailable=dict(outcome["unavailable"]),
                     chromium=version, threads=bool(outcome["threads"]),
                     int8_results={name: {**result, "chromium": version}
                                   for name, result in int8["results"].items()},
                     int8_errors=dict(int8["errors"]), int8_s=float(int8["ms"]) / 1000,
                     adapter=outcome.get("adapter"))
