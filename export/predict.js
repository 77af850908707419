#!/usr/bin/env node
// Run the parity proof (export/proof.js) of an exported TF.js graph model in Node, with the
// project's own npm packages (@tensorflow/tfjs, @tensorflow/tfjs-backend-wasm).
//
//   node export/predict.js --check
//       prints {"ok": true, "tfjs": "4.22.0", "node": "20.x"} when the packages load.
//   node export/predict.js MODEL_DIR BUNDLE_DIR [--backend wasm,cpu] [--batch N] [--outputs FILE]
//       runs the model in MODEL_DIR on BUNDLE_DIR/proof.json + proof.bin on each backend listed
//       (one process), prints one JSON line {"ok": true, "seconds": {backend: s}, "results":
//       {backend: RESULT}}; --outputs writes TF.js' outputs to FILE.<backend> as raw little-endian
//       arrays, concatenated in proof.json's order of expected arrays.
//
// Exit codes: 0 ok, 3 npm package missing, 4 Node.js too old, 5 model or data problem.
// Every failure prints one JSON line {"ok": false, "error": "..."} on stdout.
'use strict';

const fs = require('fs');
const path = require('path');

const MIN_NODE_MAJOR = 18;

// TF.js greets Node users with a hint about tfjs-node; stdout carries only our JSON lines.
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(' ') + '\n');
const proof = require('./proof.js');

let currentBackend = null;  // named in failures, so that the caller knows where TF.js gave up

function fail(code, message) {
  process.stdout.write(JSON.stringify({ok: false, code, error: message, backend: currentBackend}) + '\n');
  process.exit(code);
}

function requirePackage(name) {
  try {
    return require(name);
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(name)) {
      fail(3, `npm package ${name} is not installed`);
    }
    throw err;
  }
}

function loadTf() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR) {
    fail(4, `Node.js ${process.versions.node} is too old, ${MIN_NODE_MAJOR} or newer is needed`);
  }
  return requirePackage('@tensorflow/tfjs');
}

let wasmPathsSet = false;

async function chooseBackend(tf, wanted) {
  currentBackend = wanted;
  if (wanted === 'wasm') {
    try {
      const wasm = requirePackage('@tensorflow/tfjs-backend-wasm');
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      if (!wasmPathsSet) wasm.setWasmPaths(path.join(dist, 'dist') + path.sep);
      wasmPathsSet = true;
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return 'wasm';
      }
    } catch (err) {
      fail(5, `the wasm backend did not load (${err && err.message})`);
    }
    fail(5, 'the wasm backend did not load');
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}

function readModelArtifacts(modelDir) {
  const jsonPath = path.join(modelDir, 'model.json');
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  } catch (err) {
    fail(5, `cannot read ${jsonPath} (${err.message})`);
  }
  const weightSpecs = [];
  const buffers = [];
  for (const group of manifest.weightsManifest || []) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) {
      try {
        buffers.push(fs.readFileSync(path.join(modelDir, shard)));
      } catch (err) {
        fail(5, `cannot read weight shard ${shard} (${err.message})`);
      }
    }
  }
  const weights = Buffer.concat(buffers);
  return {
    modelTopology: manifest.modelTopology,
    format: manifest.format,
    generatedBy: manifest.generatedBy,
    convertedBy: manifest.convertedBy,
    signature: manifest.signature,
    userDefinedMetadata: manifest.userDefinedMetadata,
    modelInitializer: manifest.modelInitializer,
    weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

function option(argv, name, fallback) {
  const at = argv.indexOf(name);
  if (at < 0) return [argv, fallback];
  return [argv.slice(0, at).concat(argv.slice(at + 2)), argv[at + 1]];
}

async function main(argv) {
  const tf = loadTf();
  if (argv[0] === '--check') {
    process.stdout.write(JSON.stringify({ok: true, tfjs: tf.version.tfjs, node: process.versions.node}) + '\n');
    return;
  }
  let args = argv;
  let wanted;
  let batchText;
  let outputsPath;
  [args, wanted] = option(args, '--backend', 'wasm');
  [args, batchText] = option(args, '--batch', '32');
  [args, outputsPath] = option(args, '--outputs', null);
  const batch = Number(batchText);
  const backends = String(wanted).split(',');
  if (args.length !== 2 || !backends.every((b) => ['wasm', 'cpu'].includes(b))
      || !Number.isInteger(batch) || batch <= 0) {
    fail(5, 'usage: predict.js MODEL_DIR BUNDLE_DIR [--backend wasm|cpu|wasm,cpu] [--batch N] [--outputs FILE]');
  }
  const [modelDir, bundleDir] = args;
  let bundle;
  try {
    bundle = proof.readBundle(fs.readFileSync(path.join(bundleDir, 'proof.json'), 'utf8'),
                              fs.readFileSync(path.join(bundleDir, 'proof.bin')));
  } catch (err) {
    fail(5, `cannot read the proof bundle in ${bundleDir} (${err.message})`);
  }
  const artifacts = readModelArtifacts(modelDir);
  const results = {};
  const seconds = {};
  for (const backend of backends) {  // one process for all: TF.js starts once
    await chooseBackend(tf, backend);
    let model;
    try {
      model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    } catch (err) {
      fail(5, `TF.js cannot load the model (${err.message})`);
    }
    const started = process.hrtime.bigint();
    const result = await proof.runProof(tf, model, bundle, {batch, keepOutputs: Boolean(outputsPath)});
    seconds[backend] = Number(process.hrtime.bigint() - started) / 1e9;
    if (outputsPath) {
      const parts = bundle.expected.map((e) => Buffer.from(result.values[e.name].buffer));
      fs.writeFileSync(`${outputsPath}.${backend}`, Buffer.concat(parts));
      delete result.values;
    }
    model.dispose();
    results[backend] = result;
  }
  currentBackend = null;
  process.stdout.write(JSON.stringify({
    ok: true, tfjs: tf.version.tfjs, node: process.versions.node, seconds, results,
  }) + '\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => fail(5, String(err && err.message ? err.message : err)));
} else {
  // The zoo benchmark loads the official converter's outputs the same way (benchmarks/zoo_routes.js).
  module.exports = {loadTf, chooseBackend, readModelArtifacts};
}
