// The LiteRT.js runtime adapter for the shared proof runner (export/proof.js), so a `.tflite` is
// compared with Keras by the same code as the TF.js graph model: the exporter's Chromium check
// (export/litert_proof.py) and the model page load it as a plain script (`self.litertProof`).
//
//   import * as litert from '@litertjs/core';          // through the page's import map
//   await litert.loadLiteRt(wasmDir);
//   const model = await litert.loadAndCompile(modelUrl, {accelerator: 'wasm'});  // the export's .tflite
//   const result = await tfjsProof.runProof(litertProof.runtime(litert), model, bundle, {batch: 1});
//
// The model is compiled for batch 1 (LiteRT.js takes fixed shapes), so a batch of `count` samples
// is `count` calls; inputs and outputs go by their Keras names, the signature's.
(function (root, factory) { // Node: require() it; a page: the global `litertProof`
  if (typeof module === 'object' && module.exports) module.exports = factory(); else root.litertProof = factory();
}(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  function product(shape) {
    return shape.reduce((a, b) => a * b, 1);
  }

  function now() {
    return typeof performance !== 'undefined' ? performance.now() : Date.now();
  }

  function deleteAll(tensors) {
    for (const t of Object.values(tensors || {})) t.delete();
  }

  // One sample: its input tensors (shape [1, ...]) by input name.
  function feedsFor(litert, bundle, index) {
    const feeds = {};
    for (const input of bundle.inputs) {
      const width = product(input.shape.slice(1));
      feeds[input.name] = new litert.Tensor(input.data.subarray(index * width, (index + 1) * width),
                                            [1].concat(input.shape.slice(1)));
    }
    return feeds;
  }

  // Copy one call's outputs into `values` (one typed array per expected output) at row `row`. An
  // output on WebGPU lives in GPU memory: `await tensor.data()` reads it back (`toTypedArray()` is
  // for wasm memory only and throws there).
  async function readOutputs(outputs, bundle, values, row) {
    for (const [i, e] of bundle.expected.entries()) {
      const tensor = outputs[e.name];
      if (!tensor) {
        throw new Error(`LiteRT.js returned no output ${e.name} (it returned ${Object.keys(outputs).join(', ')})`);
      }
      const data = await tensor.data();
      const width = product(e.shape.slice(1));
      if (data.length !== width) {
        throw new Error(`output ${e.name} has ${data.length} values per sample, expected ${width}`);
      }
      values[i].set(data, row * width);
    }
  }

  // litert: the @litertjs/core module (its Tensor class); the model: a CompiledModel.
  function runtime(litert) {
    return {
      async runBatch(model, bundle, start, count) {
        const values = bundle.expected.map((e) => new (e.data.constructor)(count * product(e.shape.slice(1))));
        let ms = 0;
        for (let k = 0; k < count; k++) {
          const feeds = feedsFor(litert, bundle, start + k);
          const began = now();
          let outputs;
          try {
            outputs = await model.run(feeds);
          } finally {
            deleteAll(feeds);
          }
          try {
            await readOutputs(outputs, bundle, values, k);
            ms += now() - began;
          } finally {
            deleteAll(outputs);
          }
        }
        return {values, ms};
      },
      release: (model) => model.delete(),
    };
  }

  /**
   * Start LiteRT.js' wasm runtime as every page does (the exporter's proof and timings, the digit
   * page, the model page): its threaded build (XNNPack's thread pool) where the page is cross-origin
   * isolated and has relaxed SIMD, which that build needs too. Resolves whether it threads.
   */
  async function startRuntime(litert, wasmDir) {
    const threads = Boolean(self.crossOriginIsolated) && await litert.supportsFeature('relaxedSimd');
    await litert.loadLiteRt(wasmDir, {threads});
    return threads;
  }

  return {runtime, startRuntime, version: 1};
}));
