"""`python -m web`: serve the draw-a-digit page (MNIST exports) or the model page (generic exports)
with waitress (a production WSGI server)."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import webbrowser
from pathlib import Path

from mnist_tfjs.export_files import MODEL_JSON
from mnist_tfjs.js_runtimes import VENDOR_FILES
from mnist_tfjs.npm_packages import NpmPackagesMissing

from .app import DEFAULT_MODEL_DIR, NATIVE_MODEL_NAME, create_app
from .compression import precompress_in_background, runtime_files
from .export_metadata import GENERIC_KIND, kind, read_metadata
from .settings import WebSettings
from .settings import settings as settings_of


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: model folder, address, --open, --no-native."""
    parser = argparse.ArgumentParser(
        prog="python -m web",
        description="Serve the draw-a-digit page (MNIST exports) or the model page (any other export); "
                    "the model runs in the browser with TF.js.",
    )
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR,
                        help="exported TF.js graph model folder (default: artifacts/web_model)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: 127.0.0.1; 0.0.0.0 exposes it to the network)")
    parser.add_argument("--port", type=int, default=5000, help="port (default: 5000; 0 picks a free one)")
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")
    parser.add_argument("--no-native", action="store_true",
                        help="static files only: no /api/predict with the native Keras model")
    parser.add_argument("--native-model", type=Path, default=None,
                        help=f"the .keras file behind /api/predict (default: {NATIVE_MODEL_NAME} "
                             "in the parent folder of --model-dir)")
    parser.add_argument("--threads", type=int, default=4, help="waitress worker threads (default: 4)")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow and waitress logs")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a port number (0-65535)")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def _notes(args: argparse.Namespace, app_settings: WebSettings, npm_missing: str | None) -> list[str]:
    """What the console says before serving: the model, the npm packages and the native check."""
    notes = []
    model_dir = app_settings.model_dir
    if not (model_dir / MODEL_JSON).is_file():
        notes.append(f"no exported model in {model_dir}: run `python -m train` then `python -m export`"
                     " (the page explains this too)")
    if npm_missing is not None:
        notes.append(f"npm packages missing: {npm_missing}")
    if args.no_native:
        notes.append("native check off (--no-native)")
    elif app_settings.native is None:
        notes.append(f"native check off: no {NATIVE_MODEL_NAME} in {model_dir.parent}")
    else:
        notes.append(f"native check: {app_settings.native.path} (loading in the background)")
    return notes


def _npm_packages_missing(app_settings: WebSettings) -> str | None:
    """Why the npm packages the pages load (TF.js, LiteRT.js) cannot be served, or None when they can.

    Resolves them now (installing them on first use) rather than on the first page load.
    """
    try:
        folder = app_settings.node_modules
    except NpmPackagesMissing as exc:
        return str(exc)
    for spec in VENDOR_FILES.values():
        if not (folder / spec.folder).is_dir():
            return f"no {folder / spec.folder}: run `npm ci`"
    return None


def serve(args: argparse.Namespace) -> None:
    """Create the app, bind the socket, print the URL and serve until Ctrl-C."""
    from waitress import create_server

    if args.model_dir.exists() and not args.model_dir.is_dir():
        raise CliError(f"--model-dir {args.model_dir} is a file, expected the exported model folder")
    if args.native_model is not None and not args.native_model.is_file():
        raise CliError(f"--native-model {args.native_model} does not exist")
    if args.native_model is not None and args.no_native:
        raise CliError("--native-model and --no-native contradict each other; pass one")

    app = create_app(args.model_dir, native=not args.no_native, native_model_path=args.native_model)
    settings = settings_of(app)
    try:
        server = create_server(app, host=args.host, port=args.port, threads=args.threads,
                               ident="mnist-tfjs")
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc});"
                       " pass another --port or --host") from None

    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{server.effective_port}/"
    if settings.native is not None:
        settings.native.quiet = not args.verbose
        settings.native.load_in_background()
    npm_missing = _npm_packages_missing(settings)
    for note in _notes(args, settings, npm_missing):
        print(f"  {note}")
    if npm_missing is None:
        precompress_in_background(app, runtime_files(settings.node_modules))
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"  listening on {args.host}: other machines can reach this server")
    page = "model page" if kind(read_metadata(settings.model_dir)) == GENERIC_KIND else "draw-a-digit page"
    print(f"Serving the {page} on {url}  (Ctrl-C to stop)", flush=True)
    if args.open:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    if not args.verbose:
        logging.getLogger("waitress").setLevel(logging.ERROR)
    try:
        serve(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
