"""Which runtime to ship: per runtime and precision, what a page downloads, what a call costs and
what the precision costs in accuracy, and after how many calls per page visit the bigger download
pays for itself (metadata.json's `runtimes` block).

A visit that makes n calls costs download_bytes · 8 / speed + n · ms_per_call on a runtime; the
network speed is an assumption, named in the block.
"""

from __future__ import annotations

import functools
import gzip
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_tfjs.js_runtimes import RUNTIME_FILES, VENDOR_FILES

# Lighthouse's default mobile throttling, the speed most page-weight advice is judged at.
NETWORK = {"name": "Lighthouse's mobile throttling (\"Slow 4G\")", "mbit_per_s": 1.6384}
GZIP_LEVEL = 6  # what web servers use by default
COMPRESSION = f"gzip -{GZIP_LEVEL}"
NAMES = {"tfjs": "TF.js", "litert": "LiteRT.js", "litert_int8": "LiteRT.js int8"}


@functools.lru_cache(maxsize=64)
def _gzip_size(path: Path, mtime_ns: int) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=GZIP_LEVEL, mtime=0))


def sizes(paths: Iterable[Path]) -> tuple[int, int]:
    """(bytes, gzip bytes) of the files together."""
    raw = packed = 0
    for path in paths:
        stat = path.stat()
        raw += stat.st_size
        packed += _gzip_size(path, stat.st_mtime_ns)
    return raw, packed


def runtime_paths(runtime: str, node_modules: Path) -> list[Path]:
    """The files a page downloads to run `runtime` (mnist_tfjs.js_runtimes.RUNTIME_FILES)."""
    return [node_modules / VENDOR_FILES[package].folder / name for package, name in RUNTIME_FILES[runtime]]


@dataclass(frozen=True)
class RuntimeFigures:
    """One runtime as a page meets it."""

    runtime_bytes: int
    runtime_gzip_bytes: int
    model_bytes: int
    model_gzip_bytes: int
    ms_per_call: Mapping[str, float]  # backend: median ms of a warm batch-1 call
    calls: Mapping[str, int]  # backend: how many calls its median is of
    files: tuple[str, ...] = ()
    precision: str = "float32"  # float32, float16 weights, uint8 weights, int8 (full integer)
    accuracy: Mapping[str, Any] | None = None  # its cost against Keras, as its proof measured it
    software: tuple[str, ...] = ()  # backends timed on a software adapter: shown, never advised

    @property
    def best(self) -> str:
        """The fastest backend among those whose timings mean something for a visitor's machine."""
        counted = [b for b in self.ms_per_call if b not in self.software] or list(self.ms_per_call)
        return min(counted, key=lambda backend: self.ms_per_call[backend])

    @property
    def download_gzip_bytes(self) -> int:
        return self.runtime_gzip_bytes + self.model_gzip_bytes

    def as_json(self) -> dict[str, Any]:
        return {"runtime_files": list(self.files), "runtime_bytes": self.runtime_bytes,
                "runtime_gzip_bytes": self.runtime_gzip_bytes, "model_bytes": self.model_bytes,
                "model_gzip_bytes": self.model_gzip_bytes, "ms_per_call": dict(self.ms_per_call),
                "calls": dict(self.calls), "best": self.best, "software_adapter": list(self.software),
                "precision": self.precision,
                "accuracy": dict(self.accuracy) if self.accuracy is not None else None,
                "accuracy_text": cost_text(self.accuracy)}


