"""MNIST digits as pen strokes: thin a digit to its skeleton, trace the skeleton into polylines,
and measure MNIST's stroke width. The robustness benchmark and the drawing tests replay these
polylines on the page as real pointer events (people draw strokes, not images).

numpy and scipy only. Coordinates are (x, y) in the 28x28 grid's pixel units unless said otherwise.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

UPSAMPLE = 4  # the digit is enlarged 4x (bilinear) before thinning, so the skeleton is smooth
THRESHOLD = 0.35  # ink above this grey level is stroke (lower than 1/2: faint joins stay joined)

_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))  # P2..P9, clockwise


def _zoom(image: np.ndarray, factor: int) -> np.ndarray:
    from scipy.ndimage import zoom

    return zoom(image.astype(np.float64), factor, order=1)


def _ring(img: np.ndarray) -> list[np.ndarray]:
    """The 8 neighbours P2..P9 of every pixel of a zero-padded uint8 image."""
    return [np.roll(np.roll(img, -dy, 0), -dx, 1) for dy, dx in _NEIGHBOURS]


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean image to a one-pixel-wide 8-connected skeleton."""
    img = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = _ring(img)
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
    """Chain polylines whose ends meet (within `tolerance`) into longer strokes, as a pen would: of
    the pairs that meet, the one that runs on most nearly straight is chained first."""
    lines = [line.copy() for line in lines]
    while len(lines) > 1:
        ends = np.array([[line[0], line[-1]] for line in lines])  # (n, 2 ends, 2)
        flat = ends.reshape(-1, 2)
        close = np.hypot(*(flat[:, None] - flat[None]).transpose(2, 0, 1)) <= tolerance
        best = None
        for u, v in zip(*np.nonzero(np.triu(close, 1)), strict=True):
            i, j = u // 2, v // 2
            if i == j:
                continue
            pa = lines[i] if u % 2 else lines[i][::-1]  # oriented to end where they meet
            pb = lines[j][::-1] if v % 2 else lines[j]  # oriented to start there
            turn = _turn(pa, pb)
            if best is None or turn < best[0]:
                best = (turn, i, j, pa, pb)
        if best is None:
            break
        _, i, j, pa, pb = best
        lines[i] = np.vstack([pa, pb[1:]])
        del lines[j]
    return lines


def _turn(a: np.ndarray, b: np.ndarray, reach: int = 6) -> float:
    """How sharply a pen would turn going from polyline `a`'s end into `b`'s start (0 = straight on)."""
    da = a[-1] - a[max(0, len(a) - 1 - reach)]
    db = b[min(len(b) - 1, reach)] - b[0]
    na, nb = math.hypot(*da), math.hypot(*db)
    if na == 0 or nb == 0:
        return 1.0
    return 1.0 - float(da @ db) / (na * nb)


# ---------------------------------------------------------------- faithful skeletons
# Zhang-Suen on the 0.35 mask alone loses what a writer drew: a thick stroke fills a small loop (an 8
# becomes a 9), and the skeleton grows spurs into the corners and blunt ends of thick strokes (a 1
# gets a tick). trace_digit therefore (1) re-opens loops that the ink's grey levels show, choosing
# among candidates by how well they redraw the digit, and (2) prunes spurs with the distance
# transform. No classifier is involved: the criteria are the ink alone.

HOLE_LEVELS = (0.5, 0.65, 0.8)  # grey levels at which enclosed dark pockets are taken as loops
MIN_HOLE_PX = 4  # pockets smaller than this (in 4x pixels) are noise, not loops
SPUR_FACTOR = 0.5  # a branch from an end to a junction is a spur when the ink it draws beyond the
# junction's maximal disc reaches less than this x the digit's typical half-width (see _prune)
REDRAW_PEN = 1 / 7  # the page's pen relative to the strokes' box (PEN_FRACTION 1/8 of the box that
# includes the pen: see tests/reference_preprocess.py raster_strokes)


