#!/usr/bin/env node
// export/proof.js's runner on a runtime of its own (tests/test_proof_runner.py): a bundle of 6
// samples of one output, and a runtime that returns Keras' values for samples it has not seen, and
// for samples it has seen LATER ('same': Keras' values again; 'zeros').
//
//   node tests/repeat_runtime.js PROOF_JS LATER   → one JSON line: RESULT plus {calls}
'use strict';

const proof = require(process.argv[2]);
const later = process.argv[3];
const samples = 6;
const width = 3;
const expected = Float32Array.from({ length: samples * width }, (_, k) => Math.sin(k + 1));
const bundle = {
  samples, thresholds: { max_relative_diff: 1e-4 },
  inputs: [{ name: 'x', dtype: 'float32', shape: [samples, 1], data: new Float32Array(samples) }],
  expected: [{ name: 'y', dtype: 'float32', shape: [samples, width], data: expected, classifier: false }],
};
const seen = new Set();
let calls = 0;
const runtime = {
  async runBatch(model, _bundle, start, count) {
    calls += 1;
    const right = expected.slice(start * width, (start + count) * width);
    const again = seen.has(start);
    seen.add(start);
    return { values: [!again || later === 'same' ? right : new Float32Array(right.length)], ms: 1 };
  },
  release() {},
};
proof.runProof(runtime, {}, bundle, { batch: 2 }).then((result) => {
  process.stdout.write(JSON.stringify({ ...result, calls }) + '\n');
});
