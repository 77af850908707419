"""The README quotes its measurements from the generated results: every figure it states with a unit
(milliseconds, seconds, sizes, percentages, percentage points, speed-ups, calls, requests/s) is a
number that docs/results/**/benchmarks.md or benchmarks.json (written by `python -m benchmarks`)
holds, as printed there (0.22 matches 0.220; 854 does not match 853.6: quote the results, do not
round them). Figures that are not measurements are allow-listed below, each with its reason."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from mnist_tfjs.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
RESULTS = REPO_ROOT / "docs" / "results"

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
UNIT = r"requests/s|predictions/s|calls|KiB|MiB|GiB|KB|MB|GB|ms|pp|s|%|x"
# A figure: a number, or a list or range of numbers sharing one unit ("93.67 / 92.67 / 87.67%",
# "48-175 s"), then the unit. Not a number inside a word or a version (int8, V2, 3.11).
BETWEEN = r"\s*(?:/|-|\u2013|\u2192)\s*"  # a list's slash, a range's dash, an arrow
FIGURE = re.compile(rf"(?<![\w.,])((?:{NUMBER})(?:{BETWEEN}(?:{NUMBER}))*)\s?({UNIT})(?![\w/])")
ANY_NUMBER = re.compile(NUMBER)

# (figure as the README writes it, unit): why it is not a measurement the results must hold.
NOT_MEASURED: dict[tuple[str, str], str] = {}


def prose(markdown: str) -> str:
    """`markdown` without fenced code blocks and inline code (commands and code, not figures)."""
    without_blocks = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", without_blocks)


def figures(markdown: str) -> Iterator[tuple[str, str]]:
    """(number, unit) for every figure with a unit the prose of `markdown` states."""
    for match in FIGURE.finditer(prose(markdown)):
        for number in ANY_NUMBER.findall(match.group(1)):
            yield number, match.group(2)


def value(number: str) -> Decimal:
    return Decimal(number.replace(",", ""))


def json_numbers(node: Any) -> Iterator[Decimal]:
    """Every number in a parsed JSON document: its numbers, and those written inside its strings."""
    if isinstance(node, dict):
        for item in node.values():
            yield from json_numbers(item)
    elif isinstance(node, list):
        for item in node:
            yield from json_numbers(item)
    elif isinstance(node, str):
        yield from (value(n) for n in ANY_NUMBER.findall(node))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield Decimal(repr(node))


def held_values(results: Path = RESULTS) -> set[Decimal]:
    """Every number the generated results print (benchmarks.md) or record (benchmarks.json)."""
    held: set[Decimal] = set()
    for path in sorted(results.rglob("benchmarks.md")):
        held.update(value(n) for n in ANY_NUMBER.findall(path.read_text(encoding="utf-8")))
    for path in sorted(results.rglob("benchmarks.json")):
        held.update(json_numbers(json.loads(path.read_text(encoding="utf-8"))))
    return held


def unheld(markdown: str, held: set[Decimal]) -> list[str]:
    """The figures of `markdown` that neither the results hold nor NOT_MEASURED excuses."""
    return [f"{number} {unit}" for number, unit in figures(markdown)
            if (number, unit) not in NOT_MEASURED and value(number) not in held]


def test_the_results_are_there() -> None:
    assert (RESULTS / "benchmarks.md").is_file() and (RESULTS / "benchmarks.json").is_file()


def test_readme_states_figures() -> None:
    """The check has something to check: the README's figures table is read as figures."""
    stated = list(figures(README.read_text(encoding="utf-8")))
    assert len(stated) >= 20, stated


def test_every_readme_figure_is_in_the_generated_results() -> None:
    wrong = unheld(README.read_text(encoding="utf-8"), held_values())
    assert wrong == [], ("README states figures that no docs/results/**/benchmarks.md or .json holds: "
                         "quote the generated figure, or add a reasoned NOT_MEASURED entry if it is not "
                         "a measurement")


def test_every_allow_listed_figure_is_still_in_the_readme() -> None:
    stated = set(figures(README.read_text(encoding="utf-8")))
    assert set(NOT_MEASURED) <= stated, "drop NOT_MEASURED entries the README no longer states"


def test_the_check_flags_a_figure_the_results_do_not_hold() -> None:
    held = {value("0.220"), value("1,113.3"), value("93.67"), value("92.67"), value("48"), value("175")}
    readme = "TF.js wasm **0.22 ms**; 1,113.3 requests/s; read exactly 93.67 / 92.67 / 87.7% ; 48\u2013175 s"
    assert unheld(readme, held) == ["87.7 %"]
    assert unheld("TF.js wasm 0.23 ms; `sleep 5.9 ms` in code", held) == ["0.23 ms"]
    assert unheld("int8 5.9 ms at 3.98 MB", held) == ["5.9 ms", "3.98 MB"]
    assert unheld("MobileNetV2 224, Python 3.11, int8 and 28x28 digits", held) == []
