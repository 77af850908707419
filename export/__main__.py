"""`python -m export`: any Keras 3 model → proven TF.js graph model (and with --litert, where it
converts and proves, a LiteRT.js `model.tflite` beside it), published atomically.

Exit codes: 0 published; 1 the parity proof failed (nothing published); 2 a model, samples,
usage or environment problem (nothing published); 3 the TF.js model is published but the
`model.tflite` asked for with --litert (or `model.int8.tflite` with --litert int8) is not (refused,
unavailable, unproven); 130 interrupted
(nothing published).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mnist_tfjs.export_files import LITERT_INT8_MODEL, LITERT_MODEL, METADATA_JSON
from mnist_tfjs.model_kinds import MNIST_KIND
from mnist_tfjs.paths import TRAINED_MODEL, WEB_MODEL
from mnist_tfjs.quiet import quiet_tensorflow

from .errors import ExportError
from .litert import PUBLISHED
from .options import ExportOptions
from .pipeline import export_model, preflight
from .report import format_table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every option documented in --help."""
    parser = argparse.ArgumentParser(
        prog="python -m export",
        description="Convert a Keras 3 model to a TensorFlow.js graph model, prove in TF.js (Node.js wasm "
                    "and cpu, and headless Chromium when found) that it computes what Keras computes, and "
                    "publish it atomically with metadata.json and the proof samples; with Chromium, also "
                    "a model.tflite for LiteRT.js, proven the same way, and which runtime to ship.",
    )
    parser.add_argument("--model", type=Path, default=TRAINED_MODEL,
                        help="the .keras file to export (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=WEB_MODEL,
                        help="folder to publish: model.json, weight shards, metadata.json, proof.json, "
                             "proof.bin, model.tflite when proven (default: %(default)s)")
    ExportOptions.add_arguments(parser)
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(f"export: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code.

    Progress lines (which step, which backend, samples done, time left) go to stderr when it is a
    terminal or with --verbose; piped or captured runs stay quiet.
    """
    args = parse_args(argv)
    options = ExportOptions.from_arguments(args)
    try:
        preflight(args.model, args.out, options)  # fast, before TF loads
        quiet_tensorflow(args.verbose)
        metadata = export_model(args.model, args.out, **vars(options),
                                log=_log if args.verbose or sys.stderr.isatty() else None)
    except ExportError as exc:
        if exc.metadata is not None:
            print(format_table(exc.metadata))
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"\ninterrupted; nothing published, {args.out} is unchanged", file=sys.stderr)
        return 130
    print(format_table(metadata))
    litert = metadata.get("litert") or {}
    int8 = metadata.get("litert_int8") or {}
    also = f" and {LITERT_MODEL} for LiteRT.js" if litert.get("status") in PUBLISHED else ""
    also += " (and its int8 twin)" if int8.get("status") in PUBLISHED else ""
    if metadata["verified"]:
        print(f"published a verified TF.js graph model{also} in {args.out}/")
    else:
        print(f"published an UNVERIFIED TF.js graph model{also} in {args.out}/ (see {METADATA_JSON})")
    code = max(_litert_verdict(litert), _litert_verdict(int8, LITERT_INT8_MODEL))
    if metadata["kind"] == MNIST_KIND:
        default_out = WEB_MODEL
        where = "" if args.out.resolve() == default_out.resolve() else f" --model-dir {args.out}"
        print(f"next: python -m web{where}")
    return code


def _litert_verdict(litert: dict[str, Any], name: str = LITERT_MODEL) -> int:
    """The exit code: 3, with the reason on stderr, when the model.tflite asked for was left out."""
    status = litert.get("status")
    if status in (*PUBLISHED, "off", None):
        return 0
    print(f"error: {name} not published ({status}): {litert.get('reason')}", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
