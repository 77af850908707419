// The exporter's proof page in headless Chromium (served by export/chromium_page.py): the proof bundle
// read, then the shared runner (export/proof.js) on each TF.js backend (wasm, webgl, webgpu, cpu)
// (export/chromium_proof.py), or LiteRT.js' proof of a .tflite (export/litert-proof.js,
// export/litert_proof.py); each runtime timed at batch 1 after its proof. Every step is bounded in
// time; progress goes back to Python as console lines. Loaded as a plain script: `self.proofHarness`.
// Python names every file it fetches (`modelUrl`, `bundle`: {json, bin}), so the export's file names
// stay in mnist_tfjs/export_files.py.
//
//   await proofHarness.runProof({backends, batch, budgetMs, classifiers, timeoutMs, progressPrefix,
//                                timeCalls, timeBudgetMs, modelUrl, bundle});
//   await proofHarness.fetchNodes({backend, nodes, timeoutMs, modelUrl, bundle});  // for the locator
//   await proofHarness.runLitert({accelerators, budgetMs, classifiers, timeoutMs, progressPrefix,
//                                 timeCalls, timeBudgetMs, module, wasmDir, modelUrl, bundle, keepOutputs,
//                                 int8Job: {modelUrl, bundle, budgetMs} | null});
//   Both resolve {results, errors, skipped, unavailable, adapter, ...}: `skipped` names the backends
//   this browser lacks (WebGPU without an adapter), `unavailable` those that cannot run this model
//   (WebGPU only), `adapter` describes its WebGPU adapter (or null).
/* global tf, tfjsProof, litertProof */
(function (root, factory) { // a page's global `proofHarness`
  root.proofHarness = factory();
}(self, function () {
  'use strict';

  const fetched = async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response;
  };
  // A bundle's arrays come gzip-compressed (see chromium_page.py's route handler) and are inflated here.
  const inflated = async (response) => (response.headers.get('X-Proof-Encoding') === 'gzip'
    ? new Response(response.body.pipeThrough(new DecompressionStream('gzip'))) : response).arrayBuffer();
  // A file fetched in ranges of RANGE_BYTES: Playwright hands each response body to Chromium as one
  // DevTools message, and one of a large network's .tflite (ResNet50: 94 MB) closes the page.
  const RANGE_BYTES = 8 * 1024 * 1024;
  const inRanges = async (url) => {
    const ranged = async (start) => {
      const response = await fetch(url, { headers: { Range: `bytes=${start}-${start + RANGE_BYTES - 1}` } });
      if (response.status !== 206) throw new Error(`${url}: HTTP ${response.status} to a range request`);
      const total = Number(response.headers.get('Content-Range').split('/')[1]);
      return { total, bytes: new Uint8Array(await response.arrayBuffer()) };
    };
    const first = await ranged(0);
    const whole = new Uint8Array(first.total);
    whole.set(first.bytes);
    for (let start = first.bytes.length; start < first.total;) {
      const { bytes } = await ranged(start);
      whole.set(bytes, start);
      start += bytes.length;
    }
    return whole;
  };

  /** The proof bundle at `urls` ({json, bin}: the proof's samples, or the int8 model's held-out ones). */
  const readBundle = async (urls) => tfjsProof.readBundle(await (await fetched(urls.json)).json(),
    await inflated(await fetched(urls.bin)));
  /** Kept outputs: typed arrays as plain lists for Python. */
  const asLists = (run) => {
    for (const result of Object.values(run.results)) {
      for (const key of Object.keys(result.values || {})) result.values[key] = Array.from(result.values[key]);
    }
  };

  // TF.js on a GPU waits for a read-back after every call: fewer, larger calls prove more samples in
  // a budget (the digit model on a software WebGPU adapter: a quarter less time a digit at 32 digits a
  // call than at 7).
  // WebGPU on a software adapter takes seconds a call on application-size networks (ResNet50: 14 s),
  // so past its budget it stops at one sample and that sample's repeat.
  const GPU_CALLS = { webgl: { targetCallMs: 1000 }, webgpu: { targetCallMs: 1000, minSamples: 1 } };

  /**
   * The browser's WebGPU adapter as a result records it: {vendor, architecture, device, description,
   * software}, or null where the browser has none. A software adapter (Chromium's SwiftShader, a
   * fallback adapter) proves as well as a GPU but says nothing of a GPU's speed.
   */
  async function webgpuAdapter() {
    const adapter = self.navigator.gpu ? await self.navigator.gpu.requestAdapter() : null;
    if (!adapter) return null;
    const info = adapter.info || {};
    const software = Boolean(info.isFallbackAdapter || adapter.isFallbackAdapter)
      || /swiftshader/i.test(`${info.architecture} ${info.description}`);
    return { vendor: info.vendor || '', architecture: info.architecture || '', device: info.device || '',
      description: info.description || '', software };
  }

  /**
   * A time bound for each step, the proof bundle at `bundleUrls`, the WebGPU adapter, and the switch to a
   * backend (false, with the reason in `skipped`, for WebGPU where the browser has no adapter), for `timeoutMs`.
   */
  async function setUp(timeoutMs, bundleUrls) {
    const bounded = (promise, what) => Promise.race([promise, new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not finish in ${timeoutMs / 1000} s`)), timeoutMs))]);
    const bundle = await readBundle(bundleUrls);
    const adapter = await webgpuAdapter();
    const skipped = {};
    const hasAdapter = (name) => {
      if (name === 'webgpu' && !adapter) skipped[name] = 'no WebGPU adapter in this browser';
      return name !== 'webgpu' || Boolean(adapter);
    };
    tf.wasm.setWasmPaths('/vendor/tfjs-backend-wasm/');
    tf.enableProdMode();
    const tfjsBackend = async (name) => hasAdapter(name)
      && (await bounded(tf.setBackend(name), `starting ${name}`)) && (await tf.ready(), tf.getBackend() === name);
    return { bounded, bundle, tfjsBackend, hasAdapter, adapter, skipped };
  }

  /**
   * Backends skipped for want of an adapter are not errors, and neither is WebGPU failing to run the
   * model (a kernel or shader its runtime lacks, a device lost): that is `unavailable`, and the pages
   * do not offer it for this model. Wrong values on WebGPU still fail the proof. WebGPU results name
   * their adapter.
   */
  function settle(outcome, { adapter, skipped }) {
    for (const name of Object.keys(skipped)) delete outcome.errors[name];
    const unavailable = {};
    if (outcome.errors.webgpu) {
      unavailable.webgpu = outcome.errors.webgpu;
      delete outcome.errors.webgpu;
    }
    if (outcome.results.webgpu) outcome.results.webgpu.adapter = adapter;
    return { ...outcome, skipped, unavailable, adapter };
  }

  /**
   * The shared runner's proof of the graph model at `modelUrl` on each TF.js backend, each then timed at batch 1
   * (`timeCalls` > 0). TF.js webgpu is timed only on a hardware adapter: on a software one its timings
   * say nothing of a GPU, and its calls take seconds on large networks (its proof's own figures stay
   * in its RESULT).
   */
  async function runProof({ backends, batch, budgetMs, classifiers, timeoutMs, progressPrefix, timeCalls,
    timeBudgetMs, modelUrl, bundle: bundleUrls }) {
    const setup = await setUp(timeoutMs, bundleUrls);
    const { bounded, bundle, tfjsBackend } = setup;
    const perBackend = setup.adapter?.software
      ? { ...GPU_CALLS, webgpu: { ...GPU_CALLS.webgpu, timeCalls: 0 } } : GPU_CALLS;
    let artifacts = null;
    const outcome = await tfjsProof.proveOnBackends(tf, bundle, {
      backends, batch, budgetMs, classifiers, perBackend, timeCalls, timeBudgetMs,
      setBackend: tfjsBackend,
      loadModel: async (name) => {
        // model.json and its shards fetched once for every backend (ResNet50: 94 MB through DevTools)
        artifacts = artifacts || await bounded(tf.io.http(modelUrl).load(), 'fetching the model');
        return bounded(tf.loadGraphModel(tf.io.fromMemory(artifacts)), `loading the model on ${name}`);
      },
      onProgress: (p) => console.log(progressPrefix + JSON.stringify(p)),
    });
    return { ...settle(outcome, setup), tfjs: tf.version.tfjs, isolated: self.crossOriginIsolated };
  }

  /**
   * LiteRT.js' proof of `modelUrl` on each accelerator (batch 1), each timed at batch 1 after its
   * proof; with `int8Job`, once every accelerator passed, the full-integer twin proven on its own
   * held-out samples.
   */
  async function runLitert({ accelerators, budgetMs, classifiers, timeoutMs, progressPrefix, timeCalls,
    timeBudgetMs, module, wasmDir, modelUrl, bundle: bundleUrls, keepOutputs, int8Job }) {
    const setup = await setUp(timeoutMs, bundleUrls);
    const { bounded, bundle, hasAdapter } = setup;
    const litert = await bounded(import(module), 'loading LiteRT.js');
    const threads = await bounded(litertProof.startRuntime(litert, wasmDir), 'starting LiteRT.js');
    const accelerator = async (name) => ['wasm', 'webgpu'].includes(name) && hasAdapter(name);
    const fetchedModels = {};  // each .tflite fetched once, compiled for every accelerator
    const compiled = async (url, name) => {
      fetchedModels[url] = fetchedModels[url] || await bounded(inRanges(url), `fetching ${url}`);
      return bounded(litert.loadAndCompile(fetchedModels[url], { accelerator: name }),
        `compiling ${url.split('/').pop()} for ${name}`);
    };
    const proven = await tfjsProof.proveOnBackends(litertProof.runtime(litert), bundle, {
      backends: accelerators, batch: 1, budgetMs, classifiers, timeCalls, timeBudgetMs, keepOutputs,
      setBackend: accelerator,
      loadModel: (name) => compiled(modelUrl, name),
      onProgress: (p) => console.log(progressPrefix + JSON.stringify(p)),
    });
    const outcome = settle(proven, setup);
    asLists(outcome);
    const passed = Object.keys(outcome.errors).length === 0
      && Object.values(outcome.results).every((result) => result.passed);
    // The full-integer twin, in the same page (LiteRT.js already started), on its own held-out
    // samples, on each accelerator (wasm for `int8Job.budgetMs`, WebGPU for `budgetMs`): the shared
    // runner judges it by the int8 rules the held-out bundle's thresholds carry, and its outputs are
    // kept for the one rule no bundle can carry, a digit model's test accuracy (export/int8.py).
    let int8 = null;
    if (int8Job && passed) {
      const int8Began = performance.now();
      const heldOut = await readBundle(int8Job.bundle);
      int8 = { results: {}, errors: {} };
      for (const name of accelerators) {
        const one = await tfjsProof.proveOnBackends(litertProof.runtime(litert), heldOut, {
          backends: [name], batch: 1, budgetMs: name === 'wasm' ? int8Job.budgetMs : budgetMs, classifiers,
          timeCalls, timeBudgetMs, keepOutputs: true, setBackend: accelerator,
          loadModel: (backend) => compiled(int8Job.modelUrl, backend),
          onProgress: (p) => console.log(progressPrefix + JSON.stringify({ ...p, backend: `int8 ${p.backend}` })),
        });
        Object.assign(int8.results, one.results);
        Object.assign(int8.errors, one.errors);
      }
      int8 = settle(int8, setup);
      asLists(int8);
      int8.ms = performance.now() - int8Began;
    }
    return { ...outcome, threads, int8, isolated: self.crossOriginIsolated };
  }

  /** Little-endian float32 bytes as base64, in chunks (a spread of millions of bytes overflows the stack). */
  function base64Floats(values) {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    let text = '';
    for (let k = 0; k < bytes.length; k += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(k, k + 0x8000));
    return btoa(text);
  }

  /**
   * The values of intermediate graph nodes on one TF.js backend, for the layer-by-layer comparison
   * that locates a browser backend's divergence (export/locate.py): every sample of the bundle run once,
   * each of `nodes` fetched with GraphModel.execute (one call per node where fetching them together
   * fails). Resolves {shapes: [shape or null], data: [base64 float32 or null]}.
   */
  async function fetchNodes({ backend, nodes, timeoutMs, modelUrl, bundle: bundleUrls }) {
    const { bounded, bundle, tfjsBackend } = await setUp(timeoutMs, bundleUrls);
    if (!(await tfjsBackend(backend))) throw new Error(`the ${backend} backend did not start`);
    const model = await bounded(tf.loadGraphModel(modelUrl), `loading the model on ${backend}`);
    const feeds = {};
    for (const input of bundle.inputs) feeds[input.name] = tf.tensor(input.data, input.shape, input.dtype);
    let tensors;
    try {
      tensors = [].concat(model.execute(feeds, nodes));
    } catch (err) {
      tensors = nodes.map((node) => { try { return model.execute(feeds, node); } catch (nodeErr) { return null; } });
    }
    const shapes = [];
    const data = [];
    for (const t of tensors) {
      shapes.push(t ? t.shape : null);
      data.push(t ? base64Floats(Float32Array.from(await t.data())) : null);
      if (t) t.dispose();
    }
    return { shapes, data };
  }

  return { runProof, runLitert, fetchNodes };
}));
