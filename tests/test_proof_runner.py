"""export/proof.js, the runner every proof shares, under Node.js with runtime adapters of its own:
the repeat pass catches a runtime that is right only on its first call; the batch-1 timing of a
runtime slower than its budget stops at one warm-up and one timed call."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mnist_tfjs.paths import REPO_ROOT

RUNNER = Path(__file__).with_name("repeat_runtime.js")
SLOW_RUNNER = Path(__file__).with_name("slow_runtime.js")


def _run(node: str, later: str) -> dict:
    out = subprocess.run([node, str(RUNNER), str(REPO_ROOT / "export" / "proof.js"), later],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@pytest.mark.node
def test_a_runtime_right_every_time_passes_its_repeat_pass(node_ready: str) -> None:
    result = _run(node_ready, "same")
    assert result["passed"] is True and result["samples"] == 6
    assert result["repeated"] >= 1 and result["outputs"]["y"]["repeat_diff"] == 0


@pytest.mark.node
def test_a_runtime_right_only_on_its_first_calls_fails_the_repeat_rule(node_ready: str) -> None:
    # every sample compared right the first time; the repeated calls return zeros
    result = _run(node_ready, "zeros")
    assert result["samples"] == 6 and result["outputs"]["y"]["relative_diff"] == 0
    assert result["passed"] is False and result["outputs"]["y"]["failed_rules"] == ["repeat"]
    assert "a repeated call on the same" in result["failures"][0]


def _time(node: str, call_ms: int, budget_ms: int) -> dict:
    out = subprocess.run([node, str(SLOW_RUNNER), str(REPO_ROOT / "export" / "proof.js"), str(call_ms),
                          str(budget_ms)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@pytest.mark.node
def test_a_runtime_slower_than_its_timing_budget_is_timed_on_one_call(node_ready: str) -> None:
    timing = _time(node_ready, call_ms=120, budget_ms=100)
    assert timing == {"ms": 120, "calls": 1, "made": 2}  # one warm-up call, one timed


@pytest.mark.node
def test_a_runtime_within_its_timing_budget_takes_the_median_of_at_least_three_calls(node_ready: str) -> None:
    timing = _time(node_ready, call_ms=20, budget_ms=100)
    assert 3 <= timing["calls"] <= 5 and timing["made"] == timing["calls"] + 2 and timing["ms"] == 20
