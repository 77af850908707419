// Wiring: start-up (runtime, backend, model, warm-up), live prediction while drawing, the native
// agreement check, keyboard shortcuts, and `window.digitDemo` for tests and power users.
//
// Two runtimes read the digit: TF.js (wasm, webgl or cpu) with the graph model, the first-load
// default (docs/web.md: its smaller download reaches a first answer sooner), and LiteRT.js (wasm)
// with the export's model.tflite where the export proved one, loaded only when chosen; and
// 'litert-int8', its full-integer twin model.int8.tflite, where the export proved that one too.

import { agreement, nativePredict, serverStatus } from './api.js';
import { argmax, DEFAULT_CONTRACT, digitContract } from './contract.js';
import {
  BACKENDS, chooseBackend, describeBackend, DigitModel, fetchJson, loadGraphModel, METADATA_URL, ModelError, runtime,
  trySetBackend,
} from './model.js';
import { LiteRtDigitModel, provenLiteRt } from './litert.js';
import { numberOf, readStrokes } from './number.js';
import { LINE_WIDTH, Pad } from './pad.js';
import { preprocessCanvas } from './preprocess.js';
import { preprocessStrokes } from './strokes.js';
import {
  hideError, ResultView, setStatus, showError, showMissingModel, showModelCard,
} from './ui.js';
import { unsureReason } from './unsure.js';

const LIVE_INTERVAL_MS = 50; // live predictions while drawing: at most one per 50 ms

const padCanvas = document.getElementById('pad');
const backendSelect = document.getElementById('backend-select');
const query = new URLSearchParams(window.location.search);
const requested = query.get('backend');
const preferred = BACKENDS.includes(requested) ? requested : 'wasm';
const RUNTIMES = ['tfjs', 'litert', 'litert-int8'];
const DEFAULT_RUNTIME = 'tfjs';
const LITERT_OPTION = 'litert-wasm'; // the selector's LiteRT.js entry
const LITERT_INT8_OPTION = 'litert-int8'; // added to the selector when the export proved an int8 .tflite
const PRECISION = { litert: 'float32', 'litert-int8': 'int8' }; // LiteRT.js runtimes by .tflite precision
const firstRuntime = RUNTIMES.includes(query.get('runtime')) ? query.get('runtime') : DEFAULT_RUNTIME;

const view = new ResultView();
const timings = {
  start: performance.now(), readyMs: null, backendMs: null, modelMs: null, warmupMs: null, runtime: null,
};
let model = null; // the model in use: models.tfjs, models.litert or models['litert-int8']
const models = { tfjs: null, litert: null, 'litert-int8': null };
let runtimeName = null; // 'tfjs', 'litert' or 'litert-int8'
let metadata = null;
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

/**
 * Read the pad: the strokes split into digits and read in one batch (number.js), plus the whole
 * drawing read as one digit. Resolves {digits: [{digit, probabilities, box, members, pixels,
 * unsure}], whole, ms}, digits empty when nothing is drawn. A pad painted without strokes (a
 * benchmark's rendered image) is read from its pixels (preprocess.js).
 */
async function readPad() {
  const strokes = pad.allStrokes();
  if (!model) return { digits: [], whole: null, ms: 0 };
  if (strokes.length) return readStrokes(strokes, contract, (batch) => model.predict(batch));
  const pixels = preprocessCanvas(padCanvas, contract);
  if (!pixels) return { digits: [], whole: null, ms: 0 };
  const t0 = performance.now();
  const probabilities = Array.from((await model.predict(pixels)).subarray(0, contract.classes));
  const ms = performance.now() - t0;
  const digit = argmax(probabilities);
  const read = { digit, probabilities, pixels, box: null, members: null, unsure: unsureReason(null, probabilities[digit]) };
  return { digits: [read], whole: read, ms };
}

