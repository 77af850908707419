"""Drawing robustness: MNIST test digits traced as pen strokes and drawn on the page with real
pointer events (mouse and touch), read back through the page.

Each digit is thinned and traced into polylines (harness/strokes.py), then drawn on the pad as
pointer events (pointerType 'mouse' or 'touch') dispatched in the page to the pad's own listeners
(`digitDemo.bench.drawAndRead`, harness/page_tools.js loaded into the page: fast), one family of
drawing habits at a time, and read as the page reads it. A few digits of every family are drawn again
with trusted events from Chrome's input pipeline (DevTools `Input.dispatchMouseEvent` /
`Input.dispatchTouchEvent`, the path a person's hand takes; seconds a digit) and must read the
same. Families (every digit also at a random position):

- size: the digit's height 15-95% of the pad's side;
- corner: 20-45% of the pad, pushed into a corner or against an edge;
- rotation: turned by up to +-15 degrees;
- aspect: its width stretched x0.6-1.5;
- jitter: a shaky hand (each pointer sample off by 1-3% of the digit's height);
- sparse: few pointer events (one every 12-25% of the digit's height);
- thin pen / thick pen: the pad's pen 2% / 16% of its side (only what the person sees).

Then numbers as people write them (2-4 digits, each decomposed into strokes its own way, on a
slanted baseline, spaced, touching or overlapping: benchmarks/numbers.py), inputs that are not
digits (scribbles, dots), which the page should flag as unsure, and 10,000 test digits painted on
the pad as images and read from its pixels (the pixel path, `measure_robustness`).
`python -m benchmarks --only robustness` runs it; `--digits N` draws N test digits per family and
pointer type (at most the test set's 10,000; see `family_digits` for which).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.common import Bench, say, section_banner
from benchmarks.export_bench import web_model_dir
from benchmarks.numbers import measure_numbers, number_drawings
from harness.page_driver import (
    chromium,
    install_page_tools,
    measure_robustness,
    ready_page,
    serving,
    wait_ready,
)
from harness.strokes import normalised, trace_digit

FULL_DIGITS = 200  # per family and pointer type (different digits in each family)
SMOKE_DIGITS = 10
FULL_NUMBERS = 300  # per digit count (2, 3, 4)
SMOKE_NUMBERS = 3
FULL_NOISE = 100  # scribbles and dots
SMOKE_NOISE = 4
FULL_PAINTED = 10_000  # test digits painted on the pad as images and read from its pixels
SMOKE_PAINTED = 50
TRUSTED = 3  # per family and pointer: drawn again with trusted input events (slow: seconds a digit)
SEED = 1
SCREENSHOT = "page_screenshot.png"
POINTERS = ("mouse", "touch")
FAMILIES = ("size", "corner", "rotation", "aspect", "jitter", "sparse", "thin pen", "thick pen")
SAMPLE_PX = 4.0  # CSS px between pointer samples of a steady hand (a mouse at moderate speed)

Strokes = list[np.ndarray]


# ---------------------------------------------------------------- drawing habits

def _place(strokes: Strokes, height: float, cx: float, cy: float, *, angle: float = 0.0,
           stretch: float = 1.0) -> Strokes:
    """Normalised strokes (box side 1, centred) → pad fractions: rotated, stretched, `height` tall."""
    points = np.vstack(strokes)
    span = points.max(axis=0) - points.min(axis=0)
    scale = height / max(float(span[1]), 1e-6)
    cos, sin = math.cos(angle), math.sin(angle)
    out = []
    for stroke in strokes:
        x, y = stroke[:, 0] * stretch, stroke[:, 1]
        out.append(np.stack([x * cos - y * sin, x * sin + y * cos], axis=1) * scale)
    points = np.vstack(out)
    centre = (points.max(axis=0) + points.min(axis=0)) / 2
    return [s - centre + np.array([cx, cy]) for s in out]


def _fit(strokes: Strokes, rng: np.random.Generator, corner: bool = False) -> Strokes:
    """Move placed strokes to a random spot inside the pad (or into a corner / against an edge)."""
    points = np.vstack(strokes)
    lo, hi = points.min(axis=0), points.max(axis=0)
    size = hi - lo
    margin = 0.02
    room = np.maximum(1 - 2 * margin - size, 0)
    if corner:
        where = rng.integers(8)  # 4 corners, 4 edge midpoints
        fx = (0.0, 1.0, 0.0, 1.0, 0.5, 0.5, 0.0, 1.0)[where]
        fy = (0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.5)[where]
        target = margin + room * np.array([fx, fy])
    else:
        target = margin + room * rng.random(2)
    return [s - lo + target for s in strokes]


def _resample(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """Points every `spacing` along a polyline (ends kept): the pointer samples of steady motion."""
    if len(stroke) < 2:
        return stroke
    steps = np.hypot(*np.diff(stroke, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    total = along[-1]
    if total <= 0:
        return stroke[:1]
    count = max(2, math.ceil(total / spacing) + 1)
    at = np.linspace(0, total, count)
    return np.stack([np.interp(at, along, stroke[:, 0]), np.interp(at, along, stroke[:, 1])], axis=1)


def drawing(family: str, traced: Strokes, rng: np.random.Generator, pad_px: float) -> tuple[Strokes, dict]:
    """One digit drawn with a family's habit: strokes as pointer samples (pad fractions) + settings."""
    base = normalised(traced)
    height = rng.uniform(0.35, 0.8)
    settings: dict[str, Any] = {"family": family}
    angle, stretch, pen = 0.0, 1.0, None
    if family == "size":
        height = rng.uniform(0.15, 0.95)
    elif family == "corner":
        height = rng.uniform(0.2, 0.45)
    elif family == "rotation":
        angle = math.radians(rng.uniform(-15, 15))
    elif family == "aspect":
        stretch = math.exp(rng.uniform(math.log(0.6), math.log(1.5)))
    elif family == "thin pen":
        pen = 0.02
    elif family == "thick pen":
        pen = 0.16
    placed = _place(base, height, 0.5, 0.5, angle=angle, stretch=stretch)
    width = float(np.ptp(np.vstack(placed)[:, 0]))
    if width > 0.96:  # a wide digit stretched: keep it on the pad
        placed = _place(base, height * 0.96 / width, 0.5, 0.5, angle=angle, stretch=stretch)
        height *= 0.96 / width
    placed = _fit(placed, rng, corner=family == "corner")
    spacing = SAMPLE_PX / pad_px
    if family == "sparse":
        spacing = height * rng.uniform(0.12, 0.25)
    samples = [_resample(s, spacing) for s in placed]
    if family == "jitter":
        sigma = height * rng.uniform(0.01, 0.03)
        samples = [s + rng.normal(0, sigma, s.shape) for s in samples]
    samples = [np.clip(s, 0.002, 0.998) for s in samples]
    settings.update(height=round(height, 3), angle_deg=round(math.degrees(angle), 1),
                    stretch=round(stretch, 2), pen=pen)
    return samples, settings


