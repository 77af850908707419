"""Canvas pixels or strokes → a 28x28 MNIST-style image: the Python twin of `web/static/preprocess.js`
(pixels) and `web/static/strokes.js` (strokes).

The steps follow how MNIST was made (LeCun, Cortes, Burges): crop to the ink's bounding
box, scale the longer side to 20 px keeping the aspect ratio with area averaging (so
grey levels appear at the edges, as with the original anti-aliasing), then place the
result in a 28x28 field so that its centre of mass sits at the centre (pixel 14, see CENTRE). Intensities are
in [0, 1], white ink on black.

numpy only; the tests compare the page's JavaScript against this file, so any change
here must be made there too (same constants, same rounding).
"""

from __future__ import annotations

import math

import numpy as np

FIELD = 28          # output side, pixels
BOX = 20            # the longer side of the digit after scaling
# Where the centre of mass goes, as a pixel index (0-27). Measured on the MNIST test set: the
# intensity-weighted centre (sum of v * index / sum of v) lies in [13.5, 14.5] for every digit,
# so MNIST put it at pixel 14, not at the geometric centre 13.5. Half a pixel off costs a point
# of accuracy on re-drawn digits.
CENTRE = 14
INK_THRESHOLD = 0.0  # any ink counts towards the bounding box, as in MNIST (grey edges included)


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 (H, W, 4) → ink intensity (H, W) float64 in [0, 1]: alpha * brightest channel.

    Works for light ink on a transparent pad and for light ink on an opaque dark canvas.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGBA of shape (H, W, 4), got {rgba.dtype} {rgba.shape}")
    channels = rgba.astype(np.float64)
    return channels[..., 3] * channels[..., :3].max(axis=2) / (255.0 * 255.0)


def _round_half_up(value: float) -> int:
    """floor(x + 0.5): the same rounding as the JavaScript twin (not numpy's half-to-even)."""
    return math.floor(value + 0.5)


def area_weights(src: int, dst: int) -> np.ndarray:
    """(dst, src) matrix averaging source pixels by the fraction of each destination pixel they cover."""
    scale = src / dst
    weights = np.zeros((dst, src), dtype=np.float64)
    for j in range(dst):
        start, end = j * scale, (j + 1) * scale
        first = math.floor(start)
        last = min(src - 1, math.ceil(end) - 1)
        for i in range(first, last + 1):
            overlap = min(end, i + 1) - max(start, i)
            if overlap > 0:
                weights[j, i] = overlap / scale
    return weights


