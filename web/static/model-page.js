// The model page (any export): the model card and the export's parity table from metadata.json,
// the exporter's runtime advice (TF.js or LiteRT.js), and "Check in this browser", which re-runs the
// bundled proof on every backend this browser has (WebGPU where it has an adapter, which the page
// names), on LiteRT.js too where the export proved a .tflite (and its int8 twin, judged by the int8
// rules), and races them at batch 1. Only DOM work and wiring here; the check itself is
// proof-check.js, backends are model.js, litert.js and webgpu.js.

import { LITERT_BACKENDS, provenLiteRt } from './litert.js';
import { BACKENDS, fetchJson, METADATA_URL, MODEL_URL, ModelError } from './model.js';
import {
  CHECK_BUDGET_MS, checkAll, checkLiteRt, loadBundle,
} from './proof-check.js';
import {
  bytes, fillFacts, hideError, provenOn, setStatus, showError, showMissingModel,
} from './ui.js';
import { adapterText, webgpuAdapter, webgpuUnavailable } from './webgpu.js';

const $ = (id) => document.getElementById(id);
const checkButton = $('check');

const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Shape as people write it: [?, 28, 28, 1] (? = any size). */
function shapeText(shape) {
  return Array.isArray(shape) ? `[${shape.map((n) => (n === null || n === -1 ? '?' : n)).join(', ')}]` : '–';
}

function exp(value) {
  return isNumber(value) ? value.toExponential(1) : '–';
}

function percent(value) {
  return isNumber(value) ? `${(value * 100).toFixed(value === 1 ? 0 : 2)}%` : '–';
}

function ms(value) {
  return isNumber(value) ? value.toFixed(value < 10 ? 2 : 1) : '–';
}

/** "1 sample", "8 samples", "1,024 samples". */
function count(n, noun) {
  return `${n.toLocaleString('en')} ${noun}${n === 1 ? '' : 's'}`;
}

/** Cell classes for the numeric columns from `first` on (kept on one line). */
const NUMBERS_FROM = (first) => Object.fromEntries([0, 1, 2].map((k) => [first + k, 'num']));

/** A table row of text cells (first one a row header); `cls` per cell index, optional. */
function row(cells, cls = {}) {
  const tr = document.createElement('tr');
  cells.forEach((text, i) => {
    const cell = document.createElement(i === 0 ? 'th' : 'td');
    if (i === 0) cell.scope = 'row';
    cell.textContent = text;
    if (cls[i]) cell.className = cls[i];
    tr.append(cell);
  });
  return tr;
}

/** The worst figures of a RESULT over its outputs: largest relative diff, lowest agreement. */
export function worst(result) {
  const outputs = Object.values(result?.outputs || {});
  const diffs = outputs.map((o) => o.relative_diff).filter(isNumber);
  const agreements = outputs.map((o) => o.agreement).filter(isNumber);
  return {
    relative: diffs.length ? Math.max(...diffs) : null,
    agreement: agreements.length ? Math.min(...agreements) : null,
  };
}

/** metadata.json's `inputs` or `outputs`: the specs that are objects. */
function specs(meta, plural) {
  return Array.isArray(meta[plural]) ? meta[plural].filter(isObject) : [];
}

function showFacts(meta) {
  const facts = [];
  if (meta.kind) facts.push(['Kind', meta.kind]);
  if (isObject(meta.source) && meta.source.name) {
    const params = isNumber(meta.source.parameters) ? `, ${meta.source.parameters.toLocaleString('en')} parameters` : '';
    facts.push(['Source', `${meta.source.name}${params}`]);
  }
  if (isNumber(meta.download_bytes)) facts.push(['Download size', bytes(meta.download_bytes)]);
  if (typeof meta.quantization === 'string') facts.push(['Quantization', meta.quantization]);
  if (typeof meta.created_utc === 'string') facts.push(['Exported', meta.created_utc.replace('T', ' ').replace('Z', ' UTC')]);
  if (meta.verified === false) facts.push(['Warning', meta.warning || 'unverified export']);
  fillFacts($('model-facts'), facts);
}

