"""MNIST digits as pen strokes: thin a digit to its skeleton, trace the skeleton into polylines,
and measure MNIST's stroke width. The robustness benchmark and the drawing tests replay these
polylines on the page as real pointer events (people draw strokes, not images).

numpy and scipy only. Coordinates are (x, y) in the 28x28 grid's pixel units unless said otherwise.
"""

from __future__ import annotations

import math

import numpy as np

UPSAMPLE = 4  # the digit is enlarged 4x (bilinear) before thinning, so the skeleton is smooth
THRESHOLD = 0.35  # ink above this grey level is stroke (lower than 1/2: faint joins stay joined)

_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))  # P2..P9, clockwise


def _zoom(image: np.ndarray, factor: int) -> np.ndarray:
    from scipy.ndimage import zoom

    return zoom(image.astype(np.float64), factor, order=1)


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image to a one-pixel-wide 8-connected skeleton."""
    img = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = [np.roll(np.roll(img, -dy, 0), -dx, 1) for dy, dx in _NEIGHBOURS]
            count = sum(p)
            seq = [*p, p[0]]
            transitions = sum(((seq[k] == 0) & (seq[k + 1] == 1)).astype(np.uint8) for k in range(8))
            if step == 0:
                c1 = p[0] * p[2] * p[4] == 0
                c2 = p[2] * p[4] * p[6] == 0
            else:
                c1 = p[0] * p[2] * p[6] == 0
                c2 = p[0] * p[4] * p[6] == 0
            remove = (img == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & c1 & c2
            if remove.any():
                img[remove] = 0
                changed = True
    return img[1:-1, 1:-1].astype(bool)


def _trace(skeleton: np.ndarray) -> list[list[tuple[int, int]]]:
    """Skeleton pixels → polylines of (row, col): walks from end and junction pixels, then cycles."""
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}

    def neighbours(p: tuple[int, int]) -> list[tuple[int, int]]:
        return [(p[0] + dy, p[1] + dx) for dy, dx in _NEIGHBOURS if (p[0] + dy, p[1] + dx) in pixels]

    degree = {p: len(neighbours(p)) for p in pixels}
    used: set[frozenset] = set()
    lines: list[list[tuple[int, int]]] = []

    def walk(start: tuple[int, int], nxt: tuple[int, int]) -> list[tuple[int, int]]:
        line = [start, nxt]
        used.add(frozenset((start, nxt)))
        while degree[line[-1]] == 2:
            options = [q for q in neighbours(line[-1]) if frozenset((line[-1], q)) not in used]
            if not options:
                break
            used.add(frozenset((line[-1], options[0])))
            line.append(options[0])
        return line

    starts = sorted((p for p in pixels if degree[p] != 2), key=lambda p: (degree[p] != 1, p))
    for start in starts:
        for q in neighbours(start):
            if frozenset((start, q)) not in used:
                lines.append(walk(start, q))
    for p in sorted(pixels):  # pure cycles (an O, the loops of an 8 without a junction pixel)
        for q in neighbours(p):
            if frozenset((p, q)) not in used:
                lines.append(walk(p, q))
    if not lines and pixels:
        lines.append([min(pixels)])
    return lines


def _length(line: np.ndarray) -> float:
    return float(np.hypot(*np.diff(line, axis=0).T).sum()) if len(line) > 1 else 0.0


def _simplify(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Ramer-Douglas-Peucker."""
    if len(points) < 3:
        return points
    start, end = points[0], points[-1]
    seg = end - start
    norm = math.hypot(*seg)
    rel = points - start
    dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / norm if norm > 0 else np.hypot(*rel.T)
    k = int(np.argmax(dist))
    if dist[k] <= epsilon:
        return np.array([start, end])
    return np.vstack([_simplify(points[:k + 1], epsilon)[:-1], _simplify(points[k:], epsilon)])