def _redundant(code: int) -> bool:
    """Whether a skeleton pixel whose neighbours P2..P9 are the bits of `code` can go: it ends
    nothing (two or more neighbours), they stay one 8-connected piece without it, and no hole opens
    (a side neighbour is background)."""
    on = [bool(code >> k & 1) for k in range(8)]
    if sum(on) < 2 or all(on[k] for k in (0, 2, 4, 6)):
        return False
    seen, pieces = [False] * 8, 0
    for k in range(8):
        if on[k] and not seen[k]:
            pieces += 1
            stack = [k]
            while stack:
                m = stack.pop()
                if not seen[m]:
                    seen[m] = True
                    # ring neighbours touch; two side pixels (N, E) touch diagonally too
                    steps = (1, 7, 2, 6) if m % 2 == 0 else (1, 7)
                    stack += [(m + s) % 8 for s in steps if on[(m + s) % 8]]
    return pieces == 1


_REDUNDANT = np.array([_redundant(code) for code in range(256)])


def _codes(img: np.ndarray) -> np.ndarray:
    return sum(p.astype(np.int32) << k for k, p in enumerate(_ring(img)))


def _minimal(skeleton: np.ndarray) -> np.ndarray:
    """Zhang-Suen's skeleton without its redundant staircase pixels, so that every pixel with three
    or more neighbours is a real junction."""
    img = np.pad(skeleton.astype(np.uint8), 1)
    while True:
        removed = False
        for r, c in np.argwhere((img == 1) & _REDUNDANT[_codes(img)]):  # one at a time: of two
            code = sum(int(img[r + dy, c + dx]) << k for k, (dy, dx) in enumerate(_NEIGHBOURS))
            if _REDUNDANT[code]:  # neighbouring redundant pixels, only one may go
                img[r, c] = 0
                removed = True
        if not removed:
            return img[1:-1, 1:-1].astype(bool)


def _prune(skeleton: np.ndarray, radius: np.ndarray, factor: float | None = None) -> np.ndarray:
    """The skeleton without its spurs. `radius` is the ink's distance transform: the skeleton is the
    centre line of discs of that radius. A branch from an end pixel e to a junction j (path length L)
    adds ink up to L + radius[e] - radius[j] beyond the disc at j; a spur (Zhang-Suen's branches into
    the corners and blunt ends of thick strokes) adds less than `factor` x the typical half-width (the
    median radius on the skeleton), a stroke more. At each junction at least two branches stay, so
    a short stroke is trimmed, never erased."""
    skeleton = skeleton.copy()
    if not skeleton.any():
        return skeleton
    typical = float(np.median(radius[skeleton]))
    limit = (SPUR_FACTOR if factor is None else factor) * typical
    for _ in range(2):  # a second pass for the spurs of junctions that the first pass dissolved
        pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}

        def neighbours(p: tuple[int, int], pixels: set = pixels) -> list[tuple[int, int]]:
            return [(p[0] + dy, p[1] + dx) for dy, dx in _NEIGHBOURS if (p[0] + dy, p[1] + dx) in pixels]

        degree = {p: len(neighbours(p)) for p in pixels}
        at_junction: dict[tuple[int, int], list[tuple[float, list[tuple[int, int]]]]] = {}
        for end in (p for p in pixels if degree[p] == 1):
            branch, length, prev = [end], 0.0, None
            while True:
                here = branch[-1]
                options = [q for q in neighbours(here) if q != prev]
                if not options:
                    break
                nxt = options[0]
                length += math.hypot(nxt[0] - here[0], nxt[1] - here[1])
                branch.append(nxt)
                if degree[nxt] != 2:
                    break
                prev = here
            junction = branch[-1]
            if degree[junction] >= 3:
                reach = length + float(radius[end]) - float(radius[junction])
                at_junction.setdefault(junction, []).append((reach, branch[:-1]))
        changed = False
        for junction, branches in at_junction.items():
            spurs = sorted(b for b in branches if b[0] < limit)
            keep = max(0, 2 - (degree[junction] - len(branches)))  # branches that must stay: longest
            for _, branch in spurs[:len(branches) - keep]:
                for p in branch:
                    skeleton[p] = False
                changed = True
        if not changed:
            break
        skeleton = _minimal(skeleton)
    return skeleton


def _holes(mask: np.ndarray, min_px: int = MIN_HOLE_PX) -> np.ndarray:
    """The enclosed background of a mask (pockets not connected to the border), without tiny ones."""
    from scipy.ndimage import label

    labels, count = label(~mask)  # 4-connected background, matching 8-connected ink
    if count == 0:
        return np.zeros_like(mask)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= min_px
    keep[border] = False
    keep[0] = False
    return keep[labels]


