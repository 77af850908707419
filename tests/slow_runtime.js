#!/usr/bin/env node
// export/proof.js's batch-1 timing (timeCalls) on a runtime of its own (tests/test_proof_runner.py):
// every call takes CALL_MS, and the timing may take BUDGET_MS.
//
//   node tests/slow_runtime.js PROOF_JS CALL_MS BUDGET_MS   → one JSON line: {ms, calls, made}
'use strict';

const proof = require(process.argv[2]);
const callMs = Number(process.argv[3]);
const budgetMs = Number(process.argv[4]);
const bundle = { samples: 4 };
let made = 0;
const runtime = {
  async runBatch() {
    made += 1;
    await new Promise((resolve) => setTimeout(resolve, callMs));
    return { values: [], ms: callMs };
  },
  release() {},
};
proof.timeCalls(runtime, {}, bundle, { calls: 30, budgetMs }).then((timing) => {
  process.stdout.write(JSON.stringify({ ...timing, made }) + '\n');
});
