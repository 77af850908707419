#!/usr/bin/env node
// Run the parity proof (export/proof.js) of an exported TF.js graph model in Node, with the
// project's own npm packages (@tensorflow/tfjs, @tensorflow/tfjs-backend-wasm).
//
//   node export/node_proof.js --check
//       prints {"ok": true, "tfjs": "4.22.0", "node": "20.x"} when the packages load.
//   node export/node_proof.js MODEL_DIR BUNDLE_DIR [--backend wasm,cpu] [--batch N] [--budget-s S]
//                          [--outputs FILE]
//       runs the model in MODEL_DIR on BUNDLE_DIR/proof.json + proof.bin on each backend listed
//       (one process), each on as many samples as S seconds allow (all without --budget-s),
//       prints one JSON line {"ok": true, "seconds": {backend: s}, "results": {backend: RESULT}};
//       --outputs writes TF.js' outputs to FILE.<backend> as raw little-endian arrays,
//       concatenated in proof.json's order of expected arrays. Progress goes to stderr as
//       lines `PROGRESS {"backend", "done", "total", "elapsedMs", "msPerSample"}`.
//
// Exit codes: 0 ok, 3 npm package missing, 4 Node.js too old, 5 model or data problem.
// Every failure prints one JSON line {"ok": false, "error": "..."} on stdout.
'use strict';

const fs = require('fs');
const path = require('path');

const MIN_NODE_MAJOR = 18;
// The export's files read here and by the scripts that require this one (export/locate.js,
// benchmarks/zoo_routes.js): mnist_tfjs/export_files.py names them, and tests/test_export_files.py
// checks this copy against it (a CommonJS script cannot import the pages' ES module twin).
const MODEL_JSON = 'model.json';
const PROOF_JSON = 'proof.json';
const PROOF_BIN = 'proof.bin';

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
  const jsonPath = path.join(modelDir, MODEL_JSON);
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

function parseArgs(argv) {
  let args = argv;
  let wanted;
  let batchText;
  let budgetText;
  let outputsPath;
  [args, wanted] = option(args, '--backend', 'wasm');
  [args, batchText] = option(args, '--batch', '32');
  [args, budgetText] = option(args, '--budget-s', 'Infinity');
  [args, outputsPath] = option(args, '--outputs', null);
  const batch = Number(batchText);
  const budget = Number(budgetText);
  const backends = String(wanted).split(',');
  if (args.length !== 2 || !backends.every((b) => ['wasm', 'cpu'].includes(b))
      || !Number.isInteger(batch) || batch <= 0 || !(budget > 0)) {
    fail(5, 'usage: node_proof.js MODEL_DIR BUNDLE_DIR [--backend wasm|cpu|wasm,cpu] [--batch N] '
            + '[--budget-s S] [--outputs FILE]');
  }
  return {modelDir: args[0], bundleDir: args[1], backends, batch, budgetMs: 1000 * budget, outputsPath};
}

// The proof bundle in `bundleDir` as the shared runner reads it; throws when it cannot be read.
function readBundleIn(bundleDir) {
  return proof.readBundle(fs.readFileSync(path.join(bundleDir, PROOF_JSON), 'utf8'),
                          fs.readFileSync(path.join(bundleDir, PROOF_BIN)));
}

function readProofBundle(bundleDir) {
  try {
    return readBundleIn(bundleDir);
  } catch (err) {
    return fail(5, `cannot read the proof bundle in ${bundleDir} (${err.message})`);
  }
}

// Progress for the caller, one JSON line on stderr per call of the model (stdout carries the result).
function reportProgress(progress) {
  process.stderr.write(`PROGRESS ${JSON.stringify(progress)}\n`);
}

async function main(argv) {
  const tf = loadTf();
  if (argv[0] === '--check') {
    process.stdout.write(JSON.stringify({ok: true, tfjs: tf.version.tfjs, node: process.versions.node}) + '\n');
    return;
  }
  const opts = parseArgs(argv);
  const bundle = readProofBundle(opts.bundleDir);
  const artifacts = readModelArtifacts(opts.modelDir);
  const seconds = {};
  let started = 0;
  const {results, errors} = await proof.proveOnBackends(tf, bundle, {
    backends: opts.backends, batch: opts.batch, budgetMs: opts.budgetMs,
    keepOutputs: Boolean(opts.outputsPath), onProgress: reportProgress,
    setBackend: async (backend) => {  // one process for all backends: TF.js starts once
      await chooseBackend(tf, backend);
      started = Date.now();
      return true;
    },
    loadModel: () => tf.loadGraphModel(tf.io.fromMemory(artifacts)),
    onResult: ({backend, result}) => {
      if (!result) return;
      seconds[backend] = (Date.now() - started) / 1000;
      if (opts.outputsPath) {
        const parts = bundle.expected.map((e) => Buffer.from(result.values[e.name].buffer));
        fs.writeFileSync(`${opts.outputsPath}.${backend}`, Buffer.concat(parts));
        delete result.values;
      }
    },
  });
  const failed = opts.backends.find((backend) => errors[backend]);
  if (failed) {
    currentBackend = failed;
    fail(5, errors[failed]);
  }
  currentBackend = null;
  process.stdout.write(JSON.stringify({
    ok: true, tfjs: tf.version.tfjs, node: process.versions.node, seconds, results,
  }) + '\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => fail(5, String(err && err.message ? err.message : err)));
} else {
  // The locator (export/locate.js) and the zoo benchmark (benchmarks/zoo_routes.js, the official
  // converter's outputs) load models and bundles the same way.
  module.exports = {loadTf, chooseBackend, readModelArtifacts, readBundleIn};
}
