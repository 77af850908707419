"""How drawings are read: strokes re-drawn at MNIST's scale, small and corner digits,
several digits read as a number, undo inside a number, and the page saying when it is unsure.

MNIST test digits are traced into strokes (harness/strokes.py) and drawn with Playwright's
mouse: real pointer events through the pad. `python -m benchmarks --only robustness` measures
the same at scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.page_driver import call_in_page, draw_strokes, predict_pixels
from harness.strokes import normalised, trace_digit
from tests.helpers import PAGE_CHECKS
from tests.reference_preprocess import preprocess_strokes

pytestmark = pytest.mark.browser

Strokes = list[np.ndarray]


def placed(strokes: Strokes, height: float, left: float, top: float) -> Strokes:
    """Traced strokes scaled to `height` (pad fractions) with their box's top-left at (left, top)."""
    unit = normalised(strokes)
    points = np.vstack(unit)
    lo, span = points.min(axis=0), np.ptp(points, axis=0)
    scale = height / max(float(span[1]), 1e-6)
    return [(s - lo) * scale + np.array([left, top]) for s in unit]


def width_of(strokes: Strokes) -> float:
    return float(np.ptp(np.vstack(strokes)[:, 0]))


@pytest.fixture(scope="module")
def clear_digits(demo_page, mnist_test) -> dict[int, Strokes]:
    """For each label, the first test digit whose traced strokes the page's model reads right and
    surely when re-drawn large (Python twin): the tests then check drawing habits, not the model."""
    images, labels = mnist_test
    chosen: dict[int, Strokes] = {}
    for start in range(0, 400, 50):
        batch = [(i, trace_digit(images[i, ..., 0])) for i in range(start, start + 50)
                 if int(labels[i]) not in chosen]
        pixels = np.stack([preprocess_strokes([s.tolist() for s in strokes]) for _, strokes in batch])
        probs = predict_pixels(demo_page.page, pixels)
        for (i, strokes), p in zip(batch, probs, strict=True):
            if int(labels[i]) not in chosen and p.argmax() == labels[i] and p.max() > 0.95:
                chosen[int(labels[i])] = strokes
        if len(chosen) == 10:
            break
    assert len(chosen) == 10, f"no clearly read test digit for {sorted(set(range(10)) - set(chosen))}"
    return chosen


def read_number(page: Any) -> dict[str, Any]:
    return page.evaluate("window.digitDemo.readNumber()")


def test_what_the_model_reads_equals_the_python_twin(demo_page, clear_digits) -> None:
    page = demo_page.page
    for label, (height, left, top) in {3: (0.2, 0.04, 0.05), 8: (0.8, 0.3, 0.1)}.items():
        page.evaluate("window.digitDemo.clear()")
        draw_strokes(page, placed(clear_digits[label], height, left, top))
        strokes = page.evaluate("window.digitDemo.strokes()")
        js = np.asarray(page.evaluate("Array.from(window.digitDemo.preprocess())"), np.float32)
        js = js.reshape(28, 28)
        python = preprocess_strokes(strokes)
        assert np.abs(js - python).max() <= 0.01, label
        assert js.max() > 0.9
    page.evaluate("window.digitDemo.clear()")


@pytest.mark.parametrize("corner", ["top-left", "bottom-right"])
def test_small_digit_in_a_corner_reads_right(demo_page, clear_digits, corner: str) -> None:
    """A digit 18% of the pad's height, pushed into a corner, reads as it does large and centred."""
    page = demo_page.page
    misread = []
    for label in (2, 4, 5, 7):
        strokes = placed(clear_digits[label], 0.18, 0.03, 0.03)
        if corner == "bottom-right":
            strokes = placed(clear_digits[label], 0.18, 0.97 - width_of(strokes), 0.79)
        page.evaluate("window.digitDemo.clear()")
        draw_strokes(page, strokes)
        result = page.evaluate("window.digitDemo.classifyCanvas()")
        if result["digit"] != label or result["unsure"]:
            misread.append((label, result["digit"], result["unsure"]))
    assert not misread, f"(label, read, unsure): {misread}"
    assert page.locator("#digit").inner_text() == "7"
    assert demo_page.errors == []