def scribble(rng: np.random.Generator, pad_px: float) -> Strokes:
    """A back-and-forth scrawl (not a digit): 6-12 random zigzags inside a random box."""
    size = rng.uniform(0.25, 0.6)
    corner = rng.uniform(0.02, 0.98 - size, 2)
    points = corner + size * rng.random((int(rng.integers(8, 16)), 2))
    return [_resample(points, SAMPLE_PX / pad_px)]


def dot(rng: np.random.Generator) -> Strokes:
    """A tap or a tiny tick (under 2% of the pad)."""
    start = rng.uniform(0.1, 0.9, 2)
    return [np.array([start, start + rng.uniform(-0.01, 0.01, 2)])]


# ---------------------------------------------------------------- rendered images (the pixel path)

# ---------------------------------------------------------------- the page

class Drawer:
    """Draws strokes (pad fractions) on the page's pad with trusted pointer events via DevTools."""

    def __init__(self, page: Any, pointer: str) -> None:
        self.page = page
        self.pointer = pointer
        self.cdp = page.context.new_cdp_session(page)
        box = page.locator("#pad").bounding_box()
        self.x0, self.y0, self.w, self.h = box["x"], box["y"], box["width"], box["height"]

    def _xy(self, p: np.ndarray) -> tuple[float, float]:
        return self.x0 + float(p[0]) * self.w, self.y0 + float(p[1]) * self.h

    def stroke(self, points: np.ndarray) -> None:
        send = self.cdp.send
        if self.pointer == "mouse":
            x, y = self._xy(points[0])
            send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
            send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y, "button": "left",
                                              "buttons": 1, "clickCount": 1})
            for p in points[1:]:
                x, y = self._xy(p)
                send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, "button": "left",
                                                  "buttons": 1})
            send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": y, "button": "left",
                                              "buttons": 0, "clickCount": 1})
        else:
            x, y = self._xy(points[0])
            send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
            for p in points[1:]:
                x, y = self._xy(p)
                send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
            send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    def draw(self, strokes: Strokes) -> dict[str, Any]:
        """Clear the pad, draw, and return the page's reading (`digitDemo.bench.read()`)."""
        self.page.evaluate("window.digitDemo.clear()")
        for stroke in strokes:
            self.stroke(stroke)
        return self.page.evaluate("window.digitDemo.bench.read()")