def cost_text(accuracy: Mapping[str, Any] | None) -> str | None:
    """What a precision costs, in words: agreement with Keras, accuracy change, error over spread."""
    if not accuracy:
        return None
    parts = []
    if accuracy.get("outputs"):  # an int8 proof on held-out samples
        for name, figures in accuracy["outputs"].items():
            if "agreement" in figures:
                ties = figures.get("ties") or 0
                tied = f" (+{ties:,} ties within one int8 step)" if ties else ""
                parts.append(f"{name} argmax agrees with Keras on {100 * figures['agreement']:.2f} %{tied}")
            elif "rms_error_of_spread" in figures:
                parts.append(f"{name} RMS error {figures['rms_error_of_spread']:.3f} of its spread")
        if accuracy.get("accuracy_change_pp") is not None:
            parts.append(f"test accuracy {accuracy['accuracy_change_pp']:+.2f} pp")
        return f"{', '.join(parts)} ({accuracy.get('samples', 0):,} held-out samples)"
    if accuracy.get("accuracy_change_pp") is not None:
        parts.append(f"test accuracy {accuracy['accuracy_change_pp']:+.2f} pp")
    if accuracy.get("max_relative_diff") is not None:
        parts.append(f"max |Δ| {accuracy['max_relative_diff']:.1e} of scale")
    if accuracy.get("agreement") is not None:
        parts.append(f"argmax agreement {100 * accuracy['agreement']:.2f} %")
    return ", ".join(parts) or None


def download_s(gzip_bytes: int, mbit_per_s: float) -> float:
    """Seconds to download `gzip_bytes` at `mbit_per_s` (10^6 bits a second)."""
    return gzip_bytes * 8 / (mbit_per_s * 1e6)


def break_even_calls(download_gap_s: float, saved_ms_per_call: float) -> int:
    """The fewest calls per visit at which a download `download_gap_s` bigger but `saved_ms_per_call`
    faster runtime costs less: the smallest n with n · saved > gap."""
    if saved_ms_per_call <= 0:
        raise ValueError("the runtime with the bigger download must be the faster one")
    return max(1, math.floor(download_gap_s * 1000 / saved_ms_per_call) + 1)


def advice(figures: Mapping[str, RuntimeFigures],
           mbit_per_s: float = NETWORK["mbit_per_s"]) -> dict[str, Any]:
    """First answer, fastest call, and the break-even between them (metadata.runtimes.advice)."""
    downloads = {name: download_s(f.download_gzip_bytes, mbit_per_s) for name, f in figures.items()}
    calls = {name: f.ms_per_call[f.best] for name, f in figures.items()}
    first = min(figures, key=lambda name: (downloads[name], calls[name]))
    fastest = min(figures, key=lambda name: (calls[name], downloads[name]))

    def label(name: str) -> str:
        return f"{NAMES.get(name, name)} ({figures[name].best})"

    def costs(*names: str) -> str:
        """The accuracy cost of the quantized ones among `names` (float ones match Keras' proof)."""
        notes = [f" {NAMES.get(name, name)} costs: {cost_text(figures[name].accuracy)}." for name in names
                 if figures[name].precision == "int8" and cost_text(figures[name].accuracy)]
        return "".join(notes)

    speed = f"{mbit_per_s:g} Mbit/s"
    if first == fastest:
        return {"first_answer": first, "fastest": fastest, "download_gap_s": 0.0, "saved_ms_per_call": 0.0,
                "break_even_calls": None, "ship": first,
                "text": f"{label(first)} is both the smaller download at {speed} and the faster call "
                        f"({calls[first]:.3g} ms): ship it.{costs(first)}"}
    gap, saved = downloads[fastest] - downloads[first], calls[first] - calls[fastest]
    n = break_even_calls(gap, saved)
    return {"first_answer": first, "fastest": fastest, "download_gap_s": round(gap, 3),
            "saved_ms_per_call": round(saved, 3), "break_even_calls": n, "ship": first,
            "text": f"{label(first)} gives the first answer {gap:.1f} s sooner at {speed}; {label(fastest)} "
                    f"saves {saved:.3g} ms a call and wins from {n:,} calls per page visit "
                    f"(or on repeat visits, once cached).{costs(first, fastest)}"}


def runtimes_block(figures: Mapping[str, RuntimeFigures]) -> dict[str, Any]:
    """metadata.json's `runtimes`: the assumptions, each runtime's figures, and the advice."""
    return {"network": dict(NETWORK), "compression": COMPRESSION,
            **{name: f.as_json() for name, f in figures.items()}, "advice": advice(figures)}
