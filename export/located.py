"""The report of a failed proof's layer-by-layer comparison: each compared layer's error beside its
inputs', the first divergence, and whether float32 rounding or the batch explains it, as the
refusal's sentence and as the report file beside the output folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .rounding import TOO_COARSE, Float32Check

JUMP = 10.0  # a layer diverges where its error passes the threshold and grows this much over its inputs'
HUGE_ACTIVATION = 1e3  # activations beyond this in a network with BatchNorm mean statistics of other inputs


@dataclass
class LayerDiff:
    """One layer's output in TF.js against Keras on the located samples."""

    layer: str
    layer_class: str
    node: str
    op: str
    relative_diff: float  # max |TF.js - Keras| over max |Keras| of this layer's output
    scale: float
    inputs_relative_diff: float  # the largest error of the compared layers feeding it (0: model inputs)
    folded: list[str]  # layers between those and this one with no node of their own (fused into this)
    inputs: list[str]  # the nearest compared layers feeding it
    within: list[str] = field(default_factory=list)  # the blocks it lies in, outermost first
    heals: bool = False  # past the threshold, yet every compared layer it feeds is JUMP times closer:
    # the node is not the layer's whole output (Grappler moved part of it into the next op: a folded
    # BatchNorm's offset into the residual add, a Relu hoisted past a Concat), so it is no divergence


@dataclass
class Located:
    """The comparison of every matched layer, and the first divergence (None: all agree)."""

    backend: str
    samples: int
    threshold: float
    layers: list[LayerDiff]
    first: LayerDiff | None
    float32: Float32Check | None = None
    # Keras' own outputs for the compared samples, computed alone, against the proof's reference
    # (computed in larger batches), relative to each output's scale: past the threshold, the model
    # mixes the samples of a batch and no per-sample comparison can agree
    batch_dependence: float | None = None
    mixing_layer: str | None = None  # "'name' (Class)": the first layer whose outputs mix them

    def sentence(self) -> str:
        """Where it diverged, and whether float32 rounding or the batch explains it."""
        found = self._where()
        if self.batch_dependence is not None and self.batch_dependence > self.threshold:
            where = f", first at layer {self.mixing_layer}" if self.mixing_layer else ""
            found += (f"; Keras itself gives these {self.samples} samples other outputs computed on their "
                      f"own than in the proof's batches ({self.batch_dependence:.1e} of the output's scale): "
                      f"the model mixes the samples of a batch{where}, so no comparison sample by sample "
                      "can agree")
        check = self.float32
        if check is not None and check.verdict == TOO_COARSE:
            found += check.sentence()
            if check.activation_peak > HUGE_ACTIVATION:
                found += "; give BatchNorm layers statistics from real data (or train the model)"
        return found

    def _where(self) -> str:
        """"first divergence at layer 'X' (Conv2D → TF.js node 'Y' Conv2D) on wasm: 3.1e-02 of ..."."""
        if self.first is None:
            return (f"no layer diverges on the {self.samples} sample(s) compared on {self.backend} "
                    f"({len(self.layers)} layers compared)")
        first = self.first
        fused = f", computed with {', '.join(repr(name) for name in first.folded)}" if first.folded else ""
        inside = f" in {'/'.join(first.within)!r}" if first.within else ""
        return (f"first divergence at layer {first.layer!r}{inside} ({first.layer_class}{fused} → TF.js node "
                f"{first.node!r} {first.op}) on {self.backend}: {first.relative_diff:.1e} of its scale; its "
                f"inputs agree to {first.inputs_relative_diff:.0e}")

    def as_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "samples": self.samples, "threshold": self.threshold,
                "jump": JUMP, "first_divergence": asdict(self.first) if self.first else None,
                "float32": self.float32.as_dict() if self.float32 else None,
                "batch_dependence": self.batch_dependence, "mixing_layer": self.mixing_layer,
                "layers": [asdict(layer) for layer in self.layers]}


def report_path(out_dir: Path) -> Path:
    """The report beside the output folder (never inside it: a refused export leaves it unchanged)."""
    return out_dir.parent / f"{out_dir.name}.proof-failure.json"


def write_report(path: Path, located: Located | None, failures: list[str], problem: str | None) -> None:
    """The report file: the proof's failures and the layer-by-layer comparison (or why there is none)."""
    body = {"proof_failures": failures, "located": located.as_dict() if located else None,
            "locate_error": problem}
    path.write_text(json.dumps(body, indent=1) + "\n")
