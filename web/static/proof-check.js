// The model side of the model page's check: the export's proof bundle (proof.json + proof.bin,
// fetched only when the check runs) run through the shared runner `tfjsProof` (export/proof.js) on
// each TF.js backend in turn, then on LiteRT.js with the export's .tflite (through the shared adapter
// export/litert-proof.js), each timed at batch 1 after its proof: the race between the two runtimes
// on this machine. WebGPU runs where the browser has an adapter (web/static/webgpu.js).

import { modelUrl, PROOF_BIN, PROOF_JSON } from './export-files.js';
import { compileTflite, fetchTflite, loadLiteRtRuntime } from './litert.js';
import {
  BACKENDS, describeBackend, fetchJson, loadGraphModel, ModelError, tfjs, trySetBackend,
} from './model.js';
import { adapterText, webgpuAdapter, webgpuUnavailable } from './webgpu.js';

const PROOF_URL = modelUrl(PROOF_JSON);
const PROOF_BIN_URL = modelUrl(PROOF_BIN);

/** The global `tfjsProof` from /shared/proof.js, or a ModelError if it did not load. */
function proofRunner() {
  const runner = globalThis.tfjsProof;
  if (!runner || typeof runner.runProof !== 'function') {
    throw new ModelError('The proof runner did not load (/shared/proof.js). Restart `python -m web`.', 'runtime');
  }
  return runner;
}

/** proof.json + proof.bin → the bundle `tfjsProof.readBundle` makes; ModelError when missing or broken. */
export async function loadBundle() {
  const manifest = await fetchJson(PROOF_URL);
  if (manifest === null) throw new ModelError(`This export has no proof bundle (${PROOF_JSON}).`, 'missing');
  const response = await fetch(PROOF_BIN_URL, { cache: 'no-cache' });
  if (!response.ok) throw new ModelError(`${PROOF_BIN_URL} answered HTTP ${response.status}.`, 'load');
  try {
    return proofRunner().readBundle(manifest, await response.arrayBuffer());
  } catch (err) {
    throw new ModelError(`The proof bundle cannot be read: ${err.message}`, 'load');
  }
}

// Batch-1 calls timed after each proof (the median is RESULT.batch1_ms), and the most time they take.
export const TIMED_CALLS = 30;
const TIMING_BUDGET_MS = 5000;
// The most time each backend spends comparing samples after its first call, as the exporter's proof
// (export/rules.py DEFAULT_PROOF_SECONDS): a slow backend (TF.js cpu on a big model, WebGPU on a
// software adapter) compares as many as fit, at least the runner's minimum, and the row says how many.
export const CHECK_BUDGET_MS = 8000;
// TF.js on a GPU waits for a read-back after every call: fewer, larger calls compare more samples in
// the budget, as in the exporter's proof (export/chromium_harness.js).
const GPU_CALLS = { webgl: { targetCallMs: 1000 }, webgpu: { targetCallMs: 1000 } };

/** The global `litertProof` from /shared/litert-proof.js, or a ModelError if it did not load. */
function litertAdapter() {
  const adapter = globalThis.litertProof;
  if (!adapter || typeof adapter.runtime !== 'function') {
    throw new ModelError('The LiteRT.js proof adapter did not load (/shared/litert-proof.js). Restart `python -m web`.',
      'runtime');
  }
  return adapter;
}

/**
 * The runner's options shared by both runtimes; outcomes gain `runtime` and go to `onResult`;
 * `onProgress` hears {runtime, backend, phase: 'starting'} as each backend starts, then
 * {runtime, backend, phase: 'comparing', done, total, elapsedMs, msPerSample} after each call.
 * `refused`: {backend: why} for backends the export says cannot run its model, not started
 * (their outcome: {runtime, backend, available: false, refused: why}).
 */
function common(runtimeName, { classifiers, batch, onProgress }, outcomes, onResult, refused = {}) {
  return {
    batch, classifiers, budgetMs: CHECK_BUDGET_MS, timeCalls: TIMED_CALLS, timeBudgetMs: TIMING_BUDGET_MS,
    starting: (backend) => onProgress?.({ runtime: runtimeName, backend, phase: 'starting' }),
    onProgress: onProgress && ((p) => onProgress({ runtime: runtimeName, phase: 'comparing', ...p })),
    onResult: (outcome) => {
      const refusal = refused[outcome.backend] ? { refused: refused[outcome.backend] } : {};
      const shown = outcome.available === false
        ? { runtime: runtimeName, backend: outcome.backend, available: false, ...refusal }
        : { runtime: runtimeName, ...outcome };
      outcomes.push(shown);
      onResult(shown);
    },
  };
}

