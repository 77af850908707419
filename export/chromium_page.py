"""The exporter's page in headless Chromium: a fake origin that serves the export folder, the proof
bundle, the npm runtimes and the runner scripts, and one call of a harness function
(export/chromium_harness.js) in it. The TF.js proof (export/chromium_proof.py) and LiteRT.js' proof
(export/litert_proof.py) each run in such a page.

No web server: Playwright answers every request of the fake origin from those folders, with the
cross-origin isolation headers the wasm threads need. Playwright is imported only when a page runs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gzip
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_tfjs.chromium import WEBGPU_CHROMIUM_ARGS, find_chromium
from mnist_tfjs.export_files import (
    METADATA_JSON,
    MODEL_JSON,
    NAMED_FILES,
    PROOF_BIN,
    PROOF_JSON,
    weight_shards,
)
from mnist_tfjs.js_runtimes import (
    ISOLATION_HEADERS,
    LITERT_IMPORT_MAP,
    TFJS_BUNDLE,
    TFJS_PARTS,
    TFJS_WASM_BUNDLE,
    VENDOR_FILES,
)
from mnist_tfjs.npm_packages import NpmPackagesMissing, node_modules

from .errors import ExportError

ORIGIN = "https://tfjs-proof.local"  # https: a secure context, so cross-origin isolation applies
PROOF_JS = Path(__file__).resolve().parent / "proof.js"
LITERT_PROOF_JS = Path(__file__).resolve().parent / "litert-proof.js"
HARNESS_JS = Path(__file__).resolve().parent / "chromium_harness.js"  # runProof, runLitert, fetchNodes
TIMED_CALLS = 30  # batch-1 calls whose median is a runtime's ms per call
TIMING_BUDGET_S = 3.0  # at most this long per backend (at least 3 calls), after 2 warm-up calls
PROGRESS_PREFIX = "tfjs-proof-progress "

# Where the page finds each folder's files: the export, the proof bundle, the int8 model's held-out
# bundle (export/litert_proof.py).
MODEL_PATH = "/model"
BUNDLE_PATH = "/bundle"
INT8_BUNDLE_PATH = "/bundle-int8"

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

# Playwright hands a fulfilled body to Chromium through the DevTools protocol, at a few MB a second
# on two busy cores: the 31 MB of 10,000 test digits took 25 s to arrive, 4 s gzip-compressed (to
# 3 MB). Chromium does not inflate a fulfilled body itself, so the header is our own.
BUNDLE_GZIP_LEVEL = 1


@dataclass(frozen=True)
class ServedFolders:
    """What the fake origin serves: the model, the proof bundle, the npm packages."""

    model: Path
    bundle: Path
    node_modules: Path
    int8_bundle: Path | None = None  # the int8 model's held-out samples (export/litert_proof.py)


def served_folders(model_dir: Path, bundle_dir: Path | None, modules: Path | None) -> ServedFolders:
    """The folders a page serves: the export, its proof bundle (default: the export's own) and the
    npm packages (default: the project's); ExportError when those are not installed."""
    try:
        return ServedFolders(Path(model_dir), Path(bundle_dir or model_dir), Path(modules or node_modules()))
    except NpmPackagesMissing as exc:
        raise ExportError(str(exc)) from None


def model_url(name: str) -> str:
    """Where the page fetches the export's file `name`."""
    return f"{MODEL_PATH}/{name}"


def bundle_urls(path: str = BUNDLE_PATH) -> dict[str, str]:
    """Where the page fetches a proof bundle's two files, as the harness takes them: {json, bin}."""
    return {"json": f"{path}/{PROOF_JSON}", "bin": f"{path}/{PROOF_BIN}"}


def marked_classifiers(model_dir: Path) -> list[str]:
    """Output names marked `classifier` in the export's metadata.json (none when it is absent or
    unreadable)."""
    try:
        metadata = json.loads((model_dir / METADATA_JSON).read_text())
    except (OSError, ValueError):
        return []
    outputs = metadata.get("outputs") if isinstance(metadata, dict) else None
    return [o["name"] for o in outputs or [] if isinstance(o, dict) and o.get("classifier") and "name" in o]


def runner_arguments(folders: ServedFolders, budget_s: float | None, classifiers: Sequence[str] | None,
                     time_calls: int, timeout_s: float) -> dict[str, Any]:
    """The arguments every proof in the page takes (chromium_harness.js): each backend compares samples
    of the bundle for at most `budget_s` seconds (None: all), judging the argmax agreement of
    `classifiers` (None: those metadata.json marks), then makes `time_calls` timed calls at batch 1;
    each step may take `timeout_s`."""
    judged = list(classifiers) if classifiers is not None else marked_classifiers(folders.model)
    return {"budgetMs": 1000 * budget_s if budget_s else None, "classifiers": judged,
            "timeoutMs": int(timeout_s * 1000), "progressPrefix": PROGRESS_PREFIX,
            "timeCalls": time_calls, "timeBudgetMs": 1000 * TIMING_BUDGET_S, "bundle": bundle_urls()}


def check_folders(folders: ServedFolders, model_files: tuple[str, ...] = (MODEL_JSON,)) -> None:
    """ExportError (one line) unless the page has what it needs: `model_files` in the export, the
    proof bundle, the npm runtimes and the runner scripts."""
    needed = [(folders.model, name) for name in model_files]
    for folder, name in [*needed, (folders.bundle, PROOF_JSON), (folders.bundle, PROOF_BIN)]:
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


def run_harness(folders: ServedFolders, run: str, arguments: dict[str, Any],
                on_progress: Callable[[dict[str, Any]], None] | None) -> tuple[str, dict[str, Any]]:
    """Open the page on the fake origin in headless Chromium and call its `proofHarness[run]`
    (chromium_harness.js) with `arguments`; (Chromium's version, its outcome). `on_progress` hears
    the page's progress lines. Raises ExportError (one line) when Chromium or Playwright is missing,
    or Chromium fails."""
    executable = _chromium_and_playwright()
    return _in_own_thread(executable, folders, run, arguments, on_progress)


def _model_names(model_dir: Path) -> frozenset[str]:
    """The files the page may fetch from the export folder: those an export names, and the weight
    shards its model.json lists."""
    try:
        shards = weight_shards(model_dir) if (model_dir / MODEL_JSON).is_file() else []
    except (OSError, ValueError, AttributeError):
        shards = []  # an unreadable model.json: the page's own load says what is wrong
    return frozenset((*NAMED_FILES, *(name for name in shards if "/" not in name)))


def _resolve(folders: ServedFolders, model_names: frozenset[str], url_path: str) -> Path | str | None:
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
    if prefix == MODEL_PATH and name in model_names:
        return folders.model / name
    bundle = {BUNDLE_PATH: folders.bundle, INT8_BUNDLE_PATH: folders.int8_bundle}.get(prefix)
    if bundle is not None and name in (PROOF_JSON, PROOF_BIN):
        return bundle / name
    return None


def _is_bundle_arrays(url_path: str) -> bool:
    """A proof bundle's arrays (proof.bin), which go to the page compressed."""
    prefix, _, name = url_path.rpartition("/")
    return name == PROOF_BIN and prefix in (BUNDLE_PATH, INT8_BUNDLE_PATH)


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


def _route_handler(folders: ServedFolders) -> Callable[[Any], None]:
    from urllib.parse import urlsplit

    model_names = _model_names(folders.model)

    def handle(route: Any) -> None:
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != ORIGIN:
            route.abort()  # nothing leaves the machine
            return
        target = _resolve(folders, model_names, url.path)
        if isinstance(target, str):
            route.fulfill(status=200, headers={**HEADERS, "Content-Type": TYPES[".html"]}, body=target)
        elif target is not None and target.is_file() and _is_bundle_arrays(url.path):
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


def _run_in_chromium(executable: str, folders: ServedFolders, run: str, arguments: dict[str, Any],
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


def _in_own_thread(executable: str, folders: ServedFolders, run: str, arguments: dict[str, Any],
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
