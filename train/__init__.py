"""Training half of mnist-tfjs: MNIST data, model builders, presets and the `python -m train` CLI.

The public names are the steps of one run, in the order `train.run.train` calls them (the CLI, the
benchmarks and the test fixtures all use them): `load_data`, `build`, `compile_model`, `fit`,
`evaluate`, `save_inference_model`, with `steps_per_epoch` and `epochs_of` to plan a run, the
`PRESETS` (`Preset`) and the device set-up (`detect_devices`, `make_deterministic`, `uses_xla`).
"""

from __future__ import annotations

import importlib
from typing import Any

from .presets import PRESETS, Preset

# Where each step lives. They import Keras, so they load on first use: `python -m train --help` and
# argument errors answer before a backend starts.
_STEPS = {
    **dict.fromkeys(("load_data", "build", "compile_model", "fit", "evaluate", "save_inference_model",
                     "steps_per_epoch", "epochs_of"), "run"),
    **dict.fromkeys(("detect_devices", "make_deterministic", "uses_xla"), "devices"),
}

__all__ = ["PRESETS", "Preset", *_STEPS]


def __getattr__(name: str) -> Any:
    if name in _STEPS:
        return getattr(importlib.import_module(f".{_STEPS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