def draw_number(page: Any, digits: Strokes, labels: tuple[int, ...], height: float = 0.3,
                gap: float = 0.07) -> list[Strokes]:
    """Draw the digits side by side; returns each digit's placed strokes."""
    x = 0.05
    out = []
    for label in labels:
        strokes = placed(digits[label], height, x, 0.35)
        out.append(strokes)
        x += width_of(strokes) + gap
    for strokes in out:
        draw_strokes(page, strokes)
    return out


def test_three_digit_number_reads_right(demo_page, clear_digits) -> None:
    page = demo_page.page
    page.evaluate("window.digitDemo.clear()")
    draw_number(page, clear_digits, (3, 0, 9))
    result = read_number(page)
    assert result["number"] == "309", result
    assert [d["digit"] for d in result["digits"]] == [3, 0, 9]
    tops = [max(d["probabilities"]) for d in result["digits"]]
    assert result["confidence"] == pytest.approx(float(np.prod(tops)), rel=1e-5)
    boxes = [d["box"] for d in result["digits"]]
    assert boxes[0]["right"] < boxes[1]["left"] < boxes[1]["right"] < boxes[2]["left"]
    assert page.locator("#digit").inner_text() == "309"
    assert page.locator("#number-digits li").count() == 3
    assert "309" in page.locator("#announce").inner_text()
    assert demo_page.errors == []


def test_undo_in_the_middle_of_a_number(demo_page, clear_digits) -> None:
    """Two digits, a stray stroke where the third goes, undo, the third digit: the number is right."""
    page = demo_page.page
    page.evaluate("window.digitDemo.clear()")
    placed_digits = draw_number(page, clear_digits, (4, 1))
    assert read_number(page)["number"] == "41"
    right = max(float(np.vstack(s)[:, 0].max()) for s in placed_digits)
    draw_strokes(page, [np.array([[right + 0.08, 0.4], [right + 0.2, 0.6]])])  # a slip
    assert len(read_number(page)["digits"]) == 3
    page.keyboard.press("Control+z")
    assert read_number(page)["number"] == "41"
    draw_strokes(page, placed(clear_digits[6], 0.3, right + 0.07, 0.35))
    result = read_number(page)
    assert result["number"] == "416", result
    assert page.locator("#digit").inner_text() == "416"


def test_scribble_and_dot_are_flagged(demo_page) -> None:
    page = demo_page.page
    page.evaluate("window.digitDemo.clear()")
    rng = np.random.default_rng(4)
    draw_strokes(page, [0.3 + 0.4 * rng.random((14, 2))])  # a scrawl back and forth
    result = read_number(page)
    assert result["unsure"] is True and result["digits"][0]["unsure"] == "scribble", result
    assert page.locator("#digit").inner_text() == "?"
    assert "not look like a digit" in page.locator("#confidence").inner_text()

    page.evaluate("window.digitDemo.clear()")
    draw_strokes(page, [np.array([[0.5, 0.5], [0.505, 0.51]])])  # a tiny tick
    result = read_number(page)
    assert result["digits"][0]["unsure"] == "small", result
    assert "Too small" in page.locator("#confidence").inner_text()
    page.evaluate("window.digitDemo.clear()")
    assert demo_page.errors == []


# A 4 written in two strokes, its bar apart from the rest (unit box, y down): the left stroke and
# crossbar, then the bar, which the crossbar stops short of by 6% of the height; their horizontal
# extents do not overlap, so geometry alone would make it two digits.
OPEN_FOUR = [np.array([[0.22, 0.0], [0.0, 0.6], [0.5, 0.6]]),
             np.array([[0.56, 0.0], [0.56, 0.5], [0.55, 1.0]])]


