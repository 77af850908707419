"""`python -m benchmarks`: run the benchmark suite, print the figures, write them under docs/results/."""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DEFAULT_MODEL,
    MODEL_SECTIONS,
    NODE_SECTIONS,
    OPT_IN_SECTIONS,
    PAGE_SECTIONS,
    SECTIONS,
    Bench,
    BenchError,
    machine_info,
    say,
    shown_command,
    shown_path,
    utc_now,
)
from mnist_tfjs.mnist import DataError
from mnist_tfjs.paths import NODE_MODULES, REPO_ROOT

MODULES = {"training": "benchmarks.training", "export": "benchmarks.export_bench",
           "browser": "benchmarks.browser", "robustness": "benchmarks.robustness",
           "server": "benchmarks.server", "zoo": "benchmarks.zoo", "apps": "benchmarks.apps",
           "runtimes": "benchmarks.runtimes", "gpu": "benchmarks.gpu"}
DEFAULT_SECTIONS = tuple(name for name in SECTIONS if name not in OPT_IN_SECTIONS)
SMOKE_OUT = REPO_ROOT / "test-artifacts" / "bench-smoke"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark suite: training, export, browser latency, drawing robustness, server load, "
                    "the model zoo, application-size networks, TF.js beside LiteRT.js. "
                    "Prints the figures and writes benchmarks.json, benchmarks.md and plots.")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny settings for every section (seconds each): proves the suite works")
    parser.add_argument("--only", default=",".join(DEFAULT_SECTIONS), metavar="LIST",
                        help=f"comma-separated sections to run (default: {','.join(DEFAULT_SECTIONS)}; "
                             "gpu: training per preset where the accelerator is, on the backend "
                             "KERAS_BACKEND names, JAX by default; needs neither TensorFlow nor Node.js)")
    parser.add_argument("--model", type=Path, default=None,
                        help="the .keras model for the export, browser, robustness and server sections "
                             "(default: artifacts/model.keras, else the quick-preset model the training "
                             "section trains)")
    parser.add_argument("--load-tool", choices=("auto", "wrk", "python"), default="auto",
                        help="the server section's load generator (default: wrk when installed, else Python)")
    parser.add_argument("--digits", type=_positive_int, default=None,
                        help="MNIST test digits the robustness section draws per drawing family and "
                             "pointer type (default: 200; 10 with --smoke; at most 10,000; above 1,250 "
                             "per family the families share digits)")
    parser.add_argument("--catalogue", nargs="?", const="all", default=None, metavar="NAMES",
                        help="the apps section runs the keras.applications catalogue (every architecture "
                             "up to 30M parameters, pooled features; long: minutes per network) instead "
                             "of its default networks; NAMES: a comma-separated subset, e.g. "
                             "MobileNetV3Large,ConvNeXtTiny")
    parser.add_argument("--hub", nargs="?", const="all", default=None, metavar="NAMES",
                        help="the apps section runs keras-hub's backbones (every *Backbone class at a small "
                             "random configuration, at most 10M parameters; long: about a minute per "
                             "backbone) instead of its default networks; NAMES: a comma-separated subset, "
                             "e.g. BertBackbone,GPT2Backbone")
    parser.add_argument("--out", type=Path, default=None,
                        help="where results go (default: docs/results/; "
                             "with --smoke: test-artifacts/bench-smoke/)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown or not chosen:
        parser.error(f"--only: unknown section(s) {', '.join(unknown) or '(none given)'}; "
                     f"choose from {','.join(SECTIONS)}")
    args.sections = [name for name in SECTIONS if name in chosen]
    if args.out is None:
        args.out = SMOKE_OUT if args.smoke else REPO_ROOT / "docs" / "results"
    return args


def _catalogue(names: str | None) -> tuple[str, ...] | None:
    """--catalogue's networks (None: not asked for); BenchError for a name not in it."""
    from benchmarks.app_models import CATALOGUE_NAMES

    if names is None:
        return None
    chosen = CATALOGUE_NAMES if names == "all" else tuple(n.strip() for n in names.split(",") if n.strip())
    unknown = [name for name in chosen if name not in CATALOGUE_NAMES]
    if unknown or not chosen:
        raise BenchError(f"--catalogue: {', '.join(unknown) or '(none given)'} not in the catalogue; "
                         f"choose from {','.join(CATALOGUE_NAMES)}")
    return chosen


def _hub(names: str | None) -> tuple[str, ...] | None:
    """--hub's backbones (None: not asked for; (): every one); BenchError without keras-hub or for a
    name that is not a keras-hub backbone."""
    if names is None:
        return None
    try:
        from benchmarks.app_models import hub_backbone_names

        known = hub_backbone_names()
    except ImportError:
        raise BenchError("--hub needs keras-hub: pip install -e '.[test]'") from None
    chosen = () if names == "all" else tuple(n.strip() for n in names.split(",") if n.strip())
    unknown = [name for name in chosen if name not in known]
    if unknown or (names != "all" and not chosen):
        raise BenchError(f"--hub: {', '.join(unknown) or '(none given)'} not a keras-hub backbone; "
                         f"choose from {','.join(known)}")
    return chosen


def _positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 10000, got {text}")
    return value


def resolve_model(args: argparse.Namespace) -> tuple[Path | None, str]:
    """The model to benchmark and where it came from; BenchError when a needed one is missing."""
    # --smoke's runtimes section times small networks it builds itself, not the trained model
    needs_model = any(name in MODEL_SECTIONS and not (args.smoke and name == "runtimes")
                      for name in args.sections)
    if not needs_model:
        return None, ""
    if args.model is not None:
        path, source = args.model, f"--model {shown_path(args.model)}"
    elif DEFAULT_MODEL.is_file():
        path, source = DEFAULT_MODEL, str(DEFAULT_MODEL.relative_to(REPO_ROOT))
    elif "training" in args.sections:
        return None, ""
    else:
        raise BenchError("no model at artifacts/model.keras: train one with `python -m train` "
                         "(or pass --model, or include the training section)")
    from export import ExportError, check_model_file

    try:
        check_model_file(path)
    except ExportError as exc:
        raise BenchError(str(exc)) from None
    return path, source


def preflight(args: argparse.Namespace) -> None:
    """Tools the chosen sections need, checked before anything slow starts."""
    if args.load_tool == "wrk" and "server" in args.sections and shutil.which("wrk") is None:
        raise BenchError("--load-tool wrk: wrk is not installed (`apt-get install wrk`)")
    if any(name in NODE_SECTIONS for name in args.sections):
        if shutil.which("node") is None:
            raise BenchError("Node.js not found (`node` on PATH): the export check and the page need it")
        if not (NODE_MODULES / "@tensorflow" / "tfjs").is_dir():
            raise BenchError("npm packages missing: run `npm ci` (or `make setup`)")
    if any(name in PAGE_SECTIONS for name in args.sections):
        from harness.page_driver import ChromiumMissing, check_chromium

        try:
            check_chromium()
        except ChromiumMissing as exc:
            raise BenchError(f"{exc}, or leave out the browser and robustness sections with --only") from None
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            raise BenchError("Playwright for Python missing: `pip install -e '.[test]'` "
                             "(or `make setup`)") from None


def run_sections(bench: Bench, sections: list[str], save: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """Run each section in order, saving the results after each; returns {section: figures}."""
    results: dict[str, Any] = {}
    for name in sections:
        started = time.perf_counter()
        figures = importlib.import_module(MODULES[name]).run(bench)
        seconds = time.perf_counter() - started
        results[name] = {**figures, "section_seconds": round(seconds, 1), "measured_at": utc_now()}
        say(f"  ({name}: {seconds:.0f} s)")
        save(results)
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        model, source = resolve_model(args)
        preflight(args)
        from benchmarks import report

        machine = machine_info()
        say(f"benchmarks{' (smoke)' if args.smoke else ''}: {', '.join(args.sections)} on {machine['cpu']} "
            f"({machine['logical_cpus']} logical CPUs); results to {args.out}/")
        previous = report.load_json(args.out / report.JSON_NAME)
        command = shown_command(sys.argv[1:] if argv is None else argv)
        written: list[Path] = []

        def save(sections: dict[str, Any]) -> None:
            results = {"date": utc_now(), "smoke": args.smoke, "command": command, "machine": machine,
                       "sections": sections, "total_seconds": round(time.perf_counter() - started, 1)}
            written[:] = report.write_outputs(report.merge_results(previous, results), args.out)

        with tempfile.TemporaryDirectory(prefix="mnist-bench-") as work:
            bench = Bench(smoke=args.smoke, out=args.out, work=Path(work), model=model, model_source=source,
                          load_tool=args.load_tool, robustness_digits=args.digits,
                          catalogue=_catalogue(args.catalogue), hub=_hub(args.hub))
            run_sections(bench, args.sections, save)
    except (BenchError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted; sections already finished are in {args.out}/", file=sys.stderr)
        return 130
    say(f"\ndone in {time.perf_counter() - started:.0f} s; wrote {', '.join(str(p) for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
