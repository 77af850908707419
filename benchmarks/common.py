"""What every section shares: the run's settings and state, user errors, printing, machine facts."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_tfjs.paths import REPO_ROOT, TRAINED_MODEL
from mnist_tfjs.versions import npm_version, package_version

DEFAULT_MODEL = REPO_ROOT / TRAINED_MODEL
SECTIONS = ("training", "export", "browser", "robustness", "server", "zoo", "apps", "runtimes", "gpu")
# Run only when named with --only: the accelerator's figures come from a machine that has one.
OPT_IN_SECTIONS = ("gpu",)
MODEL_SECTIONS = ("export", "browser", "robustness", "server", "runtimes")  # need a trained .keras model
PAGE_SECTIONS = ("browser", "robustness", "zoo", "apps", "runtimes")  # need Chromium
NODE_SECTIONS = (*MODEL_SECTIONS, "zoo", "apps")  # need Node.js and the npm packages


class BenchError(Exception):
    """A user or environment problem: printed as one line, exit status 2."""


@dataclass
class Bench:
    """Settings of one suite run plus what sections hand on to later ones."""

    smoke: bool
    out: Path
    work: Path  # a temporary folder, removed at the end
    model: Path | None  # the .keras model the export/browser/server sections use
    model_source: str = ""  # where `model` came from, for the report
    exports: dict[str, Path] = field(default_factory=dict)  # quantization -> exported folder
    trained_model: Path | None = None  # the quick-preset model the training section wrote
    load_tool: str = "auto"  # the server section's load generator: auto (wrk if installed), wrk, python
    robustness_digits: int | None = None  # digits the robustness section re-draws (None: plan's default)
    catalogue: tuple[str, ...] | None = None  # the apps section runs these keras.applications instead
    hub: tuple[str, ...] | None = None  # the apps section runs these keras-hub backbones instead (): all

    def pick(self, smoke: Any, full: Any) -> Any:
        """`smoke` in a smoke run, else `full`."""
        return smoke if self.smoke else full

    def require_model(self) -> Path:
        """The model to benchmark, or a BenchError saying how to get one."""
        if self.model is None and self.trained_model is not None:
            self.model = self.trained_model
            self.model_source = "the quick-preset model trained by the training section"
            say(f"  using {self.model_source} (no --model, no artifacts/model.keras)")
        if self.model is None:
            raise BenchError(f"no model at {DEFAULT_MODEL.relative_to(REPO_ROOT)}; train one with "
                             "`python -m train` (or include the training section, or pass --model)")
        return self.model


def shown_path(path: Path | str) -> str:
    """`path` as the results record it, so they carry no machine's folders: relative to the current
    folder when it lies inside it, else relative to the repository when it lies inside that, else just
    the file name."""
    given = Path(path).expanduser()
    for target, base in ((Path(os.path.abspath(given)), Path(os.path.abspath(Path.cwd()))),
                         (given.resolve(), Path.cwd().resolve()), (given.resolve(), REPO_ROOT.resolve())):
        if target.is_relative_to(base):
            return target.relative_to(base).as_posix()
    return given.name


def shown_command(argv: list[str]) -> str:
    """`python -m benchmarks ARGS` as the results record it: absolute paths shown by `shown_path`."""
    words = []
    for word in argv:
        option, equals, value = word.partition("=")
        if equals and option.startswith("--") and Path(value).is_absolute():
            word = f"{option}={shown_path(value)}"
        elif Path(word).is_absolute():
            word = shown_path(word)
        words.append(word)
    return " ".join(["python -m benchmarks", *words])


def say(message: str) -> None:
    """Print one progress or result line now."""
    print(message, flush=True)


def section_banner(name: str, plan: str) -> None:
    """The line that opens a section."""
    say(f"\n== {name}: {plan}")


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _command_version(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (proc.stdout or proc.stderr).strip().splitlines()
    return text[0].strip() if text else None


def machine_info() -> dict[str, Any]:
    """The machine and software the figures were measured on (no heavy imports)."""
    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "tensorflow": package_version("tensorflow"),
        "keras": package_version("keras"),
        "tensorflowjs": package_version("tensorflowjs"),
        "tfjs": npm_version("@tensorflow/tfjs"),
        "node": _command_version(["node", "--version"]),
        "chromium": _command_version(["chromium", "--version"]),
        "wrk": _command_version(["wrk", "--version"]),
    }
