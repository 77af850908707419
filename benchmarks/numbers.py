"""Numbers as people write them, for the robustness benchmark: several MNIST test digits side by side,
each drawn from one of several decompositions of its skeleton into strokes, on a slanted baseline,
at different heights, some spaced, some touching, some overlapping their neighbours.

Nothing here follows the page's grouping rules: a digit's strokes are its skeleton's pieces chained
at random (`harness.strokes.decompose`: split at junctions in different places, in any order and
direction, a pen lift in the middle of a stroke now and then), and neighbours are placed by a gap
drawn from three habits (`SPACINGS`). The page is asked which strokes make each digit
(`digitDemo.bench.read()` gives each digit's stroke indices), so "split right" means exactly the
right strokes in every digit, not just the right count of digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.common import say
from harness.strokes import decompose, normalised, skeleton_pieces

DECOMPOSITIONS = 3  # each chosen set of test digits is drawn this many times, decomposed anew each time
SPACINGS = ("spaced", "touching", "overlapping")
SPACING_ODDS = (0.5, 0.25, 0.25)
HEIGHT = (0.2, 0.34)  # the number's typical digit height (pad fractions) ...
HEIGHT_SPREAD = 0.2  # ... each digit's height that times exp(+-0.2)
SLANT_DEG = 8.0  # the baseline's slope, up to +-8 degrees
Strokes = list[np.ndarray]


@dataclass
class NumberDrawing:
    """Strokes (pad fractions, in drawing order), the digit each stroke belongs to, the number, and
    the spacing habit between each pair of neighbours."""

    strokes: Strokes
    owner: list[int]
    number: str
    spacings: list[str]

    def groups(self) -> list[list[int]]:
        """The true grouping: each digit's stroke indices, left to right."""
        return [[k for k, o in enumerate(self.owner) if o == d] for d in range(len(self.number))]


def _gap(kind: str, height: float, widths: tuple[float, float], rng: np.random.Generator) -> float:
    """The horizontal gap between two neighbours' boxes (negative: they overlap)."""
    if kind == "spaced":
        return rng.uniform(0.06, 0.45) * height
    if kind == "touching":
        return rng.uniform(-0.02, 0.03) * height
    return -rng.uniform(0.1, 0.35) * min(widths)  # overlapping by 10-35% of the narrower one


