"""The Python reference of the page's preprocessing (tests/reference_preprocess.py): MNIST's own steps."""

from __future__ import annotations

import numpy as np
import pytest

from harness.strokes import trace_digit
from tests.reference_preprocess import (
    BOX,
    CENTRE,
    CURVE_STEPS,
    FIELD,
    PEN_FRACTION,
    area_resize,
    flatten_stroke,
    ink_bbox,
    ink_from_rgba,
    naive_resize,
    preprocess,
    preprocess_strokes,
)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: area averaging by the same factor gives the image back."""
    return np.kron(image, np.ones((factor, factor)))


def place(image: np.ndarray, size: int, top: int, left: int) -> np.ndarray:
    pad = np.zeros((size, size))
    pad[top:top + image.shape[0], left:left + image.shape[1]] = image
    return pad


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    return (image.sum(axis=1) @ np.arange(image.shape[0]) / total,
            image.sum(axis=0) @ np.arange(image.shape[1]) / total)


def test_empty_pad_gives_no_image() -> None:
    assert preprocess(np.zeros((300, 300))) is None
    assert ink_bbox(np.zeros((5, 5))) is None
    dot = np.zeros((300, 300))
    dot[100, 200] = 0.1  # any ink counts, as in MNIST: one faint dot is a (tiny) drawing
    assert ink_bbox(dot) == (100, 200, 100, 200)
    out = preprocess(dot)
    assert out is not None and out[CENTRE, CENTRE] == pytest.approx(0.1)


def test_area_resize_keeps_the_mean_and_inverts_upscaling() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((17, 23))
    assert np.allclose(area_resize(upscale(image, 6), 17, 23), image)
    for shape in [(5, 7), (20, 9), (31, 40)]:
        resized = area_resize(image, *shape)
        assert np.isclose(resized.mean(), image.mean())
        assert resized.min() >= image.min() - 1e-12 and resized.max() <= image.max() + 1e-12


def test_mnist_digits_survive_the_round_trip(mnist_test) -> None:
    """An MNIST digit enlarged on a big pad comes back as itself (MNIST's own steps, undone and redone)."""
    images, _ = mnist_test
    same = 0
    for k, digit in enumerate(images[:200, ..., 0].astype(np.float64)):
        pad = place(upscale(digit, 10), 400, 37 + k % 50, 61 + (3 * k) % 50)
        out = preprocess(pad)
        assert out is not None and out.shape == (FIELD, FIELD) and out.dtype == np.float32
        assert np.abs(out - digit).max() < 1e-5 or _shifted_by_one(out, digit), k
        same += bool(np.abs(out - digit).max() < 1e-5)
    assert same >= 100, f"only {same}/200 identical; the rest should be rare one-pixel rounding ties"


def _shifted_by_one(a: np.ndarray, b: np.ndarray) -> bool:
    return any(np.abs(np.roll(a, s, axis=ax) - b).max() < 1e-5 for ax in (0, 1) for s in (-1, 1))


def test_mnist_centres_of_mass_are_at_pixel_14(mnist_test) -> None:
    """The measurement behind CENTRE: MNIST puts the centre of mass at pixel index 14, not 13.5."""
    images, _ = mnist_test
    sample = images[:2000, ..., 0].astype(np.float64)
    centres = np.array([centre_of_mass(image) for image in sample])
    assert np.all(np.abs(centres - CENTRE) <= 0.5 + 1e-9)
    assert abs(centres.mean() - CENTRE) < 0.05


@pytest.mark.parametrize(("height", "width"), [(200, 120), (60, 240), (35, 35), (400, 16)])
def test_longer_side_becomes_20_and_centre_of_mass_is_centred(height: int, width: int) -> None:
    blob = np.zeros((height, width))
    blob[: height // 2, :] = 1.0  # heavier on top: the centre of mass is not the box centre
    blob[height // 2:, : max(1, width // 4)] = 1.0
    out = preprocess(place(blob, 500, 40, 70))
    rows = np.flatnonzero(out.max(axis=1) > 0)
    cols = np.flatnonzero(out.max(axis=0) > 0)
    long_side = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    assert long_side == BOX
    ratio_in, ratio_out = height / width, (rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1)
    assert abs(np.log(ratio_out / ratio_in)) < 0.35 or min(rows[-1] - rows[0], cols[-1] - cols[0]) < 2
    cy, cx = centre_of_mass(out)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5


def test_position_and_scale_do_not_matter() -> None:
    rng = np.random.default_rng(3)
    digit = (rng.random((20, 14)) > 0.6).astype(np.float64)
    small = preprocess(place(upscale(digit, 8), 420, 10, 300))
    large = preprocess(place(upscale(digit, 20), 420, 6, 80))
    assert np.abs(small - large).max() < 1e-6


def test_naive_resize_shrinks_an_off_centre_digit_into_a_corner() -> None:
    pad = np.zeros((280, 280))
    pad[10:90, 10:50] = 1.0
    naive = naive_resize(pad)
    cy, cx = centre_of_mass(naive)
    assert cy < 7 and cx < 5
    assert naive.shape == (28, 28)


def test_ink_from_rgba_reads_light_ink_on_transparent_or_dark() -> None:
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (255, 255, 255, 255)    # white ink
    rgba[0, 1] = (255, 255, 255, 128)    # anti-aliased edge on a transparent pad
    rgba[0, 2] = (0, 0, 0, 255)          # opaque black ground
    rgba[1, 0] = (100, 200, 50, 255)     # coloured ink: its brightest channel
    ink = ink_from_rgba(rgba)
    assert np.allclose(ink[0], [1.0, 128 / 255, 0.0])
    assert np.isclose(ink[1, 0], 200 / 255)
    assert ink[1, 1] == 0.0
    with pytest.raises(ValueError):
        ink_from_rgba(np.zeros((2, 2, 3), np.uint8))


# ---------------------------------------------------------------- strokes → MNIST

def _scaled(strokes: list, factor: float, dx: float, dy: float) -> list:
    return [[(x * factor + dx, y * factor + dy) for x, y in stroke] for stroke in strokes]


FOUR = [[(0.30, 0.10), (0.12, 0.62), (0.52, 0.62)], [(0.42, 0.20), (0.44, 0.95)]]


def test_strokes_read_the_same_small_or_large_anywhere() -> None:
    """The point of reading strokes: a digit 15% of the pad in a corner gives the same 28x28 as
    one 90% of the pad in the middle (the pad's fixed pen would have made the small one a blob)."""
    small = preprocess_strokes(_scaled(FOUR, 0.15, 0.02, 0.01))
    large = preprocess_strokes(_scaled(FOUR, 0.9, 0.05, 0.03))
    assert small is not None and small.shape == (FIELD, FIELD) and small.dtype == np.float32
    assert np.abs(small - large).max() < 0.02
    cy, cx = centre_of_mass(small)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5


def test_stroke_width_is_the_calibrated_fraction_of_the_box() -> None:
    """A T (square box): 20 px tall, and the stem's ink per row equals the pen, PEN_FRACTION x 20 px,
    whatever the size it was drawn at."""
    for size in (0.1, 0.8):
        out = preprocess_strokes(_scaled([[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]], size, 0.1, 0.1))
        rows = np.flatnonzero(out.max(axis=1) > 0)
        assert rows[-1] - rows[0] + 1 == BOX
        stem = out[rows[0] + 6:rows[-1] - 3]
        assert np.allclose(stem.sum(axis=1), PEN_FRACTION * BOX, atol=0.15), stem.sum(axis=1)
    assert preprocess_strokes([]) is None and preprocess_strokes([[]]) is None


def test_flattened_stroke_follows_the_pads_curves() -> None:
    path = flatten_stroke([(0, 0), (1, 0), (1, 1)])
    assert path[0] == (0.0, 0.0) and path[-1] == (1.0, 1.0)
    assert len(path) == 2 + CURVE_STEPS
    assert flatten_stroke([(0.2, 0.3)]) == [(0.2, 0.3)]


def test_traced_mnist_digits_redraw_as_themselves(mnist_test) -> None:
    """harness/strokes.py traces test digits into strokes; re-drawn, they overlap the originals."""
    images, _ = mnist_test
    for image in images[:5, ..., 0]:
        strokes = trace_digit(image)
        assert strokes and all(s.ndim == 2 and s.shape[1] == 2 for s in strokes)
        redrawn = preprocess_strokes([s.tolist() for s in strokes])
        overlap = (redrawn * image).sum() / np.sqrt((redrawn ** 2).sum() * (image ** 2).sum())
        assert overlap > 0.6, overlap