function showSpecs(meta) {
  const inputs = $('inputs').tBodies[0];
  inputs.replaceChildren(...specs(meta, 'inputs').map(
    (s) => row([s.name || '–', s.dtype || '–', shapeText(s.shape)], { 2: 'mono' })));
  const outputs = $('outputs').tBodies[0];
  outputs.replaceChildren(...specs(meta, 'outputs').map(
    (s) => row([s.name || '–', s.dtype || '–', shapeText(s.shape), s.classifier ? 'yes' : 'no'], { 2: 'mono' })));
  const rewrites = $('rewrites');
  const list = Array.isArray(meta.rewrites) ? meta.rewrites.filter(isObject) : [];
  rewrites.replaceChildren(...(list.length ? list : [null]).map((r) => {
    const li = document.createElement('li');
    li.textContent = r ? `${r.layer || '?'} (${r.class || '?'}): ${r.what || ''}` : 'nothing';
    return li;
  }));
}

/** "190 of 256" when a time budget stopped a backend early, else the count it compared. */
function samplesSeen(result) {
  if (!isNumber(result.samples)) return '–';
  const seen = result.samples.toLocaleString('en');
  return isNumber(result.of) && result.of > result.samples ? `${seen} of ${result.of.toLocaleString('en')}` : seen;
}

// The float32 rounding allowance an export was judged with (metadata.json proof.float32_rounding).
function roundingRule(rounding) {
  const factor = isObject(rounding) && isNumber(rounding.factor) ? rounding.factor : null;
  return ` (or within float32 rounding${factor ? `: ${factor}× Keras' own float32 error` : ''})`;
}

/**
 * The rules an export was proven by, from metadata.json proof.thresholds: each quantization has its
 * own (export/rules.py), and a digit model's float16 and uint8 rules are on its test accuracy.
 */
export function ruleText(proof) {
  const t = isObject(proof.thresholds) ? proof.thresholds : {};
  const rules = [];
  if (isNumber(t.max_relative_diff)) {
    rules.push(`relative difference ≤ ${exp(t.max_relative_diff)}`
      + `${isObject(t.float32_max_abs_diff) ? roundingRule(proof.float32_rounding) : ''}`);
  }
  if (isNumber(t.min_agreement)) rules.push(`argmax agreement ≥ ${percent(t.min_agreement)}`);
  if (isNumber(t.max_accuracy_change_pp)) rules.push(`test accuracy within ±${t.max_accuracy_change_pp} pp of Keras'`);
  if (isNumber(t.max_accuracy_drop_pp)) rules.push(`test accuracy at most ${t.max_accuracy_drop_pp} pp below Keras'`);
  return rules.length ? `Rule: ${rules.join(', ')}.` : 'metadata.json records no rule.';
}

/**
 * LiteRT.js' browser results with the accelerators it did not run on as results too:
 * {skipped: why} (no adapter in the exporter's browser), {unavailable: why} (cannot run the model).
 */
function litertResults(proof) {
  if (!isObject(proof) || !isObject(proof.browser)) return null;
  const as = (field, map) => Object.entries(isObject(map) ? map : {}).map(([name, why]) => [name, { [field]: why }]);
  return { ...proof.browser, ...Object.fromEntries([...as('skipped', proof.skipped), ...as('unavailable', proof.unavailable)]) };
}

/** One row of the parity table: a backend's result, or why it has none (skipped, unavailable). */
function proofRow(key, label, backend, result) {
  // A WebGPU result names the adapter it ran on: the exporter's may have been a software one.
  const on = isObject(result.adapter) ? ` (${adapterText(result.adapter)})` : '';
  const name = `${label} ${backend}${on}`;
  let tr;
  if (result.skipped || result.unavailable) {
    tr = row([name, result.skipped ? 'not run' : 'cannot run this model', '–', '–', '–', '–'], { 1: 'muted-text' });
    tr.title = result.skipped || result.unavailable;
  } else {
    const w = worst(result);
    tr = row([name, result.passed ? 'passed' : 'failed', samplesSeen(result),
      key === 'litert_int8' ? 'int8 rules' : exp(w.relative), percent(w.agreement),
      ms(result.ms_per_call ?? result.batch1_ms)],
    { 1: result.passed ? 'ok' : 'bad', ...NUMBERS_FROM(2) });
    if (!result.passed && Array.isArray(result.failures)) tr.title = result.failures.join('\n');
    else if (result.stopped_by === 'time budget') tr.title = `${result.budget_s} s budget for this backend`;
  }
  tr.dataset.runtime = key.startsWith('litert') ? key : 'tfjs';
  return tr;
}

