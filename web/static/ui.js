// The result side of the page: digit, probability bars, the input preview, status, errors,
// native agreement and the model card. Only DOM work here; no TF.js, no fetches.

import { argmax, DEFAULT_CONTRACT } from './digit-contract.js';

const $ = (id) => document.getElementById(id);

// What the page says instead of a confident wrong answer (unsure.js unsureReason).
const UNSURE_TEXT = {
  small: () => 'Too small to read: draw the digit larger',
  scribble: () => 'That does not look like a digit',
  unsure: (label, sure) => `Not sure: maybe a ${label} (${sure}). Try writing it more clearly`,
};

/** Model-input pixels (rows x columns values in [0, 1]) as an opaque grey ImageData of `ctx`. */
export function greyImage(ctx, pixels, rows, columns) {
  const image = ctx.createImageData(columns, rows);
  for (let i = 0; i < rows * columns; i += 1) {
    const v = Math.round(Math.max(0, Math.min(1, pixels[i])) * 255);
    image.data.fill(v, 4 * i, 4 * i + 3);
    image.data[4 * i + 3] = 255;
  }
  return image;
}

export class ResultView {
  constructor(contract = DEFAULT_CONTRACT) {
    this.digit = $('digit');
    this.confidence = $('confidence');
    this.bars = $('bars');
    this.preview = $('preview');
    this.previewCtx = this.preview.getContext('2d');
    this.backend = $('backend-info');
    this.ms = $('ms');
    this.native = $('native');
    this.announce = $('announce');
    this.numberDigits = $('number-digits');
    this.useContract(contract);
  }

  /** One bar per label and a preview of the model's input size (digit-contract.js); resets the view. */
  useContract(contract) {
    this.contract = contract;
    this.preview.width = contract.columns;
    this.preview.height = contract.rows;
    $('preview-caption').textContent = `What the model sees (${contract.rows}×${contract.columns})`;
    this.rows = [];
    this.bars.replaceChildren();
    for (const text of contract.labels) {
      const li = document.createElement('li');
      li.className = 'bar';
      const label = document.createElement('span');
      label.className = 'bar-label';
      label.textContent = text;
      const track = document.createElement('span');
      track.className = 'bar-track';
      const fill = document.createElement('span');
      fill.className = 'bar-fill';
      track.append(fill);
      const value = document.createElement('span');
      value.className = 'bar-value';
      value.textContent = '–';
      li.append(label, track, value);
      this.bars.append(li);
      this.rows.push({ li, fill, value });
    }
    this.reset();
  }

  /** Back to the empty state (nothing drawn). */
  reset() {
    this.digit.textContent = '?';
    this.digit.classList.add('idle');
    this.digit.classList.remove('unsure', 'number');
    this.numberDigits.replaceChildren();
    this.numberDigits.hidden = true;
    $('preview-caption').textContent = `What the model sees (${this.contract.rows}×${this.contract.columns})`;
    this.confidence.textContent = 'Draw a digit, 0 to 9';
    for (const row of this.rows) {
      row.fill.style.width = '0%';
      row.value.textContent = '–';
      row.li.classList.remove('top');
    }
    this.previewCtx.clearRect(0, 0, this.preview.width, this.preview.height);
    this.ms.textContent = '–';
    this.showNative(null);
  }

  /** The probability bars for one reading. */
  showBars(probs, best) {
    this.rows.forEach((row, d) => {
      const p = Math.max(0, Math.min(1, probs[d]));
      row.fill.style.width = `${(p * 100).toFixed(2)}%`;
      row.value.textContent = `${(p * 100).toFixed(1)}%`;
      row.li.classList.toggle('top', d === best);
    });
  }