/**
 * The shared runner's proof on every TF.js backend in BACKENDS order, one after another; `onResult`
 * sees each as it finishes: {runtime: 'tfjs', backend, available, described, result},
 * {runtime, backend, available: false} when this browser cannot start it, or {runtime, backend, error};
 * `onProgress` how far the one running is (see `common`).
 */
export async function checkAll(bundle, {
  classifiers = [], batch = 32, onProgress, metadata = null,
} = {}, onResult = () => {}) {
  const outcomes = [];
  const refused = refusedBackends(metadata, 'tfjs');
  const options = common('tfjs', { classifiers, batch, onProgress }, outcomes, onResult, refused);
  const tf = tfjs();
  tf.enableProdMode(); // as the exporter's proof page runs TF.js (export/chromium_harness.js)
  await proofRunner().proveOnBackends(tf, bundle, {
    ...options,
    perBackend: GPU_CALLS,
    backends: BACKENDS,
    setBackend: (backend) => {
      if (refused[backend]) return false;
      options.starting(backend);
      return trySetBackend(backend);
    },
    describe: () => describeBackend(),
    loadModel: () => loadGraphModel(),
  });
  return outcomes;
}

/** Whether LiteRT.js can use `accelerator` here: wasm always, webgpu with an adapter. */
async function hasAccelerator(accelerator) {
  return accelerator === 'wasm' || Boolean(await webgpuAdapter());
}

/** {webgpu: why} where metadata.json says `runtimeName` cannot run the model on WebGPU, else {}. */
function refusedBackends(metadata, runtimeName) {
  const why = webgpuUnavailable(metadata, runtimeName);
  return why ? { webgpu: why } : {};
}

/**
 * The bundle judged by the int8 model's own rules, as the exporter judged it: metadata.json's
 * `litert_int8.thresholds` (agreement with ties within one int8 step, the tie cap, the RMS error
 * over the spread), applied by the shared runner (export/proof.js); an 8-bit model cannot meet the
 * float model's relative difference. The test accuracy rule needs labels the bundle lacks.
 */
function int8Bundle(bundle, metadata) {
  const rules = metadata?.litert_int8?.thresholds;
  return { ...bundle, thresholds: rules && typeof rules === 'object' ? { ...rules } : {} };
}

/**
 * The same proof on LiteRT.js with the export's .tflite of `precision` ('float32', or 'int8' judged
 * by the int8 rules), refused unless its sha256 is the one metadata.json lists, on each accelerator
 * in `accelerators`; outcomes as checkAll's, runtime 'litert' (or 'litert_int8').
 * A runtime that cannot start gives one {runtime, backend, error} per accelerator.
 */
export async function checkLiteRt(bundle, metadata, {
  classifiers = [], accelerators = ['wasm', 'webgpu'], precision = 'float32', onProgress,
} = {}, onResult = () => {}) {
  const outcomes = [];
  const int8 = precision === 'int8';
  const refused = int8 ? {} : refusedBackends(metadata, 'litert');
  const options = common(int8 ? 'litert_int8' : 'litert', { classifiers, batch: 1, onProgress }, outcomes, onResult,
    refused);
  let bytes;
  let litert;
  try {
    bytes = await fetchTflite(metadata, precision);
    litert = await loadLiteRtRuntime();
  } catch (err) {
    for (const backend of accelerators.filter((a) => a === 'wasm')) {
      options.onResult({ backend, available: true, error: err.message || String(err) });
    }
    return outcomes;
  }
  await proofRunner().proveOnBackends(litertAdapter().runtime(litert), int8 ? int8Bundle(bundle, metadata) : bundle, {
    ...options,
    backends: accelerators,
    setBackend: (accelerator) => {
      if (refused[accelerator]) return false;
      options.starting(accelerator);
      return hasAccelerator(accelerator);
    },
    describe: async (accelerator) => `LiteRT.js${int8 ? ' int8' : ''} ${accelerator} `
      + `(${accelerator === 'wasm' ? 'XNNPack' : adapterText(await webgpuAdapter())})`,
    loadModel: (accelerator) => compileTflite(bytes, accelerator),
  });
  return outcomes;
}