function showProof(meta) {
  const summary = $('proof-summary');
  const body = $('proof-table').tBodies[0];
  body.replaceChildren();
  const proof = meta.proof;
  if (!isObject(proof)) {
    summary.textContent = 'This export has no parity figures.';
    $('proof-table').hidden = true;
    return;
  }
  const where = provenOn(proof);
  const seen = count(proof.samples ?? 0, `${proof.source ? `${proof.source} ` : ''}sample`);
  summary.textContent = `${proof.passed ? 'Passed' : 'FAILED'}: ${seen}${where ? ` on ${where}` : ''}. ${ruleText(proof)}`;
  const litert = isObject(meta.litert) ? meta.litert : null;
  const runs = [['node', 'TF.js node', proof.node], ['browser', 'TF.js browser', proof.browser]];
  if (litert) runs.push(['litert', 'LiteRT.js browser', litertResults(litert.proof)]);
  const int8 = isObject(meta.litert_int8) && meta.litert_int8.status !== 'off' ? meta.litert_int8 : null;
  if (int8) runs.push(['litert_int8', 'LiteRT.js int8 browser', litertResults(int8.proof)]);
  for (const [key, label, results] of runs) {
    if (!isObject(results)) {
      const block = key === 'litert_int8' ? int8 : litert;
      const why = key.startsWith('litert') ? `${block.status}${block.reason ? `: ${block.reason}` : ''}` : 'not run';
      body.append(row([label, why, '–', '–', '–', '–'], { 1: 'muted-text' }));
      continue;
    }
    for (const [backend, result] of Object.entries(results)) {
      if (isObject(result)) body.append(proofRow(key, label, backend, result));
    }
  }
}

const RUNTIME_NAMES = { tfjs: 'TF.js', litert: 'LiteRT.js', litert_int8: 'LiteRT.js int8' };

/** The exporter's advice (metadata.json `runtimes`): per runtime its downloads and ms per call, and which to ship. */
function showAdvice(meta) {
  const advice = isObject(meta.runtimes) ? meta.runtimes : null;
  $('advice-card').hidden = !advice;
  if (!advice) return;
  const body = $('advice-table').tBodies[0];
  body.replaceChildren();
  for (const key of ['tfjs', 'litert', 'litert_int8']) {
    const r = advice[key];
    if (!isObject(r)) continue;
    const calls = isObject(r.ms_per_call) ? Object.entries(r.ms_per_call).filter(([, v]) => isNumber(v)) : [];
    const tr = row([`${RUNTIME_NAMES[key]}${r.precision ? ` (${r.precision})` : ''}`,
      calls.length ? '' : '–',
      isNumber(r.runtime_gzip_bytes) ? bytes(r.runtime_gzip_bytes) : '–',
      isNumber(r.model_gzip_bytes ?? r.model_bytes) ? bytes(r.model_gzip_bytes ?? r.model_bytes) : '–'],
    { 1: 'items', 2: 'num', 3: 'num' });
    calls.forEach(([backend, v], i) => {
      if (i) tr.cells[1].append(', ');
      tr.cells[1].append(Object.assign(document.createElement('span'), { textContent: `${backend} ${ms(v)}` }));
    });
    tr.dataset.runtime = key;
    if (r.accuracy_text) tr.title = `Against Keras: ${r.accuracy_text}`;
    body.append(tr);
  }
  const a = isObject(advice.advice) ? advice.advice : {};
  const network = isObject(advice.network) ? advice.network : {};
  const breakEven = isNumber(a.break_even_calls)
    ? ` Break-even: ${a.break_even_calls.toLocaleString('en')} calls per page visit.` : '';
  $('advice-text').textContent = `${a.text || ''}${breakEven}`
    + `${network.name ? ` Downloads ${advice.compression || 'compressed'}, at ${network.name}.` : ''}`;
}

/** Batch-1 ms per call of a check outcome: the timed calls' median, else the proof's own. */
function batch1(result) {
  return isNumber(result?.batch1_ms) ? result.batch1_ms : result?.ms_per_call;
}

