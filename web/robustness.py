"""Drawing robustness: MNIST digits re-drawn on the page's pad, read back through the page.

Each digit is rendered onto the pad by `digitDemo.bench.robustness` (web/static/bench.js) at
a random size (40-95% of the pad's height), position and stroke thickness, then classified
twice: through the page's own MNIST-style preprocessing, and through the naive resize of the
whole pad to 28x28. The same model's accuracy on the digits as given is the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from web.browser import DECODE_F32, f32_to_base64

# Stroke changes, as a radius in fractions of the digit's height. MNIST's own strokes are about
# 3 px wide in the 20 px box (median row width of the test set's 1s; 10th-90th percentile 2.0-4.2
# px): thinning by 0.0125 (0.25 px each side) and thickening by 0.025 (0.5 px each side) spans
# roughly 2.5-4 px, inside that natural spread.
THIN = 0.0125
THICK = 0.025


@dataclass(frozen=True)
class RobustnessResult:
    """Accuracies (fractions) on the same digits: as given, re-drawn via the page, re-drawn naively."""

    digits: int
    seed: int
    pad_side: int
    original: float
    page: float
    naive: float
    render_seconds: float
    misread: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gap_pp(self) -> float:
        """How far the re-drawn accuracy falls below the original one, in percentage points."""
        return 100.0 * (self.original - self.page)

    def summary(self) -> str:
        """One line with the three accuracies."""
        return (f"{self.digits} digits re-drawn on a {self.pad_side}px pad: page preprocessing "
                f"{self.page:.2%}, naive resize {self.naive:.2%}, digits as given {self.original:.2%}")


def measure_robustness(page: Any, images: np.ndarray, labels: np.ndarray, *, seed: int = 1,
                       min_frac: float = 0.40, max_frac: float = 0.95,
                       thin: float = THIN, thick: float = THICK, **extra: Any) -> RobustnessResult:
    """Run the robustness check in a ready page (see module docstring) and return the figures.

    `images`: (N, 28, 28[, 1]) float32 in [0, 1]; `labels`: (N,) ints. `min_frac`/`max_frac`: digit
    height as a fraction of the pad; `thin`/`thick`: the most the strokes are thinned/thickened, as a
    fraction of the digit's height (a radius, applied to both sides of each stroke).
    """
    count = int(images.shape[0])
    if labels.shape[0] != count:
        raise ValueError(f"{count} images but {labels.shape[0]} labels")
    options = {"minFrac": min_frac, "maxFrac": max_frac, "thin": thin, "thick": thick, **extra}
    result = page.evaluate(
        f"""async ([b64, labels, seed, options]) => {{
              const images = ({DECODE_F32})(b64);
              try {{
                const ints = Int32Array.from(labels);
                return await window.digitDemo.bench.robustness(images, ints, seed, options);
              }} finally {{
                window.digitDemo.clear();
              }}
            }}""",
        [f32_to_base64(images.reshape(count, 784)), [int(v) for v in labels], seed, options],
    )
    return RobustnessResult(
        digits=result["n"],
        seed=result["seed"],
        pad_side=result["padSide"],
        original=result["original"],
        page=result["page"],
        naive=result["naive"],
        render_seconds=result["renderMs"] / 1000.0,
        misread=result["misread"],
    )
