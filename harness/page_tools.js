// Drawing and measuring helpers for the draw-a-digit page, loaded into it only by the benchmarks and
// tests (harness/page_driver.py `install_page_tools`; the app never serves this file). They add
// `window.digitDemo.bench`: render MNIST digits onto the pad at random positions, sizes and stroke
// thicknesses, replay strokes as pointer events, read the pad, time predictions, and move float32
// arrays and the pad's pixels across Playwright as base64.
// benchmarks/robustness.py, benchmarks/browser.py and the browser tests drive them from Playwright.
// They use the page's test API (`window.digitDemo`) and the page's own modules, nothing internal.

import { argmax } from '/static/digit-contract.js';
import { numberOf } from '/static/number.js';
import {
  areaResize, inkBoundingBox, inkFromImageData, preprocessImageData,
} from '/static/preprocess.js';
import { preprocessStrokes } from '/static/strokes.js';
import { greyImage } from '/static/ui.js';
import { webgpuAdapter } from '/static/webgpu.js';

const demo = window.digitDemo;

/** All pixels of a canvas (read once; pass the result to the page's preprocessing functions). */
function readCanvas(canvas) {
  return canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height);
}

/** What naive demos do: the whole ImageData area-averaged to the field, no crop, no centring. */
function naiveImageData(imageData, contract) {
  const { width, height } = imageData;
  const small = areaResize(inkFromImageData(imageData), width, 0, 0, height, width, contract.rows, contract.columns);
  return Float32Array.from(small, (v) => Math.min(1, Math.max(0, v)));
}

/** A base64 string of little-endian float32 values → Float32Array. */
function decodeF32(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

/** The pad's pixels as base64 RGBA bytes, with its size. */
function padRgba() {
  const pad = demo.pad;
  const image = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height);
  let bin = '';
  for (let i = 0; i < image.data.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, image.data.subarray(i, i + 0x8000));
  }
  return { b64: btoa(bin), width: pad.width, height: pad.height };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same renderings everywhere. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const scratchCanvases = new Map();

/** A reusable off-screen canvas of at least width x height, cleared; `slot` keeps them apart. */
function scratch(slot, width, height) {
  let canvas = scratchCanvases.get(slot);
  if (!canvas) {
    canvas = document.createElement('canvas');
    scratchCanvases.set(slot, canvas);
  }
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext('2d');
  ctx.globalCompositeOperation = 'source-over';
  ctx.clearRect(0, 0, width, height);
  return canvas;
}

/** Grow (radius > 0) or thin (radius < 0) white strokes on black by |radius| px (octagonal disc). */
function morph(canvas, radius) {
  const steps = Math.round(Math.abs(radius));
  if (!steps) return;
  const ctx = canvas.getContext('2d');
  const copy = scratch('morph', canvas.width, canvas.height);
  const copyCtx = copy.getContext('2d');
  const plus = [[1, 0], [-1, 0], [0, 1], [0, -1]];
  const square = [...plus, [1, 1], [1, -1], [-1, 1], [-1, -1]];
  for (let s = 0; s < steps; s += 1) {
    copyCtx.clearRect(0, 0, copy.width, copy.height);
    copyCtx.drawImage(canvas, 0, 0);
    ctx.globalCompositeOperation = radius > 0 ? 'lighten' : 'darken';
    for (const [dx, dy] of s % 2 ? square : plus) ctx.drawImage(copy, dx, dy);
  }
  ctx.globalCompositeOperation = 'source-over';
}

/**
 * Turn the smoothly enlarged grey digit into pen-like ink: solid strokes whose edges are where the
 * grey level crosses one half, anti-aliased over about one pixel (`scale` pad pixels per source pixel).
 */
function toInk(canvas, scale) {
  const ctx = canvas.getContext('2d');
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const { data } = image;
  for (let i = 0; i < data.length; i += 4) {
    const v = Math.min(1, Math.max(0, 0.5 + (data[i] / 255 - 0.5) * scale));
    const byte = Math.round(v * 255);
    data[i] = byte;
    data[i + 1] = byte;
    data[i + 2] = byte;
  }
  ctx.putImageData(image, 0, 0);
}

/**
 * Draw one digit image (contract.rows x contract.columns values in [0, 1]) onto `canvas`: its ink
 * box `height` px tall, centred at (cx, cy), strokes grown or thinned by `radius` px. Replaces the
 * canvas content with an opaque black field and a white digit, smoothly up-scaled.
 */
