"""What a training run writes, each file atomically (temp file + rename) so an interrupted run never
leaves a half-written one: the per-epoch checkpoint `--resume` continues from, then the artifacts
(model, metrics, history, plots)."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import keras
import numpy as np

from mnist_tfjs.files import atomic_path, write_json

CHECKPOINT_STATE = "checkpoint.json"


class OutputError(Exception):
    """The output folder cannot be used (one-line message)."""


def prepare_out_dir(out: Path) -> Path:
    """Create `out` if needed and prove it is writable; raise OutputError otherwise."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(f"--out {out} is not writable ({reason}); choose another folder") from None
    return out


def write_history_csv(target: Path, history: dict[str, list[float]]) -> None:
    """One row per epoch: epoch, then every metric Keras logged."""
    keys = sorted(history)
    rows = len(history[keys[0]]) if keys else 0
    with atomic_path(target) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *keys])
        for i in range(rows):
            writer.writerow([i + 1, *(f"{history[k][i]:.6g}" for k in keys)])


def save_model(model, target: Path) -> None:
    """Save a Keras model (.keras) atomically."""
    with atomic_path(target) as tmp:
        model.save(tmp)


def plot_history(target: Path, history: dict[str, list[float]], title: str) -> None:
    """training.png: loss and accuracy per epoch, train and validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if key in history:
            ax_loss.plot(epochs, history[key], marker="o", label=label)
    for key, label in (("accuracy", "train"), ("val_accuracy", "validation")):
        if key in history:
            ax_acc.plot(epochs, np.asarray(history[key]) * 100, marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (labels, predictions), 1)
    return counts


def plot_confusion(target: Path, counts: np.ndarray, title: str) -> None:
    """confusion.png: the test confusion matrix with counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    shown = np.log1p(counts)
    image = ax.imshow(shown, cmap="Blues")
    classes = counts.shape[0]
    for t in range(classes):
        for p in range(classes):
            if counts[t, p]:
                dark = shown[t, p] > shown.max() * 0.6
                ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set(xticks=range(classes), yticks=range(classes), xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)



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
        }, sort_keys=True)
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
