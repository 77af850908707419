// Wiring: start-up (backend, model, warm-up), live prediction while drawing, the native
// agreement check, keyboard shortcuts, and `window.digitDemo` for tests and power users.

import { agreement, nativePredict, serverStatus } from './api.js';
import * as bench from './bench.js';
import { DEFAULT_CONTRACT, digitContract } from './contract.js';
import {
  BACKENDS, chooseBackend, describeBackend, DigitModel, fetchJson, loadGraphModel, METADATA_URL, ModelError, runtime,
  trySetBackend,
} from './model.js';
import { Pad } from './pad.js';
import { preprocessCanvas } from './preprocess.js';
import {
  hideError, ResultView, setStatus, showError, showMissingModel, showModelCard,
} from './ui.js';

const LIVE_INTERVAL_MS = 50; // live predictions while drawing: at most one per 50 ms

const padCanvas = document.getElementById('pad');
const backendSelect = document.getElementById('backend-select');
const requested = new URLSearchParams(window.location.search).get('backend');
const preferred = BACKENDS.includes(requested) ? requested : 'wasm';

const view = new ResultView();
const timings = { start: performance.now(), readyMs: null, backendMs: null, modelMs: null, warmupMs: null };
let model = null;
let contract = DEFAULT_CONTRACT; // input shape, labels and preprocessing from metadata.json
let nativeOn = false;
let nativeSeq = 0;

// All model work runs one task at a time, in order.
let chain = Promise.resolve();
function enqueue(task) {
  const run = chain.then(task);
  chain = run.catch(() => {});
  return run;
}

function reportError(err) {
  if (err instanceof ModelError && err.kind === 'missing') {
    showMissingModel();
  } else if (err instanceof ModelError && err.kind === 'runtime') {
    console.error(err);
    showError(err.message);
  } else {
    console.error(err);
    showError(err?.message || String(err), 'Reload the page; if it persists, check the terminal running `python -m web`.');
  }
}

/** Preprocess the pad, predict, show. Resolves {digit, probs, ms, pixels}; digit null when empty. */
async function classify() {
  const pixels = preprocessCanvas(padCanvas, contract);
  if (!pixels || !model) {
    if (!pixels) view.reset();
    return { digit: null, probs: null, ms: 0, pixels: null };
  }
  const t0 = performance.now();
  const probs = await model.predict(pixels);
  const ms = performance.now() - t0;
  const digit = view.show(probs, pixels, ms);
  return { digit, probs: Array.from(probs), ms, pixels };
}

let liveQueued = false;
let lastLive = 0;
function scheduleLive() {
  if (!model || liveQueued) return;
  liveQueued = true;
  const wait = Math.max(0, lastLive + LIVE_INTERVAL_MS - performance.now());
  setTimeout(() => {
    enqueue(async () => {
      liveQueued = false;
      lastLive = performance.now();
      await classify();
    }).catch(reportError);
  }, wait);
}

async function checkNative(result) {
  if (!nativeOn || !result.pixels) return;
  const seq = ++nativeSeq;
  view.showNative({ pending: true });
  try {
    const native = await nativePredict(result.pixels, contract);
    if (seq === nativeSeq) view.showNative(agreement(result.probs, native.probs));
  } catch (err) {
    if (seq === nativeSeq) view.showNative({ error: `check failed: ${err.message}` });
  }
}

/** The settled answer after a stroke, undo or on request: classify, announce, check natively. */
async function settle() {
  if (!model) return { digit: null, probs: null, ms: 0 };
  const result = await enqueue(classify);
  view.announceResult(result.digit, result.probs);
  if (result.digit === null) {
    nativeSeq += 1;
    view.showNative(nativeOn ? null : { off: 'off' });
  } else {
    checkNative(result);
  }
  return { digit: result.digit, probs: result.probs, ms: result.ms };
}

const pad = new Pad(padCanvas, {
  onDraw: scheduleLive,
  onStrokeEnd: () => { settle().catch(reportError); },
  onClear: () => {
    nativeSeq += 1;
    view.reset();
    view.announceResult(null);
    if (!nativeOn) view.showNative({ off: 'off' });
  },
});

document.getElementById('clear').addEventListener('click', () => pad.clear());
document.getElementById('undo').addEventListener('click', () => pad.undo());
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    pad.clear();
  } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'z' && event.target.tagName !== 'SELECT') {
    event.preventDefault();
    pad.undo();
  }
});

