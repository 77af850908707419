"""export/proof.js, the runner every proof shares, under Node.js with a runtime adapter of its own:
the repeat pass catches a runtime that is right only on its first call."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mnist_tfjs.paths import REPO_ROOT

RUNNER = Path(__file__).with_name("repeat_runtime.js")


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