function showCheckResult(outcome) {
  const table = $('check-table');
  table.hidden = false;
  const name = `${RUNTIME_NAMES[outcome.runtime] || ''} ${outcome.backend}`.trim();
  let tr;
  if (outcome.refused) {
    tr = row([name, 'not offered for this model', '–', '–', '–', '–'], { 1: 'muted-text' });
    tr.title = outcome.refused;
  } else if (!outcome.available) {
    tr = row([name, 'not available here', '–', '–', '–', '–'], { 1: 'muted-text' });
  } else if (outcome.error) {
    tr = row([name, `error: ${outcome.error}`, '–', '–', '–', '–'], { 1: 'bad' });
  } else {
    const { result } = outcome;
    const w = worst(result);
    const described = outcome.runtime === 'tfjs' && outcome.described ? `TF.js ${outcome.described}` : outcome.described;
    tr = row([described || name, result.passed ? 'agrees' : 'differs', samplesSeen(result),
      exp(w.relative), percent(w.agreement), ms(batch1(result))],
    { 1: result.passed ? 'ok' : 'bad', ...NUMBERS_FROM(2), 5: 'num' });
    if (!result.passed) tr.title = result.failures.join('\n');
    else if (result.stopped_by === 'time budget') tr.title = `${result.budget_s} s budget for this backend`;
  }
  tr.dataset.runtime = outcome.runtime;
  tr.dataset.backend = outcome.backend;
  tr.dataset.state = outcome.refused ? 'refused'
    : (!outcome.available ? 'unavailable' : (outcome.error ? 'error' : String(outcome.result.passed)));
  table.tBodies[0].append(tr);
}

let metadata = null;
const state = { results: null, race: null, adapter: null };

/**
 * The race on this machine among the outcomes that agree with Keras: the fastest at batch 1, and
 * how it compares with the fastest of the other runtime; null with fewer than one runtime.
 */
export function race(agreed) {
  const timed = agreed.filter((o) => isNumber(batch1(o.result)));
  if (!timed.length) return null;
  const best = (list) => list.reduce((a, b) => (batch1(b.result) < batch1(a.result) ? b : a));
  const winner = best(timed);
  const others = timed.filter((o) => o.runtime !== winner.runtime);
  const label = (o) => `${RUNTIME_NAMES[o.runtime]} ${o.backend}`;
  const fastest = { runtime: winner.runtime, backend: winner.backend, ms: batch1(winner.result) };
  if (!others.length) {
    return { ...fastest, text: `Fastest here: ${label(winner)}, ${ms(fastest.ms)} ms per call (batch 1).` };
  }
  const runnerUp = best(others);
  const speedup = batch1(runnerUp.result) / fastest.ms;
  return {
    ...fastest,
    speedup,
    text: `Fastest here: ${label(winner)}, ${ms(fastest.ms)} ms per call (batch 1), ${speedup.toFixed(1)}x `
      + `${label(runnerUp)} (${ms(batch1(runnerUp.result))} ms).`,
  };
}

/**
 * The WebGPU adapter this browser offers, named above the check's table: a software one proves the
 * computation as well as a GPU, but its timings say nothing of a GPU.
 */
function showAdapter(adapter) {
  const note = $('adapter-note');
  if (!adapter) {
    note.textContent = 'No WebGPU adapter in this browser: the webgpu rows cannot run here.';
  } else if (adapter.software) {
    note.textContent = `WebGPU adapter: ${adapterText(adapter)}. The webgpu rows check the computation, `
      + 'but their timings are a CPU running a software GPU, and say nothing of a GPU\'s speed.';
  } else {
    note.textContent = `WebGPU adapter: ${adapterText(adapter)}.`;
  }
  note.dataset.software = String(Boolean(adapter?.software));
  note.hidden = false;
}

/**
 * A status line per progress report of the check (proof-check.js `common`): which backend runs,
 * its place among the `backends` the check runs, and how far its comparison has got.
 */
function progressShower(backends, total) {
  let started = 0;
  return (p) => {
    const name = `${RUNTIME_NAMES[p.runtime]} ${p.backend}`;
    if (p.phase === 'starting') {
      started += 1;
      setStatus(`Checking on ${name} (backend ${started} of ${backends}): starting, first call…`);
    } else if (p.phase === 'timing') { // a runner that reports its batch-1 timing (export/proof.js)
      setStatus(`Checking on ${name} (backend ${started} of ${backends}): timing${p.calls ? ` ${p.calls}` : ''} calls at batch 1…`);
    } else {
      const rate = p.msPerSample < 1 ? `${(p.msPerSample * 1000).toFixed(0)} µs` : `${ms(p.msPerSample)} ms`;
      setStatus(`Checking on ${name} (backend ${started} of ${backends}): ${p.done.toLocaleString('en')} of `
        + `${count(total, 'sample')} compared, ${(p.elapsedMs / 1000).toFixed(1)} s, ${rate} a sample…`);
    }
  };
}

/** Which samples the backends that ran compared: all of them, or as many as each one's time allowed. */
function comparedText(ran, total) {
  if (ran.every((r) => r.result.samples >= total)) return total === 1 ? 'the 1 sample' : `all ${count(total, 'sample')}`;
  return `as many of the ${count(total, 'sample')} as each compared in ${CHECK_BUDGET_MS / 1000} s (see Samples)`;
}

