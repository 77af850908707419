// The parity proof, shared by Node.js (export/predict.js) and the browser (window.tfjsProof):
// run a TF.js graph model on bundled sample inputs and compare every output with Keras' own.
//
//   const bundle = tfjsProof.readBundle(proofJson, proofBinArrayBuffer);
//   const result = await tfjsProof.runProof(tf, graphModel, bundle, {batch: 32});
//
// proof.json lists raw little-endian arrays inside proof.bin (see docs/export-format.md).
// A RESULT says, per output: max |Δ|, the output's scale (max |Keras value|), their ratio,
// argmax agreement for classifier outputs, and whether TF.js returned only finite values.
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory();
  } else {
    root.tfjsProof = factory();
  }
}(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  const TYPES = {float32: Float32Array, int32: Int32Array};

  function product(shape) {
    return shape.reduce((a, b) => a * b, 1);
  }

  function toArrayBuffer(bin) {
    if (bin instanceof ArrayBuffer) return bin;
    // Node Buffer or a typed array view
    return bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  }

  // proofJson: the parsed proof.json (or its text); bin: proof.bin as ArrayBuffer / Buffer.
  function readBundle(proofJson, bin) {
    const manifest = typeof proofJson === 'string' ? JSON.parse(proofJson) : proofJson;
    const buffer = toArrayBuffer(bin);
    const bundle = {samples: manifest.samples, thresholds: manifest.thresholds || {}, inputs: [], expected: []};
    for (const entry of manifest.arrays) {
      const Type = TYPES[entry.dtype];
      if (!Type) throw new Error(`proof.json: array ${entry.name} has unsupported dtype ${entry.dtype}`);
      const count = product(entry.shape);
      if (entry.bytes !== count * 4 || entry.offset + entry.bytes > buffer.byteLength || entry.offset % 4) {
        throw new Error(`proof.json: array ${entry.name} does not fit proof.bin (${buffer.byteLength} bytes)`);
      }
      const array = {name: entry.name, dtype: entry.dtype, shape: entry.shape,
                     data: new Type(buffer, entry.offset, count)};
      if (entry.role === 'input') {
        bundle.inputs.push(array);
      } else if (entry.role === 'expected') {
        array.classifier = Boolean(entry.classifier);
        array.scale = entry.scale;
        bundle.expected.push(array);
      } else {
        throw new Error(`proof.json: array ${entry.name} has unknown role ${entry.role}`);
      }
    }
    for (const array of bundle.inputs.concat(bundle.expected)) {
      if (array.shape[0] !== bundle.samples) {
        throw new Error(`proof.json: array ${array.name} holds ${array.shape[0]} samples, not ${bundle.samples}`);
      }
    }
    return bundle;
  }

  function now() {
    return typeof performance !== 'undefined' ? performance.now() : Date.now();
  }

  function argmaxRows(data, offset, rows, width) {
    const top = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      let bestValue = -Infinity;
      for (let c = 0; c < width; c++) {
        const v = data[offset + r * width + c];
        if (v > bestValue) { bestValue = v; best = c; }
      }
      top[r] = best;
    }
    return top;
  }

  // Run `model` (a tf.GraphModel) on every sample of `bundle`, `options.batch` samples per call.
  // options.keepOutputs: also return {name: typed array} of TF.js' outputs (Node uses it for accuracy);
  // options.classifiers: output names to treat as classifiers besides those proof.json marks.
  // ms_per_call is the mean of the timed calls (feed, run, read back) after one untimed warm-up call.
  async function runProof(tf, model, bundle, options) {
    const opts = Object.assign({batch: 32, keepOutputs: false, classifiers: []}, options || {});
    const named = new Set(opts.classifiers);
    const isClassifier = (e) => Boolean(e.classifier) || named.has(e.name);
    const thresholds = bundle.thresholds || {};
    const maxRelative = thresholds.max_relative_diff;
    const minAgreement = thresholds.min_agreement;
    const n = bundle.samples;
    const names = bundle.expected.map((e) => e.name);
    const stats = {};
    const kept = {};
    for (const e of bundle.expected) {
      const width = product(e.shape.slice(1));
      let scale = e.scale;
      if (typeof scale !== 'number') {
        scale = 0;
        for (let i = 0; i < e.data.length; i++) scale = Math.max(scale, Math.abs(e.data[i]));
      }
      stats[e.name] = {maxAbs: 0, scale, finite: true, width, rows: 0, agree: 0, ties: 0};
      if (opts.keepOutputs) kept[e.name] = new (TYPES[e.dtype])(e.data.length);
    }
    const feedsFor = (start, count) => {
      const feeds = {};
      for (const input of bundle.inputs) {
        const width = product(input.shape.slice(1));
        const slice = input.data.subarray(start * width, (start + count) * width);
        feeds[input.name] = tf.tensor(slice, [count].concat(input.shape.slice(1)), input.dtype);
      }
      return feeds;
    };
    // One untimed call first: WebGL compiles its shaders and wasm sets up on the first run.
    const warmFeeds = feedsFor(0, Math.min(opts.batch, n));
    try {
      const warm = await model.executeAsync(warmFeeds, names);
      (Array.isArray(warm) ? warm : [warm]).forEach((t) => t.dispose());
    } finally {
      Object.values(warmFeeds).forEach((t) => t.dispose());
    }
    let calls = 0;
    let ms = 0;
    for (let start = 0; start < n; start += opts.batch) {
      const count = Math.min(opts.batch, n - start);
      const feeds = feedsFor(start, count);
      const began = now();
      let outputs;
      try {
        outputs = await model.executeAsync(feeds, names);
      } finally {
        Object.values(feeds).forEach((t) => t.dispose());
      }
      if (!Array.isArray(outputs)) outputs = [outputs];
      const values = [];
      for (const t of outputs) values.push(await t.data());
      ms += now() - began;
      calls += 1;
      outputs.forEach((t, i) => {
        const e = bundle.expected[i];
        const shape = [count].concat(e.shape.slice(1));
        if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
          outputs.forEach((o) => o.dispose());
          throw new Error(`output ${e.name} has shape [${t.shape}], expected [${shape}]`);
        }
      });
      outputs.forEach((t) => t.dispose());
      bundle.expected.forEach((e, i) => {
        const s = stats[e.name];
        const got = values[i];
        const offset = start * s.width;
        for (let k = 0; k < got.length; k++) {
          const d = Math.abs(got[k] - e.data[offset + k]);
          if (!Number.isFinite(got[k])) s.finite = false;
          else if (d > s.maxAbs) s.maxAbs = d;
        }
        if (opts.keepOutputs) kept[e.name].set(got, offset);
        if (isClassifier(e)) {
          const classes = e.shape[e.shape.length - 1];
          const rows = count * s.width / classes;
          const ours = argmaxRows(got, 0, rows, classes);
          const theirs = argmaxRows(e.data, offset, rows, classes);
          // A flip between two classes whose Keras scores differ by less than the allowed error
          // is a tie, not a disagreement (only with a max_relative_diff rule).
          const tieMargin = typeof maxRelative === 'number' ? 2 * maxRelative * s.scale : 0;
          for (let r = 0; r < rows; r++) {
            if (ours[r] === theirs[r]) {
              s.agree += 1;
            } else {
              const base = offset + r * classes;
              const margin = e.data[base + theirs[r]] - e.data[base + ours[r]];
              if (margin <= tieMargin) s.ties += 1;
            }
          }
          s.rows += rows;
        }
      });
    }
    const result = {passed: true, samples: n, batch: opts.batch,
                    ms_per_call: calls ? Math.round(1000 * ms / calls) / 1000 : null, failures: [], outputs: {}};
    for (const e of bundle.expected) {
      const s = stats[e.name];
      const relative = s.scale > 0 ? s.maxAbs / s.scale : s.maxAbs;
      const entry = {max_abs_diff: s.maxAbs, scale: s.scale, relative_diff: relative,
                     agreement: isClassifier(e) ? s.agree / Math.max(1, s.rows) : null,
                     ties: isClassifier(e) ? s.ties : null, all_finite: s.finite};
      result.outputs[e.name] = entry;
      if (!s.finite) result.failures.push(`${e.name}: TF.js returned NaN or infinite values`);
      if (typeof maxRelative === 'number' && !(relative <= maxRelative)) {
        result.failures.push(`${e.name}: max |Δ| ${relative.toExponential(2)} of the output's scale `
                             + `> ${maxRelative.toExponential(0)}`);
      }
      if (isClassifier(e) && typeof minAgreement === 'number') {
        const counted = (s.agree + s.ties) / Math.max(1, s.rows);
        if (counted < minAgreement - 1e-9) {
          result.failures.push(`${e.name}: argmax agreement ${(100 * entry.agreement).toFixed(2)} % `
                               + `< ${(100 * minAgreement).toFixed(2)} %`);
        }
      }
    }
    result.passed = result.failures.length === 0;
    if (opts.keepOutputs) result.values = kept;
    return result;
  }

  return {readBundle, runProof, version: 1};
}));
