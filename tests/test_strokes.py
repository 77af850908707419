"""harness/strokes.py: traced digits keep their loops, lose Zhang-Suen's spurs and redraw as themselves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.ndimage import label

from harness.strokes import (
    UPSAMPLE,
    _lift_midway,
    _minimal,
    _overlap,
    _zoom,
    decompose,
    redraw,
    skeleton_pieces,
    thin,
    trace_digit,
)
from tests.reference_preprocess import preprocess, preprocess_strokes

SCALE = 8  # strokes are drawn 8x to count their loops


def drawn(strokes: list[np.ndarray]) -> np.ndarray:
    """The strokes as one-pixel lines on a (28 * SCALE)^2 grid (8-connected where they run on)."""
    grid = np.zeros((28 * SCALE, 28 * SCALE), bool)
    for stroke in strokes:
        points = [stroke[:1]]
        for a, b in itertools.pairwise(stroke):
            steps = max(2, int(np.ceil(np.hypot(*(b - a)) * SCALE * 4)))
            points.append(a + (b - a) * np.linspace(0, 1, steps)[:, None])
        cells = np.floor(np.vstack(points) * SCALE).astype(int).clip(0, 28 * SCALE - 1)
        grid[cells[:, 1], cells[:, 0]] = True
    return grid


def holes(mask: np.ndarray, min_px: int = 1) -> int:
    """Enclosed background pieces of `min_px` pixels or more (4-connected background, as around
    8-connected ink)."""
    labels, count = label(~mask)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    border = set(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]).tolist())
    return sum(1 for k in range(1, count + 1) if k not in border and sizes[k] >= min_px)


def loops(strokes: list[np.ndarray]) -> int:
    """Loops the strokes close, ignoring slivers under a pixel of the 28 grid (where simplified
    strokes that meet cross by a fraction of a pixel)."""
    return holes(drawn(strokes), min_px=SCALE * SCALE)


def ring(cy: float, cx: float, radius: float, half_width: float) -> np.ndarray:
    """A round stroke of grey ink, 1 in the middle fading to 0 over a pixel at its edges."""
    y, x = np.mgrid[0:28, 0:28] + 0.5
    off = np.abs(np.hypot(y - cy, x - cx) - radius)
    return np.clip(half_width + 0.5 - off, 0, 1)


def test_thick_eight_keeps_both_loops() -> None:
    """An 8 whose lower loop the thick stroke has nearly filled: at the 0.35 threshold the pocket is
    ink, but the grey levels still show it (as MNIST's 8s do). The tracing keeps both loops."""
    upper = ring(9.0, 14.0, 4.2, 1.5)
    lower = ring(19.0, 14.0, 3.2, 1.5)
    y, x = np.mgrid[0:28, 0:28] + 0.5
    pocket = np.where(np.hypot(y - 19.0, x - 14.0) < 3.2, 0.45, 0.0)  # grey ink in the small loop
    image = np.maximum.reduce([upper, lower, pocket])
    grey = _zoom(image, UPSAMPLE)
    assert holes(grey > 0.35) == 1 and holes(grey > 0.5) == 2  # the threshold alone fills the lower loop
    strokes = trace_digit(image)
    assert loops(strokes) == 2


def test_thick_o_keeps_its_loop_and_a_solid_blob_gets_none() -> None:
    image = ring(14.0, 14.0, 5.0, 2.2)
    image[12:16, 12:16] = np.maximum(image[12:16, 12:16], 0.45)  # a grey smudge in the middle
    assert loops(trace_digit(image)) == 1
    y, x = np.mgrid[0:28, 0:28] + 0.5
    blob = np.clip(6.5 - np.hypot(y - 14, x - 14), 0, 1)  # a dot: no dark pocket anywhere
    assert loops(trace_digit(blob)) == 0


def bar(a: tuple[float, float], b: tuple[float, float], half_width: float) -> np.ndarray:
    """A stroke with square ends from a to b ((x, y), 28 grid): a flat pen's mark."""
    y, x = np.mgrid[0:28, 0:28] + 0.5
    start, d = np.array(a), np.array(b) - np.array(a)
    length = float(np.hypot(*d))
    u = d / length
    along = (x - start[0]) * u[0] + (y - start[1]) * u[1]
    across = -(x - start[0]) * u[1] + (y - start[1]) * u[0]
    return ((along >= 0) & (along <= length) & (np.abs(across) <= half_width)).astype(float)


def test_thick_slanted_l_has_no_spurs() -> None:
    """A thick L with square corners, tilted 30 degrees: Zhang-Suen alone grows spurs into its
    corners; the tracing is one stroke from the top of the upright to the end of the foot."""
    angle, half = np.radians(30), 2.5

    def turned(x: float, y: float) -> tuple[float, float]:
        return (14 + (x - 14) * np.cos(angle) - (y - 14) * np.sin(angle),
                14 + (x - 14) * np.sin(angle) + (y - 14) * np.cos(angle))

    top, corner, foot = turned(9, 5), turned(9, 22), turned(21, 22)
    image = np.maximum(bar(top, corner, half), bar(turned(9 - half, 22), foot, half))
    raw = np.pad(thin(_zoom(image, UPSAMPLE) > 0.35), 1).astype(int)
    neighbours = sum(np.roll(np.roll(raw, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - raw
    assert ((raw == 1) & (neighbours == 1)).sum() > 2  # the spurs this test is about are there
    strokes = trace_digit(image)
    assert len(strokes) == 1  # one stroke, no branch: a spur would be a stroke of its own
    ends = [strokes[0][0], strokes[0][-1]]
    for target in (top, foot):
        assert min(np.hypot(*(end - np.array(target))) for end in ends) < half + 1.0


def test_minimal_skeleton_keeps_the_topology(mnist_test) -> None:
    """Dropping Zhang-Suen's redundant pixels changes neither pieces nor loops, and leaves no pixel
    that could go."""
    images, _ = mnist_test
    for image in images[:40, ..., 0]:
        skeleton = thin(_zoom(image, UPSAMPLE) > 0.35)
        minimal = _minimal(skeleton)
        assert not (minimal & ~skeleton).any()
        eight = np.ones((3, 3))
        assert label(minimal, eight)[1] == label(skeleton, eight)[1]
        assert holes(minimal) == holes(skeleton)
        assert np.array_equal(_minimal(minimal), minimal)


@pytest.mark.parametrize("index", [7094, 9110])
def test_mnist_eights_with_a_filled_loop_keep_both(mnist_test, index: int) -> None:
    """MNIST test 8s whose small loop the plain 0.35 threshold fills (they were traced as 9s)."""
    images, labels = mnist_test
    image = images[index, ..., 0]
    assert labels[index] == 8
    assert holes(_zoom(image, UPSAMPLE) > 0.35, min_px=4) == 1
    assert loops(trace_digit(image)) == 2


def test_traced_mnist_digits_redraw_close_to_the_originals(mnist_test) -> None:
    """Re-drawn with the page's pen and normalised as MNIST, traced digits overlap the originals."""
    images, _ = mnist_test
    overlaps = []
    for image in images[:60, ..., 0]:
        strokes = trace_digit(image)
        assert strokes and all(s.ndim == 2 and s.shape[1] == 2 for s in strokes)
        redrawn = preprocess_strokes([s.tolist() for s in strokes])
        original = preprocess(image.astype(np.float64))
        norm = np.sqrt((redrawn ** 2).sum() * (original ** 2).sum())
        overlaps.append(float((redrawn * original).sum() / norm))
    assert np.median(overlaps) > 0.85 and min(overlaps) > 0.6, (np.median(overlaps), min(overlaps))


def test_a_pen_lift_midway_cuts_a_stroke_where_it_resumes() -> None:
    line = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    first, second = _lift_midway(line, np.random.default_rng(0))
    assert np.array_equal(first[0], line[0]) and np.array_equal(second[-1], line[-1])
    assert np.array_equal(first[-1], second[0])  # the pen resumes where it lifted
    along = float(np.hypot(*np.diff(first, axis=0).T).sum())
    assert 0.25 * 20 <= along <= 0.75 * 20  # 25-75% of the way along


def test_decompositions_draw_the_same_digit_in_different_strokes(mnist_test) -> None:
    """Each MNIST digit drawn several ways (split at different junctions, a pen lift midway, any
    order and direction): different strokes, the same ink as the benchmark's tracing."""
    images, labels = mnist_test
    for index in (4, 6, 61, 84):  # 4, 4, 8, 8
        assert labels[index] in (4, 8)
        image = images[index, ..., 0]
        traced = redraw(trace_digit(image))
        pieces = skeleton_pieces(image)
        rng = np.random.default_rng(index)
        ways = [decompose(pieces, rng) for _ in range(8)]
        assert len({len(way) for way in ways}) >= 2, index  # stroke counts differ
        starts = {tuple(np.round(way[0][0], 3)) for way in ways}
        assert len(starts) >= 3, index  # the first stroke starts in different places
        for way in ways:
            assert _overlap(redraw(way), traced) > 0.9, index