/** Read the pad and show it. Resolves {digit, probs, ms, pixels, unsure, number, confidence, digits}. */
async function classify() {
  if (!model) return { digit: null, probs: null, ms: 0, pixels: null, digits: [] };
  const { digits, whole, ms } = await readPad();
  if (!digits.length) {
    view.reset();
    return { digit: null, probs: null, ms: 0, pixels: null, digits: [] };
  }
  const { number, confidence } = numberOf(digits, contract.labels);
  if (digits.length === 1) {
    view.show(digits[0].probabilities, digits[0].pixels, ms, digits[0].unsure);
  } else {
    view.showNumber(number, confidence, digits, ms);
  }
  return {
    digit: whole.digit,
    probs: whole.probabilities,
    ms,
    pixels: whole.pixels,
    unsure: digits.length === 1 ? digits[0].unsure : null,
    number,
    confidence,
    digits,
  };
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
  pad.showGroups(result.digits?.length > 1 ? result.digits.map((d) => d.box) : []);
  view.announceResult(result.digit, result.probs, result);
  if (result.digit === null) {
    nativeSeq += 1;
    view.showNative(nativeOn ? null : { off: 'off' });
  } else {
    checkNative(result);
  }
  return {
    digit: result.digit, probs: result.probs, ms: result.ms, unsure: result.unsure ?? null,
    number: result.number ?? null, confidence: result.confidence ?? null,
  };
}

