"""Drawing robustness: MNIST test digits rendered onto the pad at random position, size and stroke
width, read through the page's preprocessing vs the naive whole-canvas resize (web.robustness)."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import Bench, say, section_banner
from benchmarks.pages import chromium, ready_page, serving, web_model_dir

FULL_DIGITS = 2000
SMOKE_DIGITS = 100
SEED = 1


def run(bench: Bench) -> dict[str, Any]:
    """Re-draw the first N test digits on the page and compare the three accuracies."""
    digits = bench.pick(SMOKE_DIGITS, FULL_DIGITS)
    section_banner("robustness", f"{digits:,} MNIST test digits re-drawn on the pad (seed {SEED})")
    from train.data import load_test_set
    from web.robustness import measure_robustness

    images, labels = load_test_set()
    model_dir = web_model_dir(bench)
    with serving(model_dir) as server, chromium() as browser, ready_page(browser, server.url) as page:
        described = page.evaluate("() => window.digitDemo.describeBackend()")
        started = time.perf_counter()
        result = measure_robustness(page, images[:digits], labels[:digits], seed=SEED)
        seconds = time.perf_counter() - started
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
    }
    say(f"  page preprocessing {result.page:.2%}  naive resize {result.naive:.2%}  "
        f"digits as given {result.original:.2%}  ({seconds:.1f} s, {described})")
    return figures
