"""Keras callbacks for training: an atomic per-epoch checkpoint that `--resume` continues from."""

from __future__ import annotations

import json
from pathlib import Path

import keras

from train.artifacts import save_model, write_json

CHECKPOINT_STATE = "checkpoint.json"


class EpochCheckpoint(keras.callbacks.Callback):
    """After every epoch, save the whole model (weights + optimizer state) and the history so far.

    Order keeps every moment consistent: write `checkpoint-epochN.keras` (atomically), then
    point `checkpoint.json` at it (atomically), then delete the previous epoch's file.
    A Ctrl-C anywhere leaves the last complete epoch usable.
    """

    def __init__(self, out_dir: Path, run_config: dict, history: dict[str, list[float]]) -> None:
        super().__init__()
        self.out_dir = out_dir
        self.run_config = run_config
        self.history = history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            if key != "learning_rate":
                self.history.setdefault(key, []).append(float(value))
        previous = read_checkpoint_state(self.out_dir)
        model_file = f"checkpoint-epoch{epoch + 1}.keras"
        save_model(self.model, self.out_dir / model_file)
        write_json(self.out_dir / CHECKPOINT_STATE, {
            "epoch": epoch + 1, "model_file": model_file,
            "config": self.run_config, "history": self.history,
        })
        if previous and previous.get("model_file") != model_file:
            (self.out_dir / previous["model_file"]).unlink(missing_ok=True)


def read_checkpoint_state(out_dir: Path) -> dict | None:
    """The last complete checkpoint's state, or None when there is none (or it is unreadable)."""
    try:
        state = json.loads((out_dir / CHECKPOINT_STATE).read_text())
    except (OSError, ValueError):
        return None
    if not (out_dir / state.get("model_file", "")).is_file():
        return None
    return state


def remove_checkpoint(out_dir: Path) -> None:
    """Delete the checkpoint once the run has finished and its artifacts are written."""
    state = read_checkpoint_state(out_dir)
    if state:
        (out_dir / state["model_file"]).unlink(missing_ok=True)
    (out_dir / CHECKPOINT_STATE).unlink(missing_ok=True)