function renderDigit(canvas, pixels, { cx, cy, height, radius = 0, ink = true }, contract) {
  const { rows, columns } = contract;
  const source = scratch('source', columns, rows);
  const image = greyImage(source.getContext('2d'), pixels, rows, columns);
  source.getContext('2d').putImageData(image, 0, 0);
  const target = canvas.getContext('2d', { willReadFrequently: true });
  target.globalCompositeOperation = 'source-over';
  target.fillStyle = '#000';
  target.fillRect(0, 0, canvas.width, canvas.height);
  const box = inkBoundingBox(image);
  if (!box) return;
  const { top, left, bottom, right } = box;

  const boxH = bottom - top + 1;
  const boxW = right - left + 1;
  const scale = Math.min(height / boxH, (0.95 * canvas.width) / boxW);
  // Work only on the digit's region: one source pixel of black margin keeps the smooth edges,
  // plus room for the strokes to grow.
  const margin = Math.ceil(Math.abs(radius)) + 2;
  const drawW = (boxW + 2) * scale;
  const drawH = (boxH + 2) * scale;
  const originX = Math.floor(cx - drawW / 2) - margin;
  const originY = Math.floor(cy - drawH / 2) - margin;
  const work = scratch('work', Math.ceil(drawW) + 2 * margin + 1, Math.ceil(drawH) + 2 * margin + 1);
  const ctx = work.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, work.width, work.height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, left - 1, top - 1, boxW + 2, boxH + 2,
    cx - drawW / 2 - originX, cy - drawH / 2 - originY, drawW, drawH);
  if (ink) toInk(work, scale);
  morph(work, radius);
  target.drawImage(work, originX, originY);
}

/** Random rendering parameters for a pad of `side` px: size, position and stroke change. */
function randomPlacement(random, side, options = {}) {
  const {
    minFrac = 0.4, maxFrac = 0.95, thin = 0.0125, thick = 0.025,
  } = options;
  const height = side * (minFrac + (maxFrac - minFrac) * random());
  const radius = Math.round(height * (-thin + (thin + thick) * random()));
  const margin = height / 2 + Math.abs(radius) + 2;
  // Horizontal room assumes a square-ish digit; tall digits (most) have more.
  const cx = margin + (side - 2 * margin) * random();
  const cy = margin + (side - 2 * margin) * random();
  return { cx, cy, height, radius, ink: options.ink ?? true };
}

/** The share of `labels` the model reads right from `pixels` (one image per label), and its answers. */
async function accuracy(pixels, labels, contract, batch = 250) {
  const { pixels: size, classes } = contract;
  let correct = 0;
  const predicted = new Int32Array(labels.length);
  for (let start = 0; start < labels.length; start += batch) {
    const end = Math.min(labels.length, start + batch);
    const probs = await demo.predictPixels(pixels.subarray(start * size, end * size));
    for (let i = start; i < end; i += 1) {
      predicted[i] = argmax(probs, (i - start) * classes, classes);
      if (predicted[i] === labels[i]) correct += 1;
    }
  }
  return { accuracy: correct / labels.length, predicted };
}

/**
 * Render each digit onto the pad at a random placement, classify it through the page's
 * preprocessing and through the naive whole-canvas resize, and compare with the digits as
 * given. Returns accuracies and the placements of the misread ones.
 */
async function robustness(images, labels, seed = 1, options = {}) {
  await demo.ready;
  const canvas = demo.pad;
  const contract = demo.contract();
  const n = labels.length;
  const size = contract.pixels;
  if (images.length !== n * size) throw new TypeError(`need ${n}*${size} pixels for ${n} labels`);
  const random = prng(seed);
  const side = Math.min(canvas.width, canvas.height);
  const page = new Float32Array(n * size);
  const naive = new Float32Array(n * size);
  const placements = [];
  const started = performance.now();
  for (let i = 0; i < n; i += 1) {
    const placement = randomPlacement(random, side, options);
    placements.push(placement);
    renderDigit(canvas, images.subarray(i * size, (i + 1) * size), placement, contract);
    const pixels = readCanvas(canvas);
    const pre = preprocessImageData(pixels, contract);
    if (pre) page.set(pre, i * size);
    naive.set(naiveImageData(pixels, contract), i * size);
  }
  const renderMs = performance.now() - started;
  const original = await accuracy(images, labels, contract);
  const viaPage = await accuracy(page, labels, contract);
  const viaNaive = await accuracy(naive, labels, contract);
  const misread = [];
  for (let i = 0; i < n && misread.length < 50; i += 1) {
    if (viaPage.predicted[i] !== labels[i]) {
      misread.push({ index: i, label: labels[i], predicted: viaPage.predicted[i], ...placements[i] });
    }
  }
  return {
    n,
    seed,
    padSide: side,
    original: original.accuracy,
    page: viaPage.accuracy,
    naive: viaNaive.accuracy,
    renderMs,
    misread,
  };
}

/** Time `runs` predictions of `batch` random images after `warmup` untimed ones; ms per call. */
async function latency({ batch = 1, runs = 50, warmup = 5, seed = 7 } = {}) {
  await demo.ready;
  const random = prng(seed);
  const pixels = Float32Array.from({ length: batch * demo.contract().pixels }, () => random());
  for (let i = 0; i < warmup; i += 1) await demo.predictPixels(pixels);
  const times = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    await demo.predictPixels(pixels);
    times.push(performance.now() - t0);
  }
  return times;
}

