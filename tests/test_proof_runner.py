"""export/proof.js, the runner every proof shares, under Node.js with a runtime adapter of its own:
the repeat pass catches a runtime that is right only on its first call."""

from __future__ import annotations

import json
import subprocess

import pytest

from mnist_tfjs.paths import REPO_ROOT

# A bundle of 6 samples of one output, and a runtime that returns Keras' values for samples it has
# not seen, and for samples it has `later` (zeros, or Keras' values again).
RUNNER = """
const proof = require(process.argv[1]);
const later = process.argv[2];
const samples = 6, width = 3;
const expected = Float32Array.from({length: samples * width}, (_, k) => Math.sin(k + 1));
const bundle = {samples, thresholds: {max_relative_diff: 1e-4},
  inputs: [{name: 'x', dtype: 'float32', shape: [samples, 1], data: new Float32Array(samples)}],
  expected: [{name: 'y', dtype: 'float32', shape: [samples, width], data: expected, classifier: false}]};
const seen = new Set();
let calls = 0;
const runtime = {
  async runBatch(model, bundle, start, count) {
    calls += 1;
    const right = expected.slice(start * width, (start + count) * width);
    const again = seen.has(start);
    seen.add(start);
    const values = !again || later === 'same' ? right : new Float32Array(right.length);
    return {values: [values], ms: 1};
  },
  release() {},
};
proof.runProof(runtime, {}, bundle, {batch: 2}).then((result) => {
  process.stdout.write(JSON.stringify({...result, calls}));
});
"""


def _run(node: str, later: str) -> dict:
    out = subprocess.run([node, "-e", RUNNER, str(REPO_ROOT / "export" / "proof.js"), later],
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