def area_resize(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Resize a 2-D array by area averaging (exact box filter; a plain box when enlarging)."""
    rows = area_weights(image.shape[0], out_h)
    cols = area_weights(image.shape[1], out_w)
    return rows @ image.astype(np.float64) @ cols.T


def ink_bbox(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right), inclusive, of the pixels above `threshold`; None for an empty pad."""
    mask = ink > threshold
    if not mask.any():
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


def preprocess(ink: np.ndarray) -> np.ndarray | None:
    """Ink intensities (H, W) in [0, 1] → float32 (28, 28) as MNIST was made; None when no ink."""
    if ink.ndim != 2:
        raise ValueError(f"expected a 2-D ink array, got shape {ink.shape}")
    box = ink_bbox(ink)
    if box is None:
        return None
    top, left, bottom, right = box
    crop = ink[top:bottom + 1, left:right + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    out_h = min(BOX, max(1, _round_half_up(height * scale)))
    out_w = min(BOX, max(1, _round_half_up(width * scale)))
    small = area_resize(crop, out_h, out_w)

    total = small.sum()
    if total <= 0:
        return None
    centre_y = (small.sum(axis=1) @ np.arange(out_h)) / total
    centre_x = (small.sum(axis=0) @ np.arange(out_w)) / total
    off_y = min(max(_round_half_up(CENTRE - centre_y), 0), FIELD - out_h)
    off_x = min(max(_round_half_up(CENTRE - centre_x), 0), FIELD - out_w)

    field = np.zeros((FIELD, FIELD), dtype=np.float64)
    field[off_y:off_y + out_h, off_x:off_x + out_w] = small
    return np.clip(field, 0.0, 1.0).astype(np.float32)


def naive_resize(ink: np.ndarray) -> np.ndarray:
    """What naive demos do: the whole pad area-averaged to 28x28, no crop, no centring."""
    return np.clip(area_resize(ink, FIELD, FIELD), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------- strokes → MNIST (strokes.js twin)
# See strokes.js for why and for how PEN_FRACTION was measured (harness/strokes.py).
PEN_FRACTION = 0.125
SUPERSAMPLE = 4
CURVE_STEPS = 4


def flatten_stroke(points: list) -> list[tuple[float, float]]:
    """The pad's smoothed path (quadratics through successive midpoints) as a polyline."""
    pts = [(float(x), float(y)) for x, y in points]
    if len(pts) < 3:
        return pts
    out = [pts[0]]
    start = pts[0]
    for i in range(1, len(pts) - 1):
        control = pts[i]
        end = ((pts[i][0] + pts[i + 1][0]) / 2, (pts[i][1] + pts[i + 1][1]) / 2)
        for k in range(1, CURVE_STEPS + 1):
            t = k / CURVE_STEPS
            u = 1 - t
            out.append((u * u * start[0] + 2 * u * t * control[0] + t * t * end[0],
                        u * u * start[1] + 2 * u * t * control[1] + t * t * end[1]))
        start = end
    out.append(pts[-1])
    return out


def strokes_box(strokes: list) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) of all points, or None."""
    points = [p for s in strokes for p in s]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def raster_strokes(strokes: list, pen: float = PEN_FRACTION) -> np.ndarray | None:
    """Strokes → ink (H, W) re-drawn with a pen `pen` of the digit's box at 4x the 20 px box."""
    paths = [flatten_stroke(s) for s in strokes if len(s)]
    box = strokes_box(paths)
    if box is None:
        return None
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    side = max(w, h)
    hi_box = BOX * SUPERSAMPLE
    pen_px = pen * hi_box
    r = pen_px / 2
    scale = (hi_box - pen_px) / side if side > 0 else 0.0
    width = math.ceil(w * scale + pen_px) + 2
    height = math.ceil(h * scale + pen_px) + 2
    ink = np.zeros((height, width))
    for path in paths:
        pts = [((x - left) * scale + r + 1, (y - top) * scale + r + 1) for x, y in path]
        for k in range(max(1, len(pts) - 1)):
            ax, ay = pts[k]
            bx, by = pts[min(k + 1, len(pts) - 1)]
            dx, dy = bx - ax, by - ay
            len2 = dx * dx + dy * dy
            x0 = max(0, math.floor(min(ax, bx) - r - 1))
            x1 = min(width - 1, math.ceil(max(ax, bx) + r + 1))
            y0 = max(0, math.floor(min(ay, by) - r - 1))
            y1 = min(height - 1, math.ceil(max(ay, by) + r + 1))
            py, px = np.mgrid[y0:y1 + 1, x0:x1 + 1] + 0.5
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / len2, 0, 1) if len2 > 0 else np.zeros_like(px)
            dist = np.hypot(px - (ax + t * dx), py - (ay + t * dy))
            v = np.clip(r + 0.5 - dist, 0.0, 1.0)
            np.maximum(ink[y0:y1 + 1, x0:x1 + 1], v, out=ink[y0:y1 + 1, x0:x1 + 1])
    return ink


def preprocess_strokes(strokes: list, pen: float = PEN_FRACTION) -> np.ndarray | None:
    """Strokes → float32 (28, 28) as MNIST was made from them (ink quantised to 8 bits, as the page's
    ImageData), or None when there are none."""
    ink = raster_strokes(strokes, pen)
    if ink is None:
        return None
    return preprocess(np.floor(ink * 255 + 0.5) / 255)