async function showBackend() {
  backendSelect.value = runtime().getBackend();
  const described = await describeBackend();
  view.showBackend(described);
  return described;
}

/** Switch backend (wasm, webgl, cpu), warm up, re-classify; rejects if that backend cannot start. */
async function setBackend(name) {
  if (!BACKENDS.includes(name)) throw new Error(`unknown backend ${name}; use one of ${BACKENDS.join(', ')}`);
  await ready;
  await enqueue(async () => {
    const previous = runtime().getBackend();
    if (!(await trySetBackend(name))) {
      await trySetBackend(previous);
      throw new ModelError(`The ${name} backend is not available in this browser; staying on ${previous}.`, 'backend');
    }
    await model.warmUp();
  }).finally(showBackend);
  if (!pad.empty) await settle();
}

backendSelect.addEventListener('change', () => {
  const name = backendSelect.value;
  backendSelect.disabled = true;
  setStatus(`Switching to ${name}…`);
  setBackend(name)
    .then(() => { hideError(); setStatus(`Ready on ${name}`, 'ok'); })
    .catch((err) => showError(err.message))
    .finally(() => { backendSelect.disabled = false; });
});

async function start() {
  setStatus('Loading TF.js…');
  const tf = runtime();
  tf.enableProdMode();
  const [status, backend] = await Promise.all([serverStatus(), chooseBackend(preferred)]);
  timings.backendMs = performance.now() - timings.start;
  nativeOn = Boolean(status?.native);
  if (!nativeOn) view.showNative({ off: 'off' });
  if (status && !status.model) throw new ModelError('No exported model on the server yet.', 'missing');

  setStatus(`Loading the model on ${backend}…`);
  const metadataPromise = status?.metadata === false ? Promise.resolve(null) : fetchJson(METADATA_URL).catch(() => null);
  const [metadata, graph] = await Promise.all([metadataPromise, loadGraphModel()]);
  contract = digitContract(metadata);
  view.useContract(contract);
  model = new DigitModel(graph, contract);
  timings.modelMs = performance.now() - timings.start;
  await model.warmUp();
  timings.warmupMs = performance.now() - timings.start;
  showModelCard(metadata);

  const described = await showBackend();
  backendSelect.disabled = false;
  const fellBack = backend !== preferred ? ` (${preferred} was not available)` : '';
  timings.readyMs = performance.now();
  setStatus(`Ready: ${described}${fellBack}, loaded in ${Math.round(timings.readyMs)} ms`, 'ok');
  if (!pad.empty) await settle();
}

const ready = start().then(() => true);
ready.catch((err) => {
  setStatus('Not ready', 'error');
  document.getElementById('model-card').replaceChildren();
  reportError(err);
});

window.addEventListener('error', (event) => showError(`Unexpected error: ${event.message}`));
window.addEventListener('unhandledrejection', (event) => {
  showError(`Unexpected error: ${event.reason?.message || event.reason}`);
});

window.digitDemo = {
  /** Resolves when the model is loaded and warmed up; rejects with the reason it is not. */
  ready,
  /** The TF.js backend in use: 'wasm', 'webgl' or 'cpu'. */
  backend: () => runtime().getBackend(),
  /** Float32Array of n images (n * 784 pixels for MNIST) in [0, 1] → Promise of n * 10 probabilities. */
  predictPixels: (pixels) => ready.then(() => enqueue(() => model.predict(pixels))),
  /** A canvas (the pad by default) → Float32Array(784 for MNIST) as MNIST was made, or null when empty. */
  preprocess: (canvas = padCanvas) => preprocessCanvas(canvas, contract),
  /** Classify what is on the pad (updates the page); {digit: null} when the pad is empty. */
  classifyCanvas: () => ready.then(settle),
  /** Clear the pad and the result. */
  clear: () => pad.clear(),
  /** Switch backend; rejects when it is not available. */
  setBackend,
  describeBackend,
  timings,
  pad: padCanvas,
  bench: {
    renderDigit: (pixels, placement) => bench.renderDigit(padCanvas, pixels, placement, contract),
    robustness: (images, labels, seed = 1, options = {}) => ready.then(() => bench.robustness({
      canvas: padCanvas, predict: (p) => model.predict(p), images, labels, seed, options, contract,
    })),
    latency: (options = {}) => ready.then(() => bench.latency({
      predict: (p) => model.predict(p), contract, ...options,
    })),
  },
};