JOIN_TOLERANCE = 1.5 / UPSAMPLE  # line ends this close (28-grid px) meet at a junction


def _pieces_of(mask: np.ndarray, radius: np.ndarray) -> list[np.ndarray]:
    """The pruned skeleton's polylines between ends and junctions (28-grid (x, y)), unjoined."""
    skeleton = _prune(_minimal(thin(mask)), radius)
    return [np.array([[(c + 0.5) / UPSAMPLE, (r + 0.5) / UPSAMPLE] for r, c in line], np.float64)
            for line in _trace(skeleton)]


def _finished(strokes: list[np.ndarray], min_length: float) -> list[np.ndarray]:
    """Strokes without bits shorter than `min_length` (unless nothing else is left), simplified."""
    kept = [line for line in strokes if _length(line) >= min_length] or strokes[:1]
    return [_simplify(line, 0.3) for line in kept]


def redraw(strokes: list[np.ndarray], pen: float = REDRAW_PEN, supersample: int = 4) -> np.ndarray:
    """Strokes (28-grid) → 28x28 ink drawn in place with a round pen `pen` x the strokes' box (as the
    page draws them, before it crops and centres): what trace_digit compares with the digit."""
    points = np.vstack(strokes)
    side = float((points.max(axis=0) - points.min(axis=0)).max())
    r = max(pen * side, 1.0) / 2 * supersample
    size = 28 * supersample
    ink = np.zeros((size, size))
    for stroke in strokes:
        pts = stroke * supersample
        for a, b in itertools.pairwise(pts) if len(pts) > 1 else [(pts[0], pts[0])]:
            lo, hi = np.minimum(a, b) - r - 1, np.maximum(a, b) + r + 2
            x0, x1 = max(0, math.floor(lo[0])), min(size, math.ceil(hi[0]))
            y0, y1 = max(0, math.floor(lo[1])), min(size, math.ceil(hi[1]))
            if x0 >= x1 or y0 >= y1:
                continue
            py, px = np.mgrid[y0:y1, x0:x1] + 0.5
            d = b - a
            len2 = float(d @ d)
            t = np.clip(((px - a[0]) * d[0] + (py - a[1]) * d[1]) / len2, 0, 1) if len2 > 0 else 0.0
            dist = np.hypot(px - (a[0] + t * d[0]), py - (a[1] + t * d[1]))
            np.maximum(ink[y0:y1, x0:x1], np.clip(r + 0.5 - dist, 0, 1), out=ink[y0:y1, x0:x1])
    return ink.reshape(28, supersample, 28, supersample).mean(axis=(1, 3))


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    norm = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm > 0 else 0.0


def trace_digit(image: np.ndarray, min_length: float = 1.0) -> list[np.ndarray]:
    """A 28x28 digit in [0, 1] → strokes: a list of (K, 2) float arrays of (x, y) in 28-grid pixels.

    The digit is enlarged 4x and thresholded at THRESHOLD. Where the ink's grey levels show loops
    that the threshold filled (dark pockets enclosed by ink at a higher level, HOLE_LEVELS), those
    pockets are cut out again; of these candidates (none cut, those up to 0.5, 0.65, 0.8), the one
    whose strokes redrawn with the page's pen (`redraw`) overlap the digit best is kept. The mask is
    thinned (Zhang-Suen), spurs are pruned (`_prune`), and the skeleton is traced, simplified (0.3 px)
    and chained end to end; bits shorter than `min_length` px are dropped, unless nothing else is left.
    """
    image = np.asarray(image, np.float64).reshape(28, 28)
    return _best_tracing(image, _masks(image), min_length)[0]


def _masks(image: np.ndarray) -> list[np.ndarray]:
    """The thresholded digit, and the same with the loops its grey levels show cut out again."""
    grey = _zoom(image, UPSAMPLE)
    base = grey > THRESHOLD
    masks = [base]
    cut = np.zeros_like(base)
    for level in HOLE_LEVELS:
        cut = cut | _holes(grey > level)
        mask = base & ~cut
        if not np.array_equal(mask, masks[-1]):
            masks.append(mask)
    return masks


