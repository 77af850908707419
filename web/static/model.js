// The model side: TF.js backend choice (wasm → webgl → cpu at start-up; webgpu where chosen and the
// browser has an adapter), loading the graph model, warm-up, and batched prediction on digit images
// shaped as the contract says (digit-contract.js).

import { DEFAULT_CONTRACT } from './digit-contract.js';
import { METADATA_JSON, MODEL_JSON, modelUrl } from './export-files.js';
import { adapterText, webgpuAdapter } from './webgpu.js';

// Every TF.js backend the pages use, in the model page's order; start-up falls back through
// START_ORDER only: WebGPU is offered, never picked for a visitor who did not ask for it.
export const BACKENDS = ['wasm', 'webgl', 'webgpu', 'cpu'];
const START_ORDER = ['wasm', 'webgl', 'cpu'];
export const WASM_PATH = '/vendor/tfjs-backend-wasm/';
export const MODEL_URL = modelUrl(MODEL_JSON);
export const METADATA_URL = modelUrl(METADATA_JSON);

/** An error with a message meant for the page (and `kind` for the UI to pick a hint). */
export class ModelError extends Error {
  constructor(message, kind = 'load') {
    super(message);
    this.name = 'ModelError';
    this.kind = kind;
  }
}

/** The global `tf` from TF.js' core, cpu and converter scripts (classic scripts), or a ModelError if they did not load. */
export function tfjs() {
  const tf = globalThis.tf;
  if (!tf || typeof tf.loadGraphModel !== 'function') {
    throw new ModelError('The TF.js runtime did not load (/vendor/tfjs-core/, /vendor/tfjs-converter/). '
      + 'Run `npm ci` in the project folder and restart `python -m web`.', 'runtime');
  }
  return tf;
}

// Backends whose script the page loads only when they are chosen. Loading the webgpu script
// registers it above webgl, which would change TF.js' own default: the pages always set a backend.
const LAZY_BACKENDS = {
  webgl: '/vendor/tfjs-backend-webgl/tf-backend-webgl.es2017.min.js',
  webgpu: '/vendor/tfjs-backend-webgpu/tf-backend-webgpu.es2017.min.js',
};
const scripts = {};

/** Load the script of backend `name` once, if the page did not; resolves false when it cannot load. */
function loadBackendScript(tf, name) {
  const src = LAZY_BACKENDS[name];
  if (!src || tf.findBackendFactory(name)) return Promise.resolve(true);
  scripts[name] ??= new Promise((resolve) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve(true);
    script.onerror = () => { delete scripts[name]; resolve(false); };
    document.head.append(script);
  });
  return scripts[name];
}

let wasmPathsSet = false;
const BACKEND_TIMEOUT_MS = 10000;
// TF.js' threaded wasm gives its pool half the cores: below 4 cores that is one thread, all cost
// (starting its worker takes ~200 ms, and each call pays the hand-over) and no parallelism. There
// the single-threaded SIMD build is used (benchmarks: open to ready 513 vs 715 ms, 1.5 vs 2.1 ms a
// digit on 2 cores).
export const MIN_CORES_FOR_WASM_THREADS = 4;

/** Whether TF.js' wasm backend should use its threaded build on this machine. */
export function wasmThreadsPay(cores = navigator.hardwareConcurrency || 1) {
  return cores >= MIN_CORES_FOR_WASM_THREADS;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Switch TF.js to `name`; resolves true on success, false if that backend cannot start here. */
export async function trySetBackend(name) {
  const tf = tfjs();
  if (name === 'wasm') {
    if (!tf.wasm) return false;
    if (!wasmPathsSet) {
      tf.wasm.setWasmPaths(WASM_PATH);
      if (!wasmThreadsPay()) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      wasmPathsSet = true;
    }
  }
  // Without an adapter TF.js' webgpu backend cannot start: its script is not worth loading.
  if (name === 'webgpu' && !(await webgpuAdapter())) return false;
  if (!(await loadBackendScript(tf, name))) return false;
  try {
    // A backend whose workers fail can hang instead of failing: give up after a while.
    const ok = await withTimeout(tf.setBackend(name), BACKEND_TIMEOUT_MS, `starting ${name}`);
    if (ok) await tf.ready();
    return Boolean(ok) && tf.getBackend() === name;
  } catch (err) {
    console.warn(`TF.js backend ${name} failed:`, err);
    return false;
  }
}

/** Try `preferred`, then the others in START_ORDER; returns the backend in use. */
export async function chooseBackend(preferred = 'wasm') {
  const order = [preferred, ...START_ORDER.filter((b) => b !== preferred)];
  for (const name of order) {
    if (await trySetBackend(name)) return name;
  }
  throw new ModelError('No TF.js backend could start (wasm, webgl and cpu all failed).', 'backend');
}

/** A human description of the backend in use: "wasm (SIMD, threads: 2)", "webgpu (google swiftshader, software adapter)". */
export async function describeBackend() {
  const tf = tfjs();
  const name = tf.getBackend();
  if (name === 'webgpu') return `webgpu (${adapterText(await webgpuAdapter())})`;
  if (name !== 'wasm') return name;
  const features = [];
  try {
    if (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) features.push('SIMD');
    // The threaded build needs cross-origin isolation; TF.js picks the thread count (cores / 2).
    const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const threads = threaded && tf.wasm.getThreadsCount ? tf.wasm.getThreadsCount() : 1;
    features.push(threaded ? `threads: ${threads}` : 'no threads');
  } catch {
    // Feature flags are informative only.
  }
  return features.length ? `wasm (${features.join(', ')})` : 'wasm';
}

/** Fetch JSON; resolves null on 404, throws ModelError on other failures. */
export async function fetchJson(url) {
  let response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    throw new ModelError(`Cannot reach the server for ${url} (${err.message}).`, 'network');
  }
  if (response.status === 404) return null;
  if (!response.ok) throw new ModelError(`${url} answered HTTP ${response.status}.`, 'load');
  try {
    return await response.json();
  } catch {
    throw new ModelError(`${url} is not valid JSON.`, 'load');
  }
}