/**
 * Replay strokes (arrays of [x, y] pad fractions) on a canvas as pointer events of `pointerType`
 * ('mouse', 'touch' or 'pen'): pointerdown, one pointermove per point, pointerup, as a hand's
 * input reaches the pad's listeners (dispatched from script: the benchmark's fast path; the
 * benchmark also checks a sample with trusted events from Chrome's input pipeline).
 */
function replayStrokes(canvas, strokes, pointerType = 'mouse') {
  const rect = canvas.getBoundingClientRect();
  const pointerId = pointerType === 'mouse' ? 1 : 7;
  const fire = (type, [x, y], buttons) => canvas.dispatchEvent(new PointerEvent(type, {
    pointerId,
    pointerType,
    isPrimary: true,
    clientX: rect.left + x * rect.width,
    clientY: rect.top + y * rect.height,
    button: type === 'pointermove' ? -1 : 0,
    buttons,
    pressure: buttons ? 0.5 : 0,
    bubbles: true,
    cancelable: true,
  }));
  for (const stroke of strokes) {
    if (!stroke.length) continue;
    fire('pointerdown', stroke[0], 1);
    for (let k = 1; k < stroke.length; k += 1) fire('pointermove', stroke[k], 1);
    fire('pointerup', stroke[stroke.length - 1], 0);
  }
}

/**
 * Read the pad without touching the page: {number, digits: [{digit, top, unsure, members}], whole,
 * readMs}; `members`: the digit's stroke indices, in drawing order; `readMs`: how long one
 * `readPad` takes (planning, re-drawing the candidates, the model call, choosing the split), timed
 * once the reads the page queued itself at each stroke's end are done.
 */
async function read() {
  await demo.readPad();
  const t0 = performance.now();
  const { digits, whole } = await demo.readPad();
  const readMs = performance.now() - t0;
  return {
    readMs,
    number: numberOf(digits, demo.contract().labels).number,
    digits: digits.map((d) => ({
      digit: d.digit, top: d.probabilities[d.digit], unsure: d.unsure, members: d.members,
    })),
    whole: whole && { digit: whole.digit, top: whole.probabilities[whole.digit] },
  };
}

/**
 * Draw each drawing (strokes of [x, y] pad fractions) on a cleared pad with pointer events of
 * `pointerType`, optionally with a pad pen width, and read it; resolves the readings in order.
 */
async function drawAndRead(drawings, pointerType = 'mouse', penWidths = null) {
  await demo.ready;
  const readings = [];
  for (let i = 0; i < drawings.length; i += 1) {
    demo.clear();
    if (penWidths) demo.setPenWidth(penWidths[i]);
    replayStrokes(demo.pad, drawings[i], pointerType);
    readings.push(await read());
  }
  demo.setPenWidth();
  demo.clear();
  return readings;
}

/**
 * Each group of strokes read alone by the page's model, all groups in one batch: the digit each
 * group reads as (the true digits of a number, drawn apart, for its split to be judged against).
 */
async function readAlone(groups) {
  const contract = demo.contract();
  const batch = new Float32Array(groups.length * contract.pixels);
  groups.forEach((strokes, i) => batch.set(preprocessStrokes(strokes, contract), i * contract.pixels));
  const probs = await demo.predictPixels(batch);
  return groups.map((_, i) => argmax(probs, i * contract.classes, contract.classes));
}

/** The WebGL renderer the browser reports (the unmasked one where it says), or null without WebGL. */
function webglRenderer() {
  const gl = document.createElement('canvas').getContext('webgl');
  if (!gl) return null;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
}

demo.bench = {
  /** Clear the pad and paint a digit image (base64 float32) on it (no strokes: the page reads its pixels). */
  renderDigit: (b64, placement) => {
    demo.clear();
    renderDigit(demo.pad, decodeF32(b64), placement, demo.contract());
  },
  /** What the page's preprocessing makes of the pad's pixels (a painted digit), as a plain array, or null. */
  preprocessPad: () => {
    const pixels = preprocessImageData(readCanvas(demo.pad), demo.contract());
    return pixels && Array.from(pixels);
  },
  /** The page's predictions for images given as base64 float32, as a plain array. */
  predictPixels: async (b64) => Array.from(await demo.predictPixels(decodeF32(b64))),
  decodeF32,
  padRgba,
  drawAndRead,
  /** The pen shown on the pad, as a fraction of its side (the model's reading ignores it). */
  setPenWidth: (fraction) => demo.setPenWidth(fraction),
  read,
  /** `robustness` on images given as base64 float32 and labels as a plain array; clears the pad after. */
  robustness: async (b64, labels, seed, options) => {
    try {
      return await robustness(decodeF32(b64), Int32Array.from(labels), seed, options);
    } finally {
      demo.clear();
    }
  },
  latency,
  readAlone,
  webglRenderer,
  /** The WebGPU adapter the page's WebGPU runtimes run on ({vendor, architecture, device, description, software}), or null. */
  webgpuAdapter,
};
