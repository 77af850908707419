"""Hyper-parameters per preset: one obvious place for every training knob, and the source of the
model names (each preset names the network it trains; train.models builds them by those names).

Import-cheap on purpose (no Keras): `python -m train` builds its argument choices from here before
TensorFlow starts."""

from __future__ import annotations

from dataclasses import dataclass, replace

# Training-time augmentations train.run.build can put in front of a network (see train.models):
# "shift-scale-rotate" is one affine resampling per image (cheap: how far and how big people draw);
# "drawing" adds stroke-width changes (a pen a pixel wider or narrower, 10% of the images each way).
AUGMENTATIONS = ("none", "shift-scale-rotate", "drawing")
# Keras dtype policies `--precision` offers (train.devices.configure_precision says why float32 is the
# default).
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclass(frozen=True)
class Preset:
    """Everything that defines a training run apart from data, seed and output folder."""

    name: str
    model: str
    optimizer: str  # "sgd" | "adam" | "adamw"
    lr: float  # the peak of the one-cycle schedule, or the constant rate
    batch_size: int
    epochs: int = 1
    steps: int | None = None  # a fixed step budget instead of whole epochs (the tutorial's 1000 steps)
    schedule: str = "constant"  # "constant" | "one-cycle"
    warmup_fraction: float = 0.25
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)  # Adam/AdamW beta_1, beta_2
    augment: str = "none"  # one of AUGMENTATIONS
    description: str = ""

    def with_overrides(self, **overrides: object) -> Preset:
        """A copy with the non-None overrides applied (CLI `--epochs`, `--batch-size`, `--lr`)."""
        changes = {key: value for key, value in overrides.items() if value is not None}
        if "epochs" in changes:
            changes["steps"] = None  # an explicit epoch count replaces a step budget
        return replace(self, **changes)


PRESETS: dict[str, Preset] = {
    "tutorial": Preset(
        name="tutorial", model="tutorial-mlp", optimizer="sgd", lr=0.5, batch_size=100, steps=1000,
        description="the tutorial: plain SGD lr 0.5, 1000 steps of 100",
    ),
    # Tuned for a 2-core CPU: a convnet with a cheap first layer that pools before BatchNorm, large
    # batches, Adam with short-memory betas (0.7, 0.9) at a high one-cycle peak (tuomaso/train_mnist_fast),
    # and cheap shift/scale/rotate augmentation so that drawn digits read well. Two epochs because a
    # one-cycle schedule over two ends as accurate as over three, and passes 99% well before its end.
    "quick": Preset(
        name="quick", model="cnn", optimizer="adam", lr=1e-2, betas=(0.7, 0.9), batch_size=256, epochs=2,
        schedule="one-cycle", augment="shift-scale-rotate",
        description="≥99.3% (median of 3 seeds) in about half a minute on a 2-core CPU",
    ),
    # The quick recipe, longer, on a net that fits 200 KB as float16 (the pooled convnet with a 48-unit
    # hidden layer): a small network needs many epochs to reach its best, and the stroke-width
    # augmentation ("drawing") makes the pens people draw with read as well as MNIST's.
    "best": Preset(
        name="best", model="cnn-best", optimizer="adam", lr=1e-2, betas=(0.7, 0.9), batch_size=256,
        epochs=30, schedule="one-cycle", augment="drawing",
        description="drawing augmentation, aiming at 99.7% in the browser within 200 KB (float16)",
    ),
}


def _default_presets() -> dict[str, str]:
    """Model name → the first preset (in PRESETS' order) that trains it."""
    defaults: dict[str, str] = {}
    for preset in PRESETS.values():
        defaults.setdefault(preset.model, preset.name)
    return defaults


# Each model's natural preset, used when --model is given without --preset.
DEFAULT_PRESET_FOR_MODEL = _default_presets()
# The networks the presets train: the names train.models.MODELS builds, and `--model`'s choices.
MODEL_NAMES = tuple(DEFAULT_PRESET_FOR_MODEL)
