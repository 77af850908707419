#!/usr/bin/env node
// Run an exported TF.js graph model on raw float32 images, in Node, with the project's own
// npm packages (@tensorflow/tfjs, and @tensorflow/tfjs-backend-wasm where it loads).
//
//   node export/predict.js --check
//       prints {"ok": true, "tfjs": "4.22.0", "node": "20.x"} when the packages load.
//   node export/predict.js MODEL_DIR IMAGES.f32 COUNT PROBS.f32 [--backend wasm|cpu]
//       reads COUNT x 28 x 28 x 1 little-endian float32 values from IMAGES.f32, writes
//       COUNT x 10 float32 probabilities to PROBS.f32, prints one JSON status line.
//
// Exit codes: 0 ok, 3 npm package missing, 4 Node.js too old, 5 model or data problem.
// Every failure prints one JSON line {"ok": false, "error": "..."} on stdout.
'use strict';

const fs = require('fs');
const path = require('path');

const MIN_NODE_MAJOR = 18;

// TF.js greets Node users with a hint about tfjs-node; stdout carries only our JSON lines.
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(' ') + '\n');
const BATCH = 500;

function fail(code, message) {
  process.stdout.write(JSON.stringify({ok: false, code, error: message}) + '\n');
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

async function chooseBackend(tf, wanted) {
  if (wanted !== 'cpu') {
    try {
      const wasm = requirePackage('@tensorflow/tfjs-backend-wasm');
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(path.join(dist, 'dist') + path.sep);
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return 'wasm';
      }
    } catch (err) {
      if (wanted === 'wasm') {
        fail(5, `the wasm backend did not load (${err && err.message})`);
      }
    }
    if (wanted === 'wasm') {
      fail(5, 'the wasm backend did not load');
    }
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

async function predict(tf, modelDir, imagesPath, count, probsPath) {
  const artifacts = readModelArtifacts(modelDir);
  let model;
  try {
    model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    fail(5, `TF.js cannot load the model (${err.message})`);
  }
  const raw = fs.readFileSync(imagesPath);
  const pixels = 28 * 28;
  if (raw.byteLength !== count * pixels * 4) {
    fail(5, `${imagesPath} holds ${raw.byteLength} bytes, expected ${count * pixels * 4}`);
  }
  const images = new Float32Array(raw.buffer, raw.byteOffset, count * pixels);
  const probs = new Float32Array(count * 10);
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const out = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * pixels, (start + n) * pixels), [n, 28, 28, 1]);
      const y = model.predict(x);
      return Array.isArray(y) ? y[0] : y;
    });
    if (out.shape.length !== 2 || out.shape[0] !== n || out.shape[1] !== 10) {
      fail(5, `the model returned shape [${out.shape}], expected [${n},10]`);
    }
    probs.set(await out.data(), start * 10);
    out.dispose();
  }
  fs.writeFileSync(probsPath, Buffer.from(probs.buffer));
}

async function main(argv) {
  const tf = loadTf();
  if (argv[0] === '--check') {
    process.stdout.write(JSON.stringify({ok: true, tfjs: tf.version.tfjs, node: process.versions.node}) + '\n');
    return;
  }
  const backendAt = argv.indexOf('--backend');
  const wanted = backendAt >= 0 ? argv[backendAt + 1] : 'auto';
  const args = backendAt >= 0 ? argv.slice(0, backendAt).concat(argv.slice(backendAt + 2)) : argv;
  if (args.length !== 4 || !['auto', 'wasm', 'cpu'].includes(wanted)) {
    fail(5, 'usage: predict.js MODEL_DIR IMAGES.f32 COUNT PROBS.f32 [--backend auto|wasm|cpu]');
  }
  const [modelDir, imagesPath, countText, probsPath] = args;
  const count = Number(countText);
  if (!Number.isInteger(count) || count <= 0) {
    fail(5, `COUNT must be a positive integer, got ${countText}`);
  }
  const backend = await chooseBackend(tf, wanted);
  const started = process.hrtime.bigint();
  await predict(tf, modelDir, imagesPath, count, probsPath);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({
    ok: true, tfjs: tf.version.tfjs, node: process.versions.node, backend, count, seconds,
  }) + '\n');
}

main(process.argv.slice(2)).catch((err) => fail(5, String(err && err.message ? err.message : err)));