def pad_css_px(page: Any) -> float:
    return float(page.locator("#pad").bounding_box()["width"])


@dataclass
class FamilyResult:
    """One family's figures for one pointer type."""

    family: str
    pointer: str
    digits: int
    correct: int
    flagged_correct: int  # read right but flagged unsure
    flagged_wrong: int  # read wrong and flagged unsure (the page said so)
    whole_correct: int = 0  # all strokes read as one digit (classifyCanvas) right
    trusted: int = 0  # digits drawn again with trusted input events
    trusted_same: int = 0  # ... that read the same as when replayed in the page
    misread: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.digits if self.digits else float("nan")


def _json(strokes: Strokes) -> list[list[list[float]]]:
    return [[[round(float(x), 5), round(float(y), 5)] for x, y in stroke] for stroke in strokes]


def draw_and_read(page: Any, drawings: list[Strokes], pointer: str, pens: list[float] | None = None,
                  chunk: int = 50) -> list[dict[str, Any]]:
    """Replay drawings as pointer events inside the page (`digitDemo.bench.drawAndRead`) and read them."""
    readings: list[dict[str, Any]] = []
    for start in range(0, len(drawings), chunk):
        part = [_json(d) for d in drawings[start:start + chunk]]
        part_pens = pens[start:start + chunk] if pens else None
        readings += page.evaluate("([d, p, w]) => window.digitDemo.bench.drawAndRead(d, p, w)",
                                  [part, pointer, part_pens])
    return readings


def measure_families(page_for: Callable[[str], Any], traced: dict[str, list[Strokes]],
                     labels: dict[str, np.ndarray], seed: int = SEED, pointers: tuple[str, ...] = POINTERS,
                     families: tuple[str, ...] = FAMILIES, trusted: int = 0) -> list[FamilyResult]:
    """Every family with every pointer type; the same digits and settings for mouse and touch.

    All digits are replayed as pointer events dispatched in the page; the first `trusted` of each
    family are drawn again with trusted events from Chrome's input pipeline (DevTools Input), and
    the row counts how many of those read the same.
    """
    results = []
    for pointer in pointers:
        page = page_for(pointer)
        pad_px = pad_css_px(page)
        drawer = Drawer(page, pointer) if trusted else None
        for f_index, family in enumerate(families):
            rng = np.random.default_rng([seed, f_index])
            made = [drawing(family, t, rng, pad_px) for t in traced[family]]
            pens = [settings["pen"] or 0.09 for _, settings in made]
            readings = draw_and_read(page, [strokes for strokes, _ in made], pointer, pens)
            row = FamilyResult(family, pointer, 0, 0, 0, 0)
            for (_, settings), read, label in zip(made, readings, labels[family], strict=True):
                whole = read["whole"]
                flagged = any(d["unsure"] for d in read["digits"])
                right = read["number"] == str(int(label))  # what the page shows: one digit, the right one
                row.digits += 1
                row.correct += right
                row.whole_correct += whole is not None and whole["digit"] == int(label)
                row.flagged_correct += right and flagged
                row.flagged_wrong += (not right) and flagged
                if not right and len(row.misread) < 10:
                    row.misread.append({"label": int(label), "read": read["number"], **settings})
            if drawer is not None:
                for (strokes, settings), read in list(zip(made, readings, strict=True))[:trusted]:
                    page.evaluate("(w) => window.digitDemo.bench.setPenWidth(w)", settings["pen"] or 0.09)
                    again = drawer.draw(strokes)
                    row.trusted += 1
                    row.trusted_same += again["number"] == read["number"]
                page.evaluate("window.digitDemo.bench.setPenWidth(0.09)")
            results.append(row)
            same = f"; trusted events read the same {row.trusted_same}/{row.trusted}" if row.trusted else ""
            say(f"    {pointer:5s} {family:9s} {row.accuracy:7.2%}  ({row.digits} digits, "
                f"{row.flagged_correct} right ones flagged unsure, {row.flagged_wrong} wrong ones "
                f"flagged{same})")
    return results