def _join(lines: list[np.ndarray], tolerance: float) -> list[np.ndarray]:
    """Chain polylines whose ends meet (within `tolerance`) into longer strokes, as a pen would."""
    lines = [line.copy() for line in lines]
    joined = True
    while joined and len(lines) > 1:
        joined = False
        for i in range(len(lines)):
            for j in range(len(lines)):
                if i == j:
                    continue
                a, b = lines[i], lines[j]
                for a_end, b_start in ((a, b), (a, b[::-1])):
                    if np.hypot(*(a_end[-1] - b_start[0])) <= tolerance:
                        lines[i] = np.vstack([a_end, b_start[1:]])
                        del lines[j]
                        joined = True
                        break
                if joined:
                    break
            if joined:
                break
    return lines


def trace_digit(image: np.ndarray, min_length: float = 1.0) -> list[np.ndarray]:
    """A 28x28 digit in [0, 1] → strokes: a list of (K, 2) float arrays of (x, y) in 28-grid pixels.

    The digit is enlarged 4x, thresholded at THRESHOLD, thinned (Zhang-Suen), traced, simplified
    (0.3 px) and chained end to end; bits shorter than `min_length` px are dropped (spurs), unless
    nothing else is left.
    """
    big = _zoom(np.asarray(image, np.float64).reshape(28, 28), UPSAMPLE) > THRESHOLD
    skeleton = thin(big)
    raw = [np.array([[(c + 0.5) / UPSAMPLE, (r + 0.5) / UPSAMPLE] for r, c in line])
           for line in _trace(skeleton)]
    raw = _join(raw, tolerance=1.5 / UPSAMPLE)
    kept = [line for line in raw if _length(line) >= min_length] or raw[:1]
    return [_simplify(line, 0.3) for line in kept]


def skeleton_length(image: np.ndarray) -> float:
    """Length in 28-grid pixels of the digit's traced skeleton (all pieces, spurs included)."""
    big = _zoom(np.asarray(image, np.float64).reshape(28, 28), UPSAMPLE) > THRESHOLD
    lines = _trace(thin(big))
    return sum(_length(np.array(line, np.float64)) for line in lines) / UPSAMPLE


def stroke_width(image: np.ndarray) -> tuple[float, float]:
    """(stroke width, ink box's longer side) of one MNIST digit, both in pixels.

    Width = total ink (sum of the grey levels) / skeleton length: the width of a pen that would
    lay down the same amount of ink along the same path. The box counts every pixel with any ink.
    """
    image = np.asarray(image, np.float64).reshape(28, 28)
    rows = np.flatnonzero(image.max(axis=1) > 0)
    cols = np.flatnonzero(image.max(axis=0) > 0)
    box = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    length = skeleton_length(image)
    return (float(image.sum() / length) if length > 0 else float("nan")), float(box)


def calibrate(images: np.ndarray) -> dict[str, float]:
    """The median pen width relative to the ink box over `images`, with its spread."""
    ratios = []
    widths = []
    for image in images:
        width, box = stroke_width(image)
        if math.isfinite(width):
            ratios.append(width / box)
            widths.append(width)
    ratios_a, widths_a = np.array(ratios), np.array(widths)
    return {"digits": len(ratios), "median_ratio": float(np.median(ratios_a)),
            "p10_ratio": float(np.percentile(ratios_a, 10)), "p90_ratio": float(np.percentile(ratios_a, 90)),
            "median_width_px": float(np.median(widths_a))}


def normalised(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Strokes moved and scaled so their points' box has its longer side 1 and its centre at (0, 0)."""
    points = np.vstack(strokes)
    lo, hi = points.min(axis=0), points.max(axis=0)
    side = max(float((hi - lo).max()), 1e-6)
    centre = (lo + hi) / 2
    return [(s - centre) / side for s in strokes]


if __name__ == "__main__":  # python -m benchmarks.strokes: the calibration behind preprocess.js' PEN_FRACTION
    from train.data import load_test_set

    images, _ = load_test_set()
    print(calibrate(images[:2000, ..., 0]))