  /**
   * Show one digit: probs (one per label), the input pixels, the time it took, and why it is not
   * trusted (unsure.js unsureReason: 'small', 'scribble', 'unsure', or null); returns the class.
   */
  show(probs, pixels, ms, unsure = null) {
    const best = argmax(probs);
    const label = this.contract.labels[best];
    const sure = `${(probs[best] * 100).toFixed(1)}%`;
    this.numberDigits.hidden = true;
    this.numberDigits.replaceChildren();
    this.digit.textContent = unsure ? '?' : label;
    this.digit.classList.remove('idle', 'number');
    this.digit.classList.toggle('unsure', Boolean(unsure));
    this.confidence.textContent = unsure ? UNSURE_TEXT[unsure](label, sure) : `${sure} sure`;
    this.showBars(probs, best);
    this.drawPreview(pixels);
    $('preview-caption').textContent = `What the model sees (${this.contract.rows}×${this.contract.columns})`;
    this.ms.textContent = `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
    return best;
  }

  /** Show several digits read as a number: each one's input and probability, the whole's confidence. */
  showNumber(number, confidence, digits, ms) {
    const unsure = digits.filter((d) => d.unsure);
    this.digit.textContent = number;
    this.digit.classList.remove('idle');
    this.digit.classList.add('number');
    this.digit.classList.toggle('unsure', unsure.length > 0);
    const sure = `${(confidence * 100).toFixed(1)}%`;
    this.confidence.textContent = unsure.length
      ? `Not sure of digit ${unsure.map((d) => digits.indexOf(d) + 1).join(', ')}: write it more clearly (${sure})`
      : `The number ${number}, ${sure} sure`;
    this.numberDigits.replaceChildren();
    let weakest = digits[0];
    for (const d of digits) {
      if (d.probabilities[d.digit] < weakest.probabilities[weakest.digit]) weakest = d;
      const li = document.createElement('li');
      li.classList.toggle('unsure', Boolean(d.unsure));
      const canvas = document.createElement('canvas');
      this.paint(canvas, d.pixels);
      const text = document.createElement('span');
      const ranked = d.probabilities.map((p, k) => [p, k]).sort((a, b) => b[0] - a[0]);
      text.textContent = `${this.contract.labels[d.digit]}${d.unsure ? '?' : ''} ${(ranked[0][0] * 100).toFixed(1)}%`;
      li.title = ranked.slice(0, 3).map(([p, k]) => `${this.contract.labels[k]}: ${(p * 100).toFixed(1)}%`).join(', ');
      li.append(canvas, text);
      this.numberDigits.append(li);
    }
    this.numberDigits.hidden = false;
    this.showBars(weakest.probabilities, weakest.digit);
    this.drawPreview(weakest.pixels);
    $('preview-caption').textContent = `Least sure digit (${digits.indexOf(weakest) + 1} of ${digits.length}) as the model sees it`;
    this.ms.textContent = `${ms.toFixed(ms < 10 ? 2 : 1)} ms for ${digits.length} digits`;
  }

  /** Tell screen readers the settled answer (called on stroke end, not on every live update). */
  announceResult(digit, probs, result = {}) {
    if (digit === null) {
      this.announce.textContent = 'Pad cleared';
    } else if (result.digits && result.digits.length > 1) {
      this.announce.textContent = `Reads as the number ${result.number}, ${(result.confidence * 100).toFixed(0)} percent sure`;
    } else if (result.unsure) {
      this.announce.textContent = `Not sure; it might be a ${this.contract.labels[digit]}`;
    } else {
      this.announce.textContent = `Looks like a ${this.contract.labels[digit]}, ${(probs[digit] * 100).toFixed(0)} percent sure`;
    }
  }

  drawPreview(pixels) {
    this.paint(this.preview, pixels);
  }

  /** Paint model-input pixels (white on black) onto a canvas of the input's size. */
  paint(canvas, pixels) {
    const { rows, columns } = this.contract;
    canvas.width = columns;
    canvas.height = rows;
    const ctx = canvas.getContext('2d');
    ctx.putImageData(greyImage(ctx, pixels, rows, columns), 0, 0);
  }

  showBackend(text) {
    this.backend.textContent = text;
  }

  /** Native agreement: null (nothing yet), {off}, {pending: true}, {error}, or {agree, digit, maxDiff}. */
  showNative(result) {
    const el = this.native;
    el.classList.remove('ok', 'bad');
    if (result === null) {
      el.textContent = '–';
    } else if (result.off) {
      el.textContent = result.off;
    } else if (result.pending) {
      el.textContent = 'checking…';
    } else if (result.error) {
      el.textContent = result.error;
      el.classList.add('bad');
    } else {
      const diff = result.maxDiff.toExponential(1);
      const label = this.contract.labels[result.digit];
      el.textContent = result.agree
        ? `agrees: ${label} (max |Δp| ${diff})`
        : `differs: native says ${label} (max |Δp| ${diff})`;
      el.classList.add(result.agree ? 'ok' : 'bad');
    }
  }
}

/** The status line under the title: loading, ready, or what went wrong. */
export function setStatus(text, state = 'info') {
  const el = $('status');
  el.textContent = text;
  el.dataset.state = state;
}

/** Show an error in the page (never a silent blank page); `hint` is optional HTML-free text. */
export function showError(message, hint = '') {
  const box = $('error');
  box.replaceChildren();
  const strong = document.createElement('strong');
  strong.textContent = message;
  box.append(strong);
  if (hint) {
    const p = document.createElement('p');
    p.textContent = hint;
    box.append(p);
  }
  box.hidden = false;
  setStatus('Not ready', 'error');
}

export function hideError() {
  const box = $('error');
  box.hidden = true;
  box.replaceChildren();
}

/** The page's explanation for "no model exported yet", with the two commands. */
export function showMissingModel() {
  const template = $('missing-model');
  const box = $('error');
  box.replaceChildren(template.content.cloneNode(true));
  box.hidden = false;
  box.classList.add('missing');
  setStatus('No model yet', 'error');
}

function percent(value) {
  return `${(value * 100).toFixed(2)}%`;
}

/** A byte count for people: 147.4 KB, 1.21 MB. */
export function bytes(value) {
  return value >= 1024 * 1024 ? `${(value / 1024 / 1024).toFixed(2)} MB` : `${(value / 1024).toFixed(1)} KB`;
}

function get(object, path) {
  return path.split('.').reduce((node, key) => (node && typeof node === 'object' ? node[key] : undefined), object);
}

const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);

/** The proof's backends as "node wasm, node cpu, browser webgl", or null. */
export function provenOn(proof) {
  const runs = [];
  for (const host of ['node', 'browser']) {
    for (const [backend, result] of Object.entries(get(proof, host) || {})) {
      // A backend the exporter's browser lacked, or that cannot run the model (WebGPU), proved nothing.
      if (!result || typeof result !== 'object' || result.skipped || result.unavailable) continue;
      runs.push(`${host} ${backend}${result.passed ? '' : ' (failed)'}`);
    }
  }
  return runs.length ? runs.join(', ') : null;
}

/** Card rows from the exporter's metadata.json; a row is skipped when its data is absent. */
function cardRows(meta) {
  const rows = [];
  const accuracy = get(meta, 'mnist.accuracy');
  const native = get(accuracy, 'native');
  const exported = get(accuracy, 'exported');
  const digits = get(accuracy, 'digits');
  if (isNumber(native)) {
    const on = isNumber(digits) ? ` on ${digits.toLocaleString('en')} test digits` : '';
    rows.push(['Test accuracy', `${percent(native)} Keras${isNumber(exported) ? `, ${percent(exported)} TF.js` : ''}${on}`]);
  }
  const proof = get(meta, 'proof');
  if (proof && typeof proof === 'object') {
    const samples = get(proof, 'samples');
    const on = provenOn(proof);
    const verdict = proof.passed ? 'passed' : 'FAILED';
    rows.push(['Same as Keras', `${verdict}${isNumber(samples) ? ` on ${samples.toLocaleString('en')} samples` : ''}${on ? ` (${on})` : ''}`]);
  }
  const size = get(meta, 'download_bytes');
  if (isNumber(size)) rows.push(['Download size', bytes(size)]);
  const quantization = get(meta, 'quantization');
  if (typeof quantization === 'string') rows.push(['Quantization', quantization]);
  const created = get(meta, 'created_utc');
  if (typeof created === 'string') rows.push(['Exported', created.replace('T', ' ').replace('Z', ' UTC')]);
  if (get(meta, 'verified') === false) rows.push(['Warning', get(meta, 'warning') || 'unverified export']);
  return rows;
}

/** Replace the <dl> `list`'s entries with [label, value] rows (a 'Warning' row is marked as one). */
export function fillFacts(list, rows) {
  list.replaceChildren();
  for (const [label, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    if (label === 'Warning') dd.className = 'warning';
    list.append(dt, dd);
  }
}

/** Fill the digit page's model card from metadata.json (read defensively: show what is there). */
export function showModelCard(metadata) {
  const list = $('model-card');
  const rows = metadata && typeof metadata === 'object' ? cardRows(metadata) : [];
  fillFacts(list, rows);
  if (!rows.length) {
    const dd = document.createElement('dd');
    dd.className = 'muted';
    dd.textContent = metadata ? 'metadata.json has no figures to show' : 'no metadata.json next to the model';
    list.append(dd);
  }
}
