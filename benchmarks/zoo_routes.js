#!/usr/bin/env node
// The official converter's routes, run in Node the way a user would load them, for the zoo benchmark:
//
//   node benchmarks/zoo_routes.js layers|graph MODEL_DIR BUNDLE_DIR [--backend wasm|cpu]
//
// layers: tf.loadLayersModel + model.predict (inputs in the model's order);
// graph:  tf.loadGraphModel + executeAsync (the bundle names the signature's inputs and outputs).
// The comparison is export/proof.js's, as in the exporter's own proof. Prints one JSON line:
// {"loads": bool, "runs": bool, "error": text|null, "result": RESULT|null}.
'use strict';

const {loadTf, chooseBackend, readModelArtifacts, readBundleIn} = require('../export/node_proof.js');
const proof = require('../export/proof.js');

async function main([format, modelDir, bundleDir, ...rest]) {
  const backendAt = rest.indexOf('--backend');
  const tf = loadTf();
  const backend = await chooseBackend(tf, backendAt >= 0 ? rest[backendAt + 1] : 'wasm');
  const bundle = readBundleIn(bundleDir);
  const report = {backend, loads: false, runs: false, error: null, result: null};
  let model;
  try {
    const artifacts = tf.io.fromMemory(readModelArtifacts(modelDir));
    if (format === 'layers') {
      const layers = await tf.loadLayersModel(artifacts);
      // runProof calls executeAsync(feeds, outputNames); a layers model predicts on a list instead.
      model = {
        executeAsync: async (feeds) => {
          const out = layers.predict(bundle.inputs.map((input) => feeds[input.name]));
          return Array.isArray(out) ? out : [out];
        },
      };
    } else {
      model = await tf.loadGraphModel(artifacts);
    }
    report.loads = true;
    report.result = await proof.runProof(tf, model, bundle, {batch: 32});
    report.runs = true;
  } catch (err) {
    report.error = String(err && err.message ? err.message : err).split('\n')[0].slice(0, 300);
  }
  process.stdout.write(JSON.stringify(report) + '\n');
}

main(process.argv.slice(2)).catch((err) => {
  process.stdout.write(JSON.stringify({loads: false, runs: false, error: String(err)}) + '\n');
  process.exit(1);
});