def test_two_stroke_four_between_two_digits_is_one_digit(demo_page, clear_digits) -> None:
    page = demo_page.page
    page.evaluate("window.digitDemo.clear()")
    first = placed(clear_digits[1], 0.3, 0.08, 0.35)
    four = [s * 0.3 + np.array([0.08 + width_of(first) + 0.08, 0.35]) for s in OPEN_FOUR]
    last = placed(clear_digits[3], 0.3, float(np.vstack(four)[:, 0].max()) + 0.08, 0.35)
    for strokes in (first, four, last):
        draw_strokes(page, strokes)
    result = read_number(page)
    assert result["number"] == "143", result
    assert [d["members"] for d in result["digits"]][1] == [len(first), len(first) + 1]
    boxes = page.evaluate("window.digitDemo.groupBoxes()")
    assert len(boxes) == 3 and boxes[0]["right"] < boxes[1]["left"] < boxes[1]["right"] < boxes[2]["left"]
    assert demo_page.errors == []


def test_number_with_touching_neighbours_reads_right(demo_page, clear_digits) -> None:
    """Three digits whose boxes touch (no gap at all): read as three digits, each its own strokes."""
    page = demo_page.page
    page.evaluate("window.digitDemo.clear()")
    digits = draw_number(page, clear_digits, (5, 2, 7), gap=0.0)
    result = read_number(page)
    assert result["number"] == "527", result
    expected, start = [], 0
    for strokes in digits:
        expected.append(list(range(start, start + len(strokes))))
        start += len(strokes)
    assert [d["members"] for d in result["digits"]] == expected
    assert len(page.evaluate("window.digitDemo.groupBoxes()")) == 3
    draw_strokes(page, [np.array([[0.1, 0.9], [0.12, 0.92]])])  # drawing again hides the boxes until read
    assert page.evaluate("window.digitDemo.groupBoxes()") == [] or len(read_number(page)["digits"]) >= 3


def test_one_digit_in_several_strokes_is_one_candidate_and_a_number_asks_the_model(demo_page) -> None:
    """number.js / segment.js as pure functions: a 4 whose strokes overlap is surely one digit (one
    image, one model call); the open 4 beside a 1 offers the runs that could be digits, and the
    split keeps the whole 4 when it reads more surely than its halves, the halves when they do."""
    page = demo_page.page
    four = [(s * 0.3 + 0.3).tolist() for s in OPEN_FOUR]
    crossed = [four[0], [[0.44, 0.3], [0.44, 0.6]]]  # the crossbar runs through the bar
    one = [[[0.2, 0.3], [0.2, 0.6]]]
    result = call_in_page(page, PAGE_CHECKS, "splitsOfOneAndFour", crossed, one + four)
    assert result["single"] == [[0, 1]]
    assert all(run in result["candidates"] for run in ([0], [1], [2], [1, 2], [0, 1, 2]))
    assert result["candidates"][result["whole"]] == [0, 1, 2]
    assert result["sure"] == [[0], [1, 2]]  # 1 and a 4 read surely: two digits, the 4 whole
    assert result["unsure"] == [[0], [1], [2]]  # the 4 whole barely read: its halves win


def test_drawing_order_decides_what_geometry_cannot(demo_page) -> None:
    """Three strokes evenly spaced, each pair reading as surely as the other: the split follows the
    order they were drawn in (people finish a digit before they begin the next one to its right)."""
    left, middle, right = ([[x, 0.3], [x + 0.02, 0.45], [x, 0.6]] for x in (0.2, 0.3, 0.4))
    orders = [[left, right, middle], [middle, left, right]]
    result = call_in_page(demo_page.page, PAGE_CHECKS, "splitsByOrder", orders)
    assert result[0] == [[0], [1, 2]]  # the middle stroke came last: it finishes the right-hand digit
    assert result[1] == [[0, 1], [2]]  # the middle stroke came first: the left digit, done before the right
