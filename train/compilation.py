"""XLA compilation on the JAX backend: where compiled programs are kept between runs, and a log of what
one run compiled.

A small network's step runs in a couple of milliseconds on a GPU while compiling it takes seconds, so
a run compiles each step function once (fixed batch shapes, see train.run) and keeps the compiled
programs in JAX's persistent compilation cache, under the user's cache folder: a second run on the
same machine loads them instead of compiling.

Import-cheap: JAX is imported only by the functions that need it (never on other backends).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

CACHE_ENV = "MNIST_TFJS_COMPILE_CACHE"
# JAX reports every backend compilation (a persistent-cache hit included) under this event, with the
# compiled function's name; a hit is reported separately as well.
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"
# Keras' jitted step functions; everything else JAX compiles is a small eager operation (weight
# initialisers, metric resets) that runs once.
STEP_FUNCTIONS = ("train_step", "test_step", "predict_step")


def function_name(fun_name: str) -> str:
    """'jit(train_step)' -> 'train_step'."""
    return fun_name.removeprefix("jit(").removesuffix(")")


def user_cache_dir() -> Path:
    """The platform's per-user cache folder: $XDG_CACHE_HOME or ~/.cache, ~/Library/Caches on macOS,
    %LOCALAPPDATA% on Windows."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def default_cache_dir() -> Path:
    """$MNIST_TFJS_COMPILE_CACHE, else mnist-tfjs/jax-compilation-cache under the user's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return user_cache_dir() / "mnist-tfjs" / "jax-compilation-cache"


def enable_compilation_cache(folder: Path) -> None:
    """Keep every compiled program in `folder` (JAX's own thresholds would skip programs that compile
    in under a second, which on a GPU is most of them)."""
    import jax

    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@dataclass
class CompileLog:
    """What JAX compiled while listening: compilations per function name, their seconds, cache hits.

    Use as a context manager around the run; on other backends it records nothing."""

    counts: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)
    cache_hits: int = 0
    listening: bool = False

    def __enter__(self) -> CompileLog:
        import keras

        if keras.backend.backend() == "jax":
            from jax import monitoring

            monitoring.register_event_duration_secs_listener(self._on_duration)
            monitoring.register_event_listener(self._on_event)
            self.listening = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.listening:
            from jax import monitoring

            monitoring.unregister_event_duration_listener(self._on_duration)
            monitoring.unregister_event_listener(self._on_event)
            self.listening = False

    def _on_duration(self, event: str, duration: float, **kwargs: object) -> None:
        if event == COMPILE_EVENT:
            name = function_name(str(kwargs.get("fun_name", "?")))
            self.counts[name] += 1
            self.seconds[name] += duration

    def _on_event(self, event: str, **kwargs: object) -> None:
        if event == CACHE_HIT_EVENT:
            self.cache_hits += 1

    def step_compilations(self) -> dict[str, int]:
        """Compilations of each Keras step function (one each when shapes stay fixed)."""
        return {name: count for name, count in self.counts.items() if name in STEP_FUNCTIONS}

    def step_seconds(self) -> float:
        """Seconds spent compiling the Keras step functions."""
        return sum(self.seconds[name] for name in self.step_compilations())

    def summary(self) -> dict[str, object] | None:
        """For metrics.json; None where nothing was listened to (other backends)."""
        if not self.counts and not self.cache_hits:
            return None
        steps = self.step_compilations()
        return {
            "step_functions": steps,
            "step_compile_seconds": round(self.step_seconds(), 3),
            "all_programs": sum(self.counts.values()),
            "all_compile_seconds": round(sum(self.seconds.values()), 3),
            "persistent_cache_hits": self.cache_hits,
        }
