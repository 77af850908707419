// The draw-a-digit page, wired: the pad and its keys, the runtime selector (WebGPU entries only
// where the browser has an adapter), start-up (runtime, backend, model, warm-up) and
// `window.digitDemo`. Reading the pad is reading.js's job, starting and
// switching runtimes runtimes.js's, showing results ui.js's.

import { serverStatus } from './api.js';
import { digitDemoApi } from './digit-demo.js';
import { BACKENDS, chooseBackend, fetchJson, METADATA_URL, ModelError, tfjs } from './model.js';
import { Pad } from './pad.js';
import { PadReader } from './reading.js';
import { RUNTIMES, Runtimes } from './runtimes.js';
import {
  hideError, ResultView, setStatus, showError, showMissingModel, showModelCard,
} from './ui.js';
import { adapterText, webgpuAdapter } from './webgpu.js';

const query = new URLSearchParams(window.location.search);
const preferred = BACKENDS.includes(query.get('backend')) ? query.get('backend') : 'wasm';
const firstRuntime = RUNTIMES.includes(query.get('runtime')) ? query.get('runtime') : 'tfjs';
// The selector's entries for the LiteRT.js runtimes, [runtime, accelerator]; the others are TF.js backends.
const SELECTOR_RUNTIMES = {
  'litert-wasm': ['litert', 'wasm'], 'litert-webgpu': ['litert', 'webgpu'], 'litert-int8': ['litert-int8', 'wasm'],
};

const padCanvas = document.getElementById('pad');
const backendSelect = document.getElementById('backend-select');
const timings = {
  start: performance.now(), readyMs: null, backendMs: null, modelMs: null, warmupMs: null, runtime: null,
};
const view = new ResultView();
const runtimes = new Runtimes();

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

const pad = new Pad(padCanvas, {
  onDraw: () => reader.scheduleLive(),
  onStrokeEnd: () => { reader.settle().catch(reportError); },
  onClear: () => reader.cleared(),
});
const reader = new PadReader({ pad, view, runtimes, onError: reportError });

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

/** Show the runtime in use in the selector and the result panel; resolves its description. */
async function showRuntime() {
  const selected = Object.keys(SELECTOR_RUNTIMES).find(
    (option) => SELECTOR_RUNTIMES[option].join() === [runtimes.name, runtimes.backend()].join());
  backendSelect.value = selected ?? runtimes.backend();
  const described = await runtimes.describe();
  view.showBackend(described);
  return described;
}

/**
 * The WebGPU entries, TF.js webgpu and LiteRT.js webgpu, where this browser has an adapter (none
 * otherwise); their titles name it, and say so when it is a software one. Each is greyed out, with
 * the reason, where its runtime may not run this export's model on WebGPU (Runtimes.unavailable).
 */
function offerWebGpu(adapter) {
  if (!adapter || backendSelect.querySelector('option[value="webgpu"]')) return;
  const title = `On this browser's WebGPU adapter: ${adapterText(adapter)}`
    + `${adapter.software ? ' (exact, but its speed is a CPU\'s, not a GPU\'s)' : ''}`;
  const tfjs = new Option('TF.js webgpu', 'webgpu');
  backendSelect.querySelector('option[value="webgl"]').after(tfjs);
  const litert = new Option('LiteRT.js webgpu', 'litert-webgpu');
  backendSelect.querySelector('option[value="litert-wasm"]').after(litert);
  for (const [option, name] of [[tfjs, 'tfjs'], [litert, 'litert']]) {
    const why = runtimes.unavailable(name, 'webgpu');
    option.title = why ?? title;
    option.disabled = Boolean(why);
  }
}

/** The LiteRT.js entries: offered where the export proved the model, greyed out with the reason otherwise. */
function offerLiteRt() {
  const float = backendSelect.querySelector('option[value="litert-wasm"]');
  float.title = runtimes.unavailable('litert') ?? '';
  float.disabled = Boolean(float.title);
  const int8 = backendSelect.querySelector('option[value="litert-int8"]');
  if (!runtimes.unavailable('litert-int8') && !int8) {
    const added = new Option('LiteRT.js int8 wasm', 'litert-int8');
    added.title = 'The full-integer model: a quarter of the download; its accuracy cost is on the model page';
    float.parentElement.append(added);
  } else if (runtimes.unavailable('litert-int8') && int8) {
    int8.remove();
  }
}

/** Switch to runtime `name` (TF.js on `backend`), then read the pad again; rejects when it cannot start. */
async function switchTo(name, backend = 'wasm') {
  await ready;
  await runtimes.use(name, backend).finally(showRuntime);
  if (!pad.empty) await reader.settle();
}

backendSelect.addEventListener('change', () => {
  const choice = backendSelect.value;
  const [name, backend] = SELECTOR_RUNTIMES[choice] ?? ['tfjs', choice];
  backendSelect.disabled = true;
  setStatus(`Switching to ${backendSelect.selectedOptions[0].text}…`);
  switchTo(name, backend)
    .then(async () => { hideError(); setStatus(`Ready on ${await runtimes.describe()}`, 'ok'); })
    .catch((err) => showError(err.message))
    .finally(() => { backendSelect.disabled = false; });
});

/** The server's status: native check on or off, a model or not; resolves metadata.json (or null). */
function metadataOf(status) {
  reader.setNative(Boolean(status?.native));
  if (status && !status.model) throw new ModelError('No exported model on the server yet.', 'missing');
  return status?.metadata === false ? Promise.resolve(null) : fetchJson(METADATA_URL).catch(() => null);
}

async function start() {
  tfjs().enableProdMode();
  const adapterPromise = webgpuAdapter(); // asked while the rest starts; no backend starts on it unasked
  const statusPromise = serverStatus();
  setStatus(`Loading ${firstRuntime === 'tfjs' ? 'TF.js' : 'LiteRT.js'}…`);
  // TF.js' backend starts while the server's status comes in.
  const [status, backend] = await Promise.all([statusPromise, firstRuntime === 'tfjs' ? chooseBackend(preferred) : null]);
  timings.backendMs = performance.now() - timings.start;
  const metadataPromise = metadataOf(status);
  if (backend) setStatus(`Loading the model on ${backend}…`);
  let fellBack = await runtimes.start(firstRuntime, preferred, metadataPromise);
  if (backend && backend !== preferred) fellBack = ` (${preferred} was not available)`;
  view.useContract(runtimes.contract);
  offerWebGpu(await adapterPromise);
  offerLiteRt();
  timings.runtime = runtimes.name;
  timings.modelMs = performance.now() - timings.start;
  await runtimes.model.warmUp();
  timings.warmupMs = performance.now() - timings.start;
  showModelCard(runtimes.metadata);

  const described = await showRuntime();
  backendSelect.disabled = false;
  timings.readyMs = performance.now();
  setStatus(`Ready: ${described}${fellBack}, loaded in ${Math.round(timings.readyMs)} ms`, 'ok');
  if (!pad.empty) await reader.settle();
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

window.digitDemo = digitDemoApi({ ready, pad, padCanvas, reader, runtimes, switchTo, timings });
