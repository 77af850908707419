#!/usr/bin/env node
// export/proof.js's runner judging given outputs (tests/test_export_int8.py): a runtime that returns,
// for the samples asked for, the values of a JSON file {output name: flat values}, as LiteRT.js would.
//
//   node tests/given_outputs_runtime.js PROOF_JS BUNDLE_FOLDER VALUES_JSON   → one JSON line: RESULT
'use strict';

const fs = require('fs');
const proof = require(process.argv[2]);
const [folder, valuesPath] = process.argv.slice(3);
const bundle = proof.readBundle(fs.readFileSync(`${folder}/proof.json`, 'utf8'),
  fs.readFileSync(`${folder}/proof.bin`));
const given = JSON.parse(fs.readFileSync(valuesPath, 'utf8'));
const runtime = {
  runBatch: async (model, b, start, count) => ({
    ms: 0,
    values: b.expected.map((e) => {
      const width = e.data.length / b.samples;
      return Float32Array.from(given[e.name].slice(start * width, (start + count) * width));
    }),
  }),
  release: () => {},
};
proof.runProof(runtime, null, bundle, { batch: 32 }).then((result) => console.log(JSON.stringify(result)));