def _resample(stroke: np.ndarray, spacing: float) -> np.ndarray:
    """Points every `spacing` along a polyline (ends kept): the pointer samples of steady motion."""
    if len(stroke) < 2:
        return stroke
    steps = np.hypot(*np.diff(stroke, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] <= 0:
        return stroke[:1]
    at = np.linspace(0, along[-1], max(2, math.ceil(along[-1] / spacing) + 1))
    return np.stack([np.interp(at, along, stroke[:, 0]), np.interp(at, along, stroke[:, 1])], axis=1)


def number_drawing(pieces: list[Strokes], labels: list[int], rng: np.random.Generator,
                   sample: float) -> NumberDrawing:
    """Digits (their skeleton pieces, `skeleton_pieces`) written left to right as a number: each
    decomposed into strokes anew, at its own height, its bottom on a slanted baseline, with a gap
    to its left neighbour from one of the spacing habits; fitted to the pad and sampled every
    `sample` (pad fractions) as a steady pointer would be."""
    height = rng.uniform(*HEIGHT)
    slope = math.tan(math.radians(rng.uniform(-SLANT_DEG, SLANT_DEG)))
    digits = []
    for piece_list in pieces:
        unit = normalised(decompose(piece_list, rng))
        points = np.vstack(unit)
        lo, span = points.min(axis=0), np.ptp(points, axis=0)
        scale = height * math.exp(rng.uniform(-HEIGHT_SPREAD, HEIGHT_SPREAD)) / max(float(span[1]), 1e-6)
        digits.append([(s - lo) * scale for s in unit])  # box's top-left at (0, 0)
    spacings = [str(rng.choice(SPACINGS, p=SPACING_ODDS)) for _ in digits[1:]]
    placed: list[Strokes] = []
    x = 0.0
    for k, strokes in enumerate(digits):
        size = np.ptp(np.vstack(strokes), axis=0)
        if k:
            previous = float(np.ptp(np.vstack(digits[k - 1])[:, 0]))
            x += _gap(spacings[k - 1], height, (previous, float(size[0])), rng)
        bottom = slope * (x + size[0] / 2) + rng.uniform(-0.03, 0.03) * height
        placed.append([s + np.array([x, bottom - size[1]]) for s in strokes])
        x += float(size[0])
    points = np.vstack([s for strokes in placed for s in strokes])
    lo, span = points.min(axis=0), np.ptp(points, axis=0)
    shrink = min(1.0, 0.94 / max(float(span.max()), 1e-6))
    room = np.maximum(0.94 - span * shrink, 0)
    origin = 0.03 + room * rng.random(2)
    strokes_out, owner = [], []
    for k, strokes in enumerate(placed):
        for s in strokes:
            moved = (s - lo) * shrink + origin
            strokes_out.append(np.clip(_resample(moved, sample), 0.002, 0.998))
            owner.append(k)
    return NumberDrawing(strokes_out, owner, "".join(str(v) for v in labels), spacings)


def number_drawings(images: np.ndarray, labels: np.ndarray, count: int, per_count: int,
                    rng: np.random.Generator, sample: float) -> list[NumberDrawing]:
    """`per_count` numbers of `count` test digits: per_count / DECOMPOSITIONS sets of random test
    digits, each set drawn DECOMPOSITIONS times (decomposed and laid out anew each time)."""
    sets = math.ceil(per_count / DECOMPOSITIONS)
    out: list[NumberDrawing] = []
    for _ in range(sets):
        pick = rng.choice(len(labels), count, replace=False)
        pieces = [skeleton_pieces(images[i]) for i in pick]
        digits = [int(labels[i]) for i in pick]
        out += [number_drawing(pieces, digits, rng, sample) for _ in range(DECOMPOSITIONS)]
    return out[:per_count]


def read_alone(page: Any, drawings: list[NumberDrawing]) -> list[bool]:
    """Whether every digit of each number reads right on its own (its true strokes, read by the page's
    model in one batch): the numbers that only a wrong split can spoil."""
    out = []
    for drawing in drawings:
        groups = [[[[float(x), float(y)] for x, y in drawing.strokes[k]] for k in members]
                  for members in drawing.groups()]
        read = page.evaluate("(groups) => window.digitDemo.bench.readAlone(groups)", groups)
        out.append("".join(str(v) for v in read) == drawing.number)
    return out


def score(drawings: list[NumberDrawing], readings: list[dict[str, Any]], alone: list[bool]
          ) -> dict[str, Any]:
    """Read right, split right (every digit exactly its own strokes), split into the right count
    (`grouped`) and the digits right in those, and why splits went wrong."""
    n = len(drawings)
    exact = split = cut = joined = other = readable = readable_exact = counted = digits_right = 0
    by_spacing = {kind: [0, 0] for kind in SPACINGS}  # numbers with that habit somewhere: [split right, all]
    examples = []
    for drawing, read, ok_alone in zip(drawings, readings, alone, strict=True):
        right = read["number"] == drawing.number
        groups = sorted(sorted(d["members"]) for d in read["digits"])
        split_right = groups == sorted(drawing.groups())
        exact += right
        split += split_right
        readable += ok_alone
        readable_exact += ok_alone and right
        if len(read["number"]) == len(drawing.number):  # split into the right count of digits
            counted += 1
            digits_right += sum(a == b for a, b in zip(read["number"], drawing.number, strict=True))
        if not split_right:
            found = len(read["digits"])
            cut += found > len(drawing.number)
            joined += found < len(drawing.number)
            other += found == len(drawing.number)
        for kind in set(drawing.spacings):
            by_spacing[kind][0] += split_right
            by_spacing[kind][1] += 1
        if not right and len(examples) < 8:
            examples.append({"number": drawing.number, "read": read["number"], "split_right": split_right,
                             "spacings": drawing.spacings})
    return {"numbers": n, "exact": exact / n, "split": split / n, "grouped": counted / n,
            "digit_accuracy": digits_right / max(1, counted * len(drawings[0].number)),
            "cut_in_two": cut / n, "neighbours_joined": joined / n, "strokes_swapped": other / n,
            "readable": readable / n, "exact_of_readable": readable_exact / max(1, readable),
            "split_by_spacing": {k: v[0] / v[1] for k, v in by_spacing.items() if v[1]},
            "read_ms": float(np.median([read["readMs"] for read in readings])), "misread": examples}


def measure_numbers(page: Any, images: np.ndarray, labels: np.ndarray, per_count: int, seed: int,
                    draw_and_read: Any, sample: float, counts: tuple[int, ...] = (2, 3, 4)
                    ) -> dict[str, Any]:
    """2-4 digit numbers drawn as people write them (mouse events), read by the page: per count, the
    share read exactly, split right, and read exactly among those whose digits read right alone."""
    out: dict[str, Any] = {}
    for count in counts:
        rng = np.random.default_rng([seed, 99, count])
        drawings = number_drawings(images, labels, count, per_count, rng, sample)
        readings = draw_and_read(page, [d.strokes for d in drawings], "mouse")
        figures = score(drawings, readings, read_alone(page, drawings))
        out[str(count)] = figures
        say(f"    {count}-digit numbers: read exactly {figures['exact']:.1%} of {figures['numbers']}, "
            f"split right {figures['split']:.1%} (right count {figures['grouped']:.1%}; "
            f"a digit cut in two {figures['cut_in_two']:.1%}, "
            f"neighbours joined {figures['neighbours_joined']:.1%}); "
            f"{figures['readable']:.1%} have every digit readable alone, "
            f"{figures['exact_of_readable']:.1%} of those read exactly; "
            f"median read {figures['read_ms']:.2f} ms")
    return out
