#!/usr/bin/env node
// Fetch intermediate tensors of an exported TF.js graph model in Node, for the layer-by-layer
// comparison with Keras that locates where a failed proof first diverged (export/locate.py).
//
//   node export/locate.js MODEL_DIR BUNDLE_DIR NODES_JSON OUT_FILE [--backend wasm|cpu]
//       runs the model once on every sample of BUNDLE_DIR/proof.json + proof.bin, fetching the
//       nodes NODES_JSON lists (["name" or "name:k", ...]) with GraphModel.execute; writes their
//       values to OUT_FILE as raw little-endian float32 arrays in the order listed, and prints one
//       JSON line {"ok": true, "shapes": [[...], ...]} (null for a node TF.js could not compute).
//
// Exit codes and failure line as export/node_proof.js.
'use strict';

const fs = require('fs');

console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(' ') + '\n');
const {loadTf, chooseBackend, readModelArtifacts, readBundleIn} = require('./node_proof.js');

function fail(code, message) {
  process.stdout.write(JSON.stringify({ok: false, code, error: message}) + '\n');
  process.exit(code);
}

// One call per node when fetching them together fails (a node TF.js prunes or cannot reach).
async function fetchNodes(tf, model, feeds, nodes) {
  try {
    const tensors = model.execute(feeds, nodes);
    return Array.isArray(tensors) ? tensors : [tensors];
  } catch (err) {
    return nodes.map((node) => {
      try {
        return model.execute(feeds, node);
      } catch (nodeErr) {
        return null;
      }
    });
  }
}

async function main(argv) {
  const at = argv.indexOf('--backend');
  const backend = at >= 0 ? argv[at + 1] : 'wasm';
  const args = at >= 0 ? argv.slice(0, at).concat(argv.slice(at + 2)) : argv;
  if (args.length !== 4 || !['wasm', 'cpu'].includes(backend)) {
    fail(5, 'usage: locate.js MODEL_DIR BUNDLE_DIR NODES_JSON OUT_FILE [--backend wasm|cpu]');
  }
  const [modelDir, bundleDir, nodesPath, outPath] = args;
  const tf = loadTf();
  await chooseBackend(tf, backend);
  const bundle = readBundleIn(bundleDir);
  const nodes = JSON.parse(fs.readFileSync(nodesPath, 'utf8'));
  const model = await tf.loadGraphModel(tf.io.fromMemory(readModelArtifacts(modelDir)));
  const feeds = {};
  for (const input of bundle.inputs) {
    feeds[input.name] = tf.tensor(input.data, input.shape, input.dtype);
  }
  const tensors = await fetchNodes(tf, model, feeds, nodes);
  const parts = [];
  const shapes = [];
  for (const t of tensors) {
    if (!t) {
      shapes.push(null);
      continue;
    }
    const values = t.dtype === 'float32' ? await t.data() : Float32Array.from(await t.data());
    parts.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    shapes.push(t.shape);
    t.dispose();
  }
  fs.writeFileSync(outPath, Buffer.concat(parts));
  process.stdout.write(JSON.stringify({ok: true, backend, shapes}) + '\n');
}

main(process.argv.slice(2)).catch((err) => fail(5, String(err && err.message ? err.message : err)));
