// The shared proof runner (docs/export-format.md): read the bundled proof samples
// (proof.json + proof.bin) and check that a TF.js graph model computes what Keras computed.
// A CommonJS module in Node (`require('./proof.js')`) and a plain script in the browser
// (`window.tfjsProof`), so every runtime compares the same way.
//
//   const bundle = tfjsProof.readBundle(proofJson, proofBinArrayBuffer);
//   const result = await tfjsProof.runProof(tf, graphModel, bundle, {batch: 32});
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.tfjsProof = api;
}(typeof self !== 'undefined' ? self : this, () => {
  'use strict';

  const TYPED = { float32: Float32Array, int32: Int32Array };
  const SCALE_FLOOR = 1e-12;

  function product(values) {
    return values.reduce((a, b) => a * b, 1);
  }

  function littleEndian() {
    return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  }

  /** proof.json (parsed) + proof.bin (ArrayBuffer) → {samples, thresholds, inputs, expected}. */
  function readBundle(json, buffer) {
    if (!json || !Array.isArray(json.arrays)) throw new Error('proof.json has no "arrays" list');
    if (!(buffer instanceof ArrayBuffer)) {
      if (ArrayBuffer.isView(buffer)) {
        buffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
      } else {
        throw new Error('proof.bin must be an ArrayBuffer');
      }
    }
    if (!littleEndian()) throw new Error('proof.bin is little-endian; this machine is not');
    const samples = json.samples;
    if (!Number.isInteger(samples) || samples < 1) throw new Error(`proof.json: bad "samples" ${samples}`);
    const bundle = { samples, thresholds: json.thresholds || {}, inputs: [], expected: [] };
    for (const entry of json.arrays) {
      const Typed = TYPED[entry.dtype];
      if (!Typed) throw new Error(`proof.json: ${entry.name} has dtype ${entry.dtype}; float32 or int32 only`);
      const shape = entry.shape;
      if (!Array.isArray(shape) || shape[0] !== samples) {
        throw new Error(`proof.json: ${entry.name} has shape ${JSON.stringify(shape)}, expected [${samples}, ...]`);
      }
      const bytes = product(shape) * Typed.BYTES_PER_ELEMENT;
      if (entry.bytes !== bytes) throw new Error(`proof.json: ${entry.name} is ${entry.bytes} bytes, its shape needs ${bytes}`);
      if (!(entry.offset >= 0) || entry.offset + bytes > buffer.byteLength) {
        throw new Error(`proof.bin is too short for ${entry.name} (${entry.offset} + ${bytes} > ${buffer.byteLength})`);
      }
      const array = {
        name: entry.name,
        dtype: entry.dtype,
        shape,
        data: new Typed(buffer.slice(entry.offset, entry.offset + bytes)),
      };
      if (entry.classifier !== undefined) array.classifier = Boolean(entry.classifier);
      if (entry.role === 'input') bundle.inputs.push(array);
      else if (entry.role === 'expected') bundle.expected.push(array);
      else throw new Error(`proof.json: ${entry.name} has role ${entry.role}; input or expected only`);
    }
    if (!bundle.inputs.length || !bundle.expected.length) throw new Error('proof.json needs inputs and expected outputs');
    return bundle;
  }

  function argmaxRow(data, start, width) {
    let best = 0;
    for (let k = 1; k < width; k += 1) if (data[start + k] > data[start + best]) best = k;
    return best;
  }

  /** Feed samples [start, end) by input name; resolves the outputs' values, in `names` order. */
  async function runBatch(tf, graphModel, bundle, names, start, end) {
    const n = end - start;
    const feed = {};
    let outputs;
    try {
      for (const input of bundle.inputs) {
        const per = product(input.shape.slice(1));
        feed[input.name] = tf.tensor(input.data.subarray(start * per, end * per), [n, ...input.shape.slice(1)], input.dtype);
      }
      outputs = await graphModel.executeAsync(feed, names);
      if (!Array.isArray(outputs)) outputs = [outputs];
      return await Promise.all(outputs.map((t) => t.data()));
    } finally {
      Object.values(feed).forEach((t) => t.dispose());
      if (outputs) outputs.forEach((t) => t.dispose());
    }
  }

  function now() {
    return typeof performance !== 'undefined' ? performance.now() : Date.now();
  }

  /**
   * Run the bundle's inputs through `graphModel` in batches (executeAsync by input and output name)
   * and compare with the expected outputs. Returns RESULT as docs/export-format.md describes it.
   * ms_per_call is the mean time of one batch (feed, run, read back) after one untimed warm-up call.
   * options: {batch = 32, classifiers: [output names]} (outputs whose proof.json entry says
   * `"classifier": true` count as classifiers too).
   */
  async function runProof(tf, graphModel, bundle, options = {}) {
    const batch = Math.max(1, Math.floor(options.batch || 32));
    const classifiers = new Set(options.classifiers || []);
    const { samples } = bundle;
    const thresholds = bundle.thresholds || {};
    const maxRelative = thresholds.max_relative_diff ?? 1e-4;
    const minAgreement = thresholds.min_agreement ?? 1.0;
    const names = bundle.expected.map((e) => e.name);
    const actual = bundle.expected.map((e) => new Float64Array(e.data.length));
    // One untimed call first: kernels compile (shaders on webgl) on first use.
    await runBatch(tf, graphModel, bundle, names, 0, Math.min(samples, batch));
    let elapsed = 0;
    let calls = 0;
    for (let start = 0; start < samples; start += batch) {
      const end = Math.min(samples, start + batch);
      const n = end - start;
      const t0 = now();
      const values = await runBatch(tf, graphModel, bundle, names, start, end);
      elapsed += now() - t0;
      calls += 1;
      values.forEach((data, k) => {
        const per = product(bundle.expected[k].shape.slice(1));
        if (data.length !== n * per) {
          throw new Error(`output ${names[k]} has ${data.length} values for ${n} samples, expected ${n * per}`);
        }
        actual[k].set(data, start * per);
      });
    }

    const result = {
      passed: true, samples, batch, ms_per_call: calls ? elapsed / calls : null, failures: [], outputs: {},
    };
    bundle.expected.forEach((expected, k) => {
      const got = actual[k];
      const want = expected.data;
      let maxAbs = 0;
      let scale = 0;
      let finite = true;
      for (let i = 0; i < want.length; i += 1) {
        if (!Number.isFinite(got[i])) {
          finite = false;
          continue;
        }
        maxAbs = Math.max(maxAbs, Math.abs(got[i] - want[i]));
        scale = Math.max(scale, Math.abs(want[i]));
      }
      scale = Math.max(scale, SCALE_FLOOR);
      const relative = maxAbs / scale;
      let agreement = null;
      if (expected.classifier || classifiers.has(expected.name)) {
        const width = product(expected.shape.slice(1));
        let same = 0;
        for (let row = 0; row < samples; row += 1) {
          if (argmaxRow(got, row * width, width) === argmaxRow(want, row * width, width)) same += 1;
        }
        agreement = same / samples;
      }
      result.outputs[expected.name] = {
        max_abs_diff: maxAbs, scale, relative_diff: relative, agreement, all_finite: finite,
      };
      if (!finite) result.failures.push(`${expected.name}: non-finite values`);
      if (!(relative <= maxRelative)) {
        result.failures.push(`${expected.name}: relative difference ${relative.toExponential(2)} > ${maxRelative}`);
      }
      if (agreement !== null && agreement < minAgreement) {
        result.failures.push(`${expected.name}: argmax agreement ${agreement} < ${minAgreement}`);
      }
    });
    result.passed = result.failures.length === 0;
    return result;
  }

  return { readBundle, runProof };
}));