def measure_reference(page: Any, traced: dict[str, list[Strokes]], labels: dict[str, np.ndarray],
                      seed: int = SEED) -> dict[str, Any]:
    """The same traced digits drawn plainly (65% of the pad, centred, steady mouse): how well the
    model reads the tracings themselves, the ceiling for every family."""
    pad_px = pad_css_px(page)
    drawings, truths = [], []
    for family in traced:
        for strokes, label in zip(traced[family], labels[family], strict=True):
            placed = _place(normalised(strokes), 0.65, 0.5, 0.5)
            drawings.append([_resample(s, SAMPLE_PX / pad_px) for s in placed])
            truths.append(str(int(label)))
    readings = draw_and_read(page, drawings, "mouse")
    right = sum(read["number"] == truth for read, truth in zip(readings, truths, strict=True))
    read_ms = float(np.median([read["readMs"] for read in readings]))
    say(f"    the same tracings drawn plainly (65% of the pad, centred): {right / len(truths):.2%} "
        f"of {len(truths)}; median read {read_ms:.2f} ms")
    return {"digits": len(truths), "accuracy": right / len(truths), "read_ms": read_ms}


def measure_noise(page: Any, count: int, seed: int = SEED) -> dict[str, Any]:
    """Scribbles and dots: how often the page says it is unsure rather than naming a digit."""
    pad_px = pad_css_px(page)
    rng = np.random.default_rng([seed, 7])
    flagged = {"scribble": 0, "dot": 0}
    for kind in flagged:
        drawings = [scribble(rng, pad_px) if kind == "scribble" else dot(rng) for _ in range(count)]
        for read in draw_and_read(page, drawings, "mouse"):
            flagged[kind] += any(d["unsure"] for d in read["digits"])
    result = {kind: {"drawn": count, "flagged": n / count} for kind, n in flagged.items()}
    say(f"    flagged unsure: scribbles {result['scribble']['flagged']:.0%}, "
        f"dots {result['dot']['flagged']:.0%}")
    return result


def digits_per_family(bench: Bench, available: int) -> int:
    """The test digits each family draws: `--digits N`, else the plan's, at most the `available` ones."""
    return min(bench.robustness_digits or bench.pick(SMOKE_DIGITS, FULL_DIGITS), available)