/** The ModelError for a model that failed to load from `url`: nothing exported ('missing'), or broken. */
async function loadFailure(url, err) {
  // Only a failed load asks why (one request less on every page load).
  if (await fetchJson(url).then((manifest) => manifest === null, () => false)) {
    return new ModelError('No exported model on the server yet.', 'missing');
  }
  return new ModelError(`The model at ${url} failed to load: ${err.message}`, 'load');
}

/** Load /model/model.json as a TF.js graph model; ModelError(kind 'missing') when nothing has been exported. */
export async function loadGraphModel(url = MODEL_URL) {
  const tf = tfjs();
  try {
    return await tf.loadGraphModel(url);
  } catch (err) {
    throw await loadFailure(url, err);
  }
}

/** /model/model.json and its weights, downloaded once for graph models built on any backend (graphModelFrom). */
export async function loadModelArtifacts(url = MODEL_URL) {
  const tf = tfjs();
  try {
    return await tf.io.http(url).load();
  } catch (err) {
    throw await loadFailure(url, err);
  }
}

/** A graph model on the backend in use, its weights uploaded there from `artifacts` (loadModelArtifacts). */
export async function graphModelFrom(artifacts) {
  const tf = tfjs();
  return tf.loadGraphModel(tf.io.fromMemory(artifacts));
}

/**
 * The exported digit model plus prediction helpers, shaped by `contract` (digit-contract.js), with its
 * weights on TF.js backend `backend`.
 */
export class DigitModel {
  constructor(graphModel, contract = DEFAULT_CONTRACT, backend = null) {
    this.graph = graphModel;
    this.contract = contract;
    this.backend = backend;
    // Feed by the contract's input name when the graph knows it (signature key or node name).
    const known = [...Object.keys(graphModel.signature?.inputs ?? {}), ...(graphModel.inputs ?? []).map((t) => t.name)];
    this.inputName = known.includes(contract.inputName) ? contract.inputName : null;
  }

  /** n images of contract.pixels values in [0, 1] → Float32Array of n * contract.classes probabilities. */
  async predict(pixels) {
    const tf = tfjs();
    const { rows, columns, channels, pixels: size, classes } = this.contract;
    const { inputName } = this;
    if (!(pixels instanceof Float32Array) || pixels.length === 0 || pixels.length % size !== 0) {
      throw new TypeError(`predictPixels needs a Float32Array of n*${size} values`);
    }
    const n = pixels.length / size;
    const output = tf.tidy(() => {
      const input = tf.tensor4d(pixels, [n, rows, columns, channels], 'float32');
      return this.graph.predict(inputName ? { [inputName]: input } : input);
    });
    try {
      const probs = await output.data();
      if (probs.length !== n * classes) throw new ModelError(`model returned ${probs.length} values`);
      return probs instanceof Float32Array ? probs : Float32Array.from(probs);
    } finally {
      output.dispose();
    }
  }

  /** Run a few predictions so kernels are compiled/created before the first stroke. */
  async warmUp(runs = 3) {
    const blank = new Float32Array(this.contract.pixels);
    for (let i = 0; i < runs; i += 1) await this.predict(blank);
  }

  dispose() {
    this.graph.dispose();
  }
}