/** The number on the pad: {number, confidence, digits: [{digit, probabilities, box, members, unsure}]}. */
async function readNumber() {
  await ready;
  const result = await settle().then(() => enqueue(readPad));
  const digits = result.digits.map(({ digit, probabilities, box, members, unsure }) => ({
    digit, probabilities, box, members, unsure,
  }));
  if (!digits.length) return { number: null, confidence: null, digits };
  return { ...numberOf(digits, contract.labels), unsure: digits.some((d) => d.unsure), digits };
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

/** The runtime and backend in use, for people: "TF.js wasm (SIMD, threads: 2)", "LiteRT.js wasm (XNNPack)". */
async function describeRuntime() {
  if (runtimeName === 'litert-int8') return 'LiteRT.js int8 wasm (XNNPack)';
  return runtimeName === 'litert' ? 'LiteRT.js wasm (XNNPack)' : `TF.js ${await describeBackend()}`;
}

async function showBackend() {
  backendSelect.value = runtimeName === 'litert' ? LITERT_OPTION
    : (runtimeName === 'litert-int8' ? LITERT_INT8_OPTION : runtime().getBackend());
  const described = await describeRuntime();
  view.showBackend(described);
  return described;
}

/** The LiteRT.js option: offered when the export holds a proven .tflite, greyed out with the reason otherwise. */
function offerLiteRt() {
  const option = backendSelect.querySelector(`option[value="${LITERT_OPTION}"]`);
  const block = metadata?.litert;
  option.disabled = !provenLiteRt(metadata);
  option.title = option.disabled
    ? `This export has no proven LiteRT.js model${block?.reason ? `: ${block.reason}` : ''}` : '';
  const int8 = backendSelect.querySelector(`option[value="${LITERT_INT8_OPTION}"]`);
  if (provenLiteRt(metadata, 'int8') && !int8) {
    const added = new Option('LiteRT.js int8 wasm', LITERT_INT8_OPTION);
    added.title = 'The full-integer model: a quarter of the download; its accuracy cost is on the model page';
    option.after(added);
  } else if (!provenLiteRt(metadata, 'int8') && int8) {
    int8.remove();
  }
}

/** TF.js on `backend` with the graph model (loaded on first use); the backend actually started. */
async function startTfjs(backend) {
  const tf = runtime();
  tf.enableProdMode();
  const started = await chooseBackend(backend);
  if (!models.tfjs) models.tfjs = new DigitModel(await loadGraphModel(), contract);
  return started;
}

/** LiteRT.js (`name` 'litert' or 'litert-int8') with the export's .tflite of that precision
 * (fetched, checked against metadata.json, compiled on first use). */
async function startLiteRt(name = 'litert') {
  const precision = PRECISION[name];
  if (!provenLiteRt(metadata, precision)) {
    const reason = metadata?.[precision === 'int8' ? 'litert_int8' : 'litert']?.reason;
    const what = precision === 'int8' ? 'LiteRT.js int8' : 'LiteRT.js';
    throw new ModelError(`This export has no proven ${what} model${reason ? ` (${reason})` : ''}.`, 'backend');
  }
  if (!models[name]) models[name] = await LiteRtDigitModel.load(metadata, contract, 'wasm', precision);
}

/** Switch TF.js backend (wasm, webgl, cpu), on TF.js; warm up, re-classify; rejects if it cannot start. */
async function setBackend(name) {
  if (!BACKENDS.includes(name)) throw new Error(`unknown backend ${name}; use one of ${BACKENDS.join(', ')}`);
  await ready;
  await enqueue(async () => {
    if (!models.tfjs) await startTfjs(name);
    const previous = runtime().getBackend();
    if (!(await trySetBackend(name))) {
      await trySetBackend(previous);
      throw new ModelError(`The ${name} backend is not available in this browser; staying on ${previous}.`, 'backend');
    }
    await models.tfjs.warmUp();
    model = models.tfjs;
    runtimeName = 'tfjs';
  }).finally(showBackend);
  if (!pad.empty) await settle();
}

/** Switch runtime: 'tfjs' (on `backend`, default wasm), 'litert' or 'litert-int8' (wasm); rejects when it cannot start. */
async function setRuntime(name, backend = 'wasm') {
  if (!RUNTIMES.includes(name)) throw new Error(`unknown runtime ${name}; use one of ${RUNTIMES.join(', ')}`);
  if (name === 'tfjs') return setBackend(backend);
  if (backend !== 'wasm') throw new Error(`LiteRT.js runs on wasm here, not ${backend}`);
  await ready;
  await enqueue(async () => {
    await startLiteRt(name);
    await models[name].warmUp();
    model = models[name];
    runtimeName = name;
  }).finally(showBackend);
  if (!pad.empty) await settle();
  return undefined;
}

backendSelect.addEventListener('change', () => {
  const choice = backendSelect.value;
  const litert = { [LITERT_OPTION]: 'litert', [LITERT_INT8_OPTION]: 'litert-int8' }[choice];
  backendSelect.disabled = true;
  setStatus(`Switching to ${litert ? `LiteRT.js${litert === 'litert-int8' ? ' int8' : ''} wasm` : `TF.js ${choice}`}…`);
  (litert ? setRuntime(litert) : setBackend(choice))
    .then(async () => { hideError(); setStatus(`Ready on ${await describeRuntime()}`, 'ok'); })
    .catch((err) => showError(err.message))
    .finally(() => { backendSelect.disabled = false; });
});

/** Start TF.js: its backend while the server's status comes in, then metadata.json with the graph model. */
async function startOnTfjs(statusPromise) {
  setStatus('Loading TF.js…');
  const tf = runtime();
  tf.enableProdMode();
  const [status, backend] = await Promise.all([statusPromise, chooseBackend(preferred)]);
  timings.backendMs = performance.now() - timings.start;
  const metadataPromise = checkStatus(status);
  setStatus(`Loading the model on ${backend}…`);
  const [meta, graph] = await Promise.all([metadataPromise, loadGraphModel()]);
  useMetadata(meta);
  models.tfjs = new DigitModel(graph, contract);
  runtimeName = 'tfjs';
  return backend !== preferred ? ` (${preferred} was not available)` : '';
}

/** Start LiteRT.js (asked for with ?runtime=litert or litert-int8); TF.js when this export has no such proven .tflite. */
async function startOnLiteRt(statusPromise, name) {
  setStatus('Loading LiteRT.js…');
  useMetadata(await checkStatus(await statusPromise));
  timings.backendMs = performance.now() - timings.start;
  try {
    await startLiteRt(name);
  } catch (err) {
    if (!(err instanceof ModelError) || err.kind !== 'backend') throw err;
    const backend = await startTfjs(preferred);
    runtimeName = 'tfjs';
    return ` (LiteRT.js was not available: ${err.message}${backend !== preferred ? `; nor ${preferred}` : ''})`;
  }
  runtimeName = name;
  return '';
}

/** The server's status: native check on or off, a model or not; resolves metadata.json (or null). */
function checkStatus(status) {
  nativeOn = Boolean(status?.native);
  if (!nativeOn) view.showNative({ off: 'off' });
  if (status && !status.model) throw new ModelError('No exported model on the server yet.', 'missing');
  return status?.metadata === false ? Promise.resolve(null) : fetchJson(METADATA_URL).catch(() => null);
}

function useMetadata(meta) {
  metadata = meta;
  contract = digitContract(meta);
  view.useContract(contract);
  offerLiteRt();
}

async function start() {
  const statusPromise = serverStatus();
  const fellBack = firstRuntime === 'tfjs' ? await startOnTfjs(statusPromise)
    : await startOnLiteRt(statusPromise, firstRuntime);
  model = models[runtimeName];
  timings.runtime = runtimeName;
  timings.modelMs = performance.now() - timings.start;
  await model.warmUp();
  timings.warmupMs = performance.now() - timings.start;
  showModelCard(metadata);

  const described = await showBackend();
  backendSelect.disabled = false;
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
  /** The backend in use: 'wasm', 'webgl' or 'cpu' on TF.js; 'wasm' on LiteRT.js. */
  backend: () => (runtimeName?.startsWith('litert') ? 'wasm' : runtime().getBackend()),
  /** The runtime in use: 'tfjs', 'litert' or 'litert-int8' (null before start-up has chosen). */
  runtime: () => runtimeName,
  /** Float32Array of n images (n * 784 pixels for MNIST) in [0, 1] → Promise of n * 10 probabilities. */
  predictPixels: (pixels) => ready.then(() => enqueue(() => model.predict(pixels))),
  /**
   * What the model reads, Float32Array(784 for MNIST) as MNIST was made, or null when empty: the
   * pad's strokes re-drawn at MNIST's scale (all of them as one digit); with a canvas, or a pad
   * painted without strokes, that canvas' pixels.
   */
  preprocess: (canvas) => (canvas || !pad.allStrokes().length ? preprocessCanvas(canvas || padCanvas, contract)
    : preprocessStrokes(pad.allStrokes(), contract)),
  /** Classify what is on the pad as one digit (updates the page); {digit: null} when the pad is empty. */
  classifyCanvas: () => ready.then(settle),
  /**
   * Read the pad as a number: {number, confidence, unsure, digits: [{digit, probabilities, box,
   * members, unsure}]}; `members`: the indices of the digit's strokes in `strokes()`.
   */
  readNumber,
  /** The boxes shown around the digits of the number last read ({left, top, right, bottom} pad fractions). */
  groupBoxes: () => pad.groupBoxes.map((b) => ({ ...b })),
  /** The pad's strokes: arrays of [x, y] in pad fractions. */
  strokes: () => pad.allStrokes().map((s) => s.map((p) => [p[0], p[1]])),
  /** Clear the pad and the result. */
  clear: () => pad.clear(),
  /** Switch TF.js backend (switching to TF.js); rejects when it is not available. */
  setBackend,
  /** Switch runtime: setRuntime('litert'), setRuntime('litert-int8') or setRuntime('tfjs', backend); rejects when it is not available. */
  setRuntime,
  /** The runtime and backend in use, described: "TF.js wasm (SIMD, threads: 2)", "LiteRT.js wasm (XNNPack)". */
  describeBackend: describeRuntime,
  timings,
  pad: padCanvas,
  /** The model's contract (contract.js): input shape, labels and preprocessing from metadata.json. */
  contract: () => contract,
  /**
   * Read the pad without updating the page: {digits: [{digit, probabilities, box, pixels, unsure}],
   * whole, ms}, the whole drawing read as one digit beside its digits (null when nothing is drawn).
   */
  readPad: () => ready.then(() => enqueue(readPad)),
  /** The pen shown on the pad, as a fraction of its side (the model's reading ignores it). */
  setPenWidth: (fraction = LINE_WIDTH) => pad.setLineWidth(fraction),
};