def family_digits(images: np.ndarray, labels: np.ndarray, per_family: int, seed: int = SEED
                  ) -> tuple[dict[str, list[Strokes]], dict[str, np.ndarray]]:
    """`per_family` random test digits for each family (distinct within a family up to the whole
    set), traced once. One seeded shuffle of the set is cut into consecutive blocks, one per family,
    wrapping around at its end: families draw different digits while all the blocks fit in the set
    (up to 1,250 each of MNIST's 10,000) and share some beyond that."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    traced, chosen = {}, {}
    for k, family in enumerate(FAMILIES):
        pick = np.take(order, np.arange(k * per_family, (k + 1) * per_family), mode="wrap")
        traced[family] = [trace_digit(images[i]) for i in pick]
        chosen[family] = labels[pick]
    return traced, chosen


def summarise(rows: list[FamilyResult]) -> dict[str, Any]:
    """The table rows (JSON) plus overall accuracy and the unsure rate on correct digits, per pointer."""
    table = [{"family": r.family, "pointer": r.pointer, "digits": r.digits, "accuracy": r.accuracy,
              "as_one_digit": r.whole_correct / max(1, r.digits),
              "trusted": r.trusted, "trusted_same": r.trusted_same,
              "flagged_correct": r.flagged_correct / max(1, r.correct),
              "flagged_wrong": r.flagged_wrong / max(1, r.digits - r.correct), "misread": r.misread}
             for r in rows]
    overall = {}
    for pointer in {r.pointer for r in rows}:
        mine = [r for r in rows if r.pointer == pointer]
        digits = sum(r.digits for r in mine)
        correct = sum(r.correct for r in mine)
        overall[pointer] = {"digits": digits, "accuracy": correct / digits,
                            "flagged_correct": sum(r.flagged_correct for r in mine) / max(1, correct),
                            "worst_family": min(mine, key=lambda r: r.accuracy).family}
    return {"families": table, "overall": overall}


def measure_painted(page: Any, images: np.ndarray, labels: np.ndarray, count: int) -> dict[str, Any]:
    """The first `count` test digits painted on the pad as images (random size 40-95% of the pad,
    position and stroke width; seed 1) and read from its pixels: by the page's MNIST preprocessing, and
    by a naive whole-pad resize, beside the same digits as given."""
    result = measure_robustness(page, images[:count], labels[:count], seed=SEED)
    say(f"    painted digits read from the pad's pixels: {result.summary()}")
    return {"digits": result.digits, "page": result.page, "naive": result.naive,
            "as_given": result.original}


def measure_model(bench: Bench, model_dir: Any, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """All the figures for one exported model."""
    per_family = digits_per_family(bench, len(labels))
    traced, chosen = family_digits(images, labels, per_family)
    with serving(model_dir) as server, chromium() as browser:
        pages: dict[str, Any] = {}
        contexts = []

        def page_for(pointer: str) -> Any:
            if pointer not in pages:
                context = browser.new_context(viewport={"width": 1200, "height": 860},
                                              has_touch=pointer == "touch")
                contexts.append(context)
                page = context.new_page()
                page.goto(server.url)
                wait_ready(page, timeout_s=60)
                install_page_tools(page)
                pages[pointer] = page
            return pages[pointer]

        try:
            started = time.perf_counter()
            rows = measure_families(page_for, traced, chosen, trusted=bench.pick(1, TRUSTED))
            page = page_for("mouse")
            reference = measure_reference(page, traced, chosen)
            numbers = measure_numbers(page, images, labels, bench.pick(SMOKE_NUMBERS, FULL_NUMBERS), SEED,
                                      draw_and_read, SAMPLE_PX / pad_css_px(page))
            noise = measure_noise(page, bench.pick(SMOKE_NOISE, FULL_NOISE))
            pixels = measure_painted(page, images, labels, bench.pick(SMOKE_PAINTED, FULL_PAINTED))
            described = page.evaluate("() => window.digitDemo.describeBackend()")
            pad_side = page.evaluate("window.digitDemo.pad.width")
            seconds = time.perf_counter() - started
        finally:
            for context in contexts:
                context.close()
    return {"per_family": per_family, "pad_side": pad_side, "backend": described, **summarise(rows),
            "reference": reference, "numbers": numbers, "noise": noise, "painted": pixels,
            "seconds": round(seconds, 1)}


def screenshot_number(bench: Bench, model_dir: Any, images: np.ndarray, labels: np.ndarray) -> str:
    """The page after drawing a three-digit number with the mouse, saved beside the results."""
    path = bench.out / SCREENSHOT
    with serving(model_dir) as server, chromium() as browser, ready_page(browser, server.url) as page:
        rng = np.random.default_rng(3)
        number = number_drawings(images, labels, 3, 1, rng, SAMPLE_PX / pad_css_px(page))[0]
        Drawer(page, "mouse").draw(number.strokes)
        page.evaluate("window.digitDemo.readNumber()")
        bench.out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    return SCREENSHOT


def run(bench: Bench) -> dict[str, Any]:
    """The families (mouse and touch), numbers and noise for the benchmarked model, and for the
    default model's export (artifacts/web_model) as well when --model names another."""
    from mnist_tfjs.export_files import MODEL_JSON
    from mnist_tfjs.mnist import load_test_set
    from mnist_tfjs.paths import REPO_ROOT, WEB_MODEL

    images, labels = load_test_set()
    images = images[..., 0]
    per_family = digits_per_family(bench, len(labels))
    section_banner("robustness", f"{per_family:,} MNIST test digits per drawing family, traced as strokes "
                                 f"and drawn with mouse and touch events (seed {SEED})")
    models = {"benchmarked": web_model_dir(bench)}
    default_export = REPO_ROOT / WEB_MODEL
    if bench.model_source.startswith("--model") and (default_export / MODEL_JSON).is_file():
        models["default"] = default_export
    figures: dict[str, Any] = {"seed": SEED, "model": bench.model_source, "models": {}}
    for name, model_dir in models.items():
        say(f"  model: {name} ({model_dir})")
        figures["models"][name] = measure_model(bench, model_dir, images, labels)
    figures["screenshot"] = screenshot_number(bench, models["benchmarked"], images, labels)
    main = figures["models"]["benchmarked"]
    figures["digits"] = main["per_family"]
    for pointer, o in main["overall"].items():
        say(f"  {pointer}: overall {o['accuracy']:.2%} over {o['digits']} digits, "
            f"worst family {o['worst_family']}, right digits flagged unsure {o['flagged_correct']:.2%}")
    return figures