/**
 * How many backends the check will start: every TF.js one, and LiteRT.js' where the export proved
 * it, less WebGPU where the export says a runtime cannot run the model there.
 */
function plannedBackends() {
  const refused = (name) => (webgpuUnavailable(metadata, name) ? 1 : 0);
  return BACKENDS.length - refused('tfjs') + (provenLiteRt(metadata) ? LITERT_BACKENDS.length - refused('litert') : 0)
    + (provenLiteRt(metadata, 'int8') ? 1 : 0);
}

/** Run the check on every backend; resolves [{backend, available, described, result | error}]. */
async function check() {
  checkButton.disabled = true;
  $('check-table').tBodies[0].replaceChildren();
  hideError();
  try {
    setStatus('Downloading the proof samples…');
    const [bundle, adapter] = await Promise.all([loadBundle(), webgpuAdapter()]);
    showAdapter(adapter);
    const classifiers = specs(metadata || {}, 'outputs').filter((s) => s.classifier).map((s) => s.name);
    const onProgress = progressShower(plannedBackends(), bundle.samples);
    const results = await checkAll(bundle, { classifiers, onProgress, metadata }, showCheckResult);
    if (provenLiteRt(metadata)) {
      results.push(...await checkLiteRt(bundle, metadata, { classifiers, onProgress }, showCheckResult));
    }
    if (provenLiteRt(metadata, 'int8')) {
      results.push(...await checkLiteRt(bundle, metadata,
        { classifiers, accelerators: ['wasm'], precision: 'int8', onProgress }, showCheckResult));
    }
    state.results = results;
    state.adapter = adapter;
    const ran = results.filter((r) => r.result);
    const agreed = ran.filter((r) => r.result.passed);
    const missing = results.length - ran.length;
    $('check-note').textContent = `${agreed.length} of ${count(ran.length, 'backend')} that ran agree with Keras on `
      + `${comparedText(ran, bundle.samples)}.${missing ? ` ${missing} not available or failed to run.` : ''}`;
    state.race = race(agreed);
    $('race-note').textContent = state.race ? state.race.text : '';
    setStatus(agreed.length === ran.length && ran.length ? 'Checked: this browser computes what Keras computed'
      : 'Checked: see the table', agreed.length === ran.length && ran.length ? 'ok' : 'error');
    return results;
  } catch (err) {
    showError(err.message || String(err));
    throw err;
  } finally {
    checkButton.disabled = false;
  }
}

async function start() {
  metadata = await fetchJson(METADATA_URL);
  if (metadata === null) {
    const manifest = await fetchJson(MODEL_URL);
    if (manifest === null) throw new ModelError('No exported model on the server yet.', 'missing');
    throw new ModelError('This export has no metadata.json.', 'load');
  }
  const kind = metadata.kind || 'mnist-digits';
  $('model-title').textContent = isObject(metadata.source) && metadata.source.name
    ? `Model: ${metadata.source.name}` : 'Exported model';
  $('digit-link').hidden = kind !== 'mnist-digits';
  showFacts(metadata);
  showSpecs(metadata);
  showProof(metadata);
  showAdvice(metadata);
  if (isNumber(metadata.proof?.bundled) && metadata.proof.bundled > 0) {
    checkButton.disabled = false;
    setStatus('Ready', 'ok');
  } else {
    $('check-note').textContent = 'This export has no proof bundle (proof.json, proof.bin): re-export it with the current `python -m export`.';
    setStatus('Ready (no proof bundle to check)', 'ok');
  }
}

checkButton.addEventListener('click', () => { check().catch(() => {}); });

const ready = start().then(() => true);
ready.catch((err) => {
  if (err instanceof ModelError && err.kind === 'missing') showMissingModel();
  else showError(err.message || String(err));
});

window.modelPage = {
  /** Resolves when the card is shown; rejects with the reason it cannot be. */
  ready,
  /** Run the check on every backend (as the button does). */
  check: () => ready.then(check),
  /** The last check's outcomes, or null: [{runtime: 'tfjs' | 'litert' | 'litert_int8', backend, available, result | error}]. */
  results: () => state.results,
  /** The last check's race: {runtime, backend, ms, speedup, text} of the fastest agreeing backend, or null. */
  race: () => state.race,
  /** The WebGPU adapter the last check ran on ({vendor, architecture, device, description, software}), or null. */
  adapter: () => state.adapter,
};
