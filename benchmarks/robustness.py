"""Drawing robustness: MNIST test digits re-drawn on the page's pad, read back through the page.

Each digit is rendered onto the pad by `digitDemo.bench.robustness` (web/static/bench.js) at
a random size (40-95% of the pad's height), position and stroke thickness, then classified
twice: through the page's own MNIST-style preprocessing, and through the naive resize of the
whole pad to 28x28. The same model's accuracy on the digits as given is the reference.
`python -m benchmarks --only robustness` runs it (and leaves a screenshot of the page).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.common import Bench, say, section_banner
from benchmarks.pages import (
    DECODE_F32,
    chromium,
    f32_to_base64,
    ready_page,
    render_digit,
    serving,
    web_model_dir,
)

FULL_DIGITS = 2000
SMOKE_DIGITS = 100
SEED = 1
SCREENSHOT = "page_screenshot.png"

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


def show_example(page: Any, image: np.ndarray) -> dict[str, Any]:
    """Render one digit large in the middle of the pad and classify it (a screenshot with a result)."""
    side = page.evaluate("window.digitDemo.pad.width")
    render_digit(page, image, {"cx": side * 0.5, "cy": side * 0.5, "height": side * 0.7, "radius": 0})
    return page.evaluate("window.digitDemo.classifyCanvas()")


def run(bench: Bench) -> dict[str, Any]:
    """Re-draw the first N test digits on the page and compare the three accuracies; then draw the
    first test digit large and save a screenshot of the page beside the results."""
    digits = bench.robustness_digits or bench.pick(SMOKE_DIGITS, FULL_DIGITS)
    section_banner("robustness", f"{digits:,} MNIST test digits re-drawn on the pad (seed {SEED})")
    from train.data import load_test_set

    images, labels = load_test_set()
    model_dir = web_model_dir(bench)
    screenshot = bench.out / SCREENSHOT
    with serving(model_dir) as server, chromium() as browser, ready_page(browser, server.url) as page:
        described = page.evaluate("() => window.digitDemo.describeBackend()")
        started = time.perf_counter()
        result = measure_robustness(page, images[:digits], labels[:digits], seed=SEED)
        seconds = time.perf_counter() - started
        example = show_example(page, images[0])
        bench.out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    figures = {
        "digits": result.digits,
        "seed": result.seed,
        "pad_side": result.pad_side,
        "as_given": result.original,
        "page_preprocessing": result.page,
        "naive_resize": result.naive,
        "gap_pp": round(result.gap_pp, 2),
        "backend": described,
        "seconds": round(seconds, 1),
        "render_seconds": round(result.render_seconds, 1),
        "misread_examples": result.misread[:10],
        "screenshot": SCREENSHOT,
    }
    say(f"  page preprocessing {result.page:.2%}  naive resize {result.naive:.2%}  "
        f"digits as given {result.original:.2%}  ({seconds:.1f} s, {described})")
    say(f"  screenshot: {screenshot} (test digit 0 drawn large, read as {example['digit']})")
    return figures