def _best_tracing(image: np.ndarray, masks: list[np.ndarray], min_length: float
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(strokes, unjoined pieces) of the mask whose strokes redraw the digit best."""
    from scipy.ndimage import distance_transform_edt

    best: tuple[float, list[np.ndarray], list[np.ndarray]] | None = None
    for mask in masks:
        pieces = _pieces_of(mask, distance_transform_edt(mask))
        strokes = _finished(_join(pieces, tolerance=JOIN_TOLERANCE), min_length)
        score = _overlap(redraw(strokes), image) if len(masks) > 1 else 0.0
        if best is None or score > best[0]:
            best = (score, strokes, pieces)
    assert best is not None
    return best[1], best[2]


def skeleton_pieces(image: np.ndarray) -> list[np.ndarray]:
    """The polylines between ends and junctions of the skeleton that `trace_digit` chains into strokes
    (28-grid (x, y)): the parts a writer may draw in any grouping and order (`decompose`)."""
    image = np.asarray(image, np.float64).reshape(28, 28)
    return _best_tracing(image, _masks(image), 1.0)[1]


TINY = 3.0  # px (28 grid): a skeleton piece this short is part of a junction, never a stroke alone


def _pen_chain(pieces: list[np.ndarray], rng: np.random.Generator, lift: float) -> list[np.ndarray]:
    """Chain skeleton pieces into strokes as a pen might: start on a random piece, and at each
    junction, at either end, run on into a piece that meets it (the straighter the likelier) or,
    with probability `lift`, lift the pen there (never next to a TINY piece)."""
    left = [piece.copy() for piece in pieces]
    strokes = []
    while left:
        line = left.pop(int(rng.integers(len(left))))
        for _ in range(2):  # run on from its end, then from its start
            line = _run_on(line[::-1], left, rng, lift)
        strokes.append(line if rng.random() < 0.5 else line[::-1])
    return strokes


def _run_on(line: np.ndarray, left: list[np.ndarray], rng: np.random.Generator, lift: float) -> np.ndarray:
    """`line` extended from its end through the pieces of `left` that meet it (used ones removed)."""
    while True:
        meeting = [(k, oriented) for k, piece in enumerate(left) for oriented in (piece, piece[::-1])
                   if math.hypot(*(oriented[0] - line[-1])) <= JOIN_TOLERANCE]
        tiny = _length(line) < TINY or any(_length(o) < TINY for _, o in meeting)
        if not meeting or (not tiny and rng.random() < lift):  # a pen lifts after a real stroke
            return line
        weights = np.array([math.exp(-3 * _turn(line, oriented)) for _, oriented in meeting])
        k, oriented = meeting[int(rng.choice(len(meeting), p=weights / weights.sum()))]
        line = np.vstack([line, oriented[1:]])
        del left[k]


def _lift_midway(stroke: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """A stroke drawn in two: the pen lifted at a random point 25-75% of the way along it."""
    steps = np.hypot(*np.diff(stroke, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    at = rng.uniform(0.25, 0.75) * along[-1]
    k = int(np.searchsorted(along, at, side="right"))
    if k <= 0 or k >= len(stroke):
        return [stroke]
    cut = stroke[k - 1] + (stroke[k] - stroke[k - 1]) * (at - along[k - 1]) / max(steps[k - 1], 1e-9)
    return [np.vstack([stroke[:k], cut]), np.vstack([cut, stroke[k:]])]


def decompose(pieces: list[np.ndarray], rng: np.random.Generator, *, lift: float = 0.25,
              midway: float = 0.2, min_length: float = 1.0) -> list[np.ndarray]:
    """One way of drawing a digit's skeleton pieces (`skeleton_pieces`) as strokes: chained at
    junctions at random (`_pen_chain`, the pen lifted at a junction with probability `lift`), each
    stroke of 6 px or more cut in two midway with probability `midway`, in a random order and
    direction; bits under `min_length` px dropped (unless nothing else is left), simplified."""
    strokes = []
    for stroke in _pen_chain(pieces, rng, lift):
        long = _length(stroke) >= 6.0
        strokes += _lift_midway(stroke, rng) if long and rng.random() < midway else [stroke]
    strokes = [s[::-1] if rng.random() < 0.5 else s for s in strokes]
    order = rng.permutation(len(strokes))
    return _finished([strokes[k] for k in order], min_length)


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


if __name__ == "__main__":  # python -m harness.strokes: the calibration behind strokes.js' PEN_FRACTION
    from mnist_tfjs.mnist import load_test_set

    images, _ = load_test_set()
    print(calibrate(images[:2000, ..., 0]))
