// `window.digitDemo`: the page's API for its tests, the benchmarks and anyone at the console. It
// reads and drives the page the way a person does (draw, read, switch runtime) and exposes nothing
// else; the benchmarks' own helpers come from outside the app (harness/page_tools.js).

import { preprocessStrokes } from './strokes.js';
import { LINE_WIDTH } from './pad.js';

/** The API over the page's parts: `ready` (a promise), `pad`, `reader`, `runtimes`, `switchTo`, `timings`. */
export function digitDemoApi({ ready, pad, padCanvas, reader, runtimes, switchTo, timings }) {
  return {
    /** Resolves when the model is loaded and warmed up; rejects with the reason it is not. */
    ready,
    /** The backend in use: 'wasm', 'webgl', 'webgpu' or 'cpu' on TF.js; 'wasm' or 'webgpu' on LiteRT.js. */
    backend: () => runtimes.backend(),
    /** The runtime in use: 'tfjs', 'litert' or 'litert-int8' (null before start-up has chosen). */
    runtime: () => runtimes.name,
    /** Float32Array of n images (n * 784 pixels for MNIST) in [0, 1] → Promise of n * 10 probabilities. */
    predictPixels: (pixels) => ready.then(() => runtimes.enqueue(() => runtimes.model.predict(pixels))),
    /** What the model reads of the pad's strokes, all as one digit (Float32Array as MNIST was made), or null. */
    preprocess: () => (pad.allStrokes().length ? preprocessStrokes(pad.allStrokes(), runtimes.contract) : null),
    /** Read what is on the pad (updates the page); {digit: null} when the pad is empty. */
    classifyCanvas: () => ready.then(() => reader.settle()),
    /**
     * Read the pad as a number: {number, confidence, unsure, digits: [{digit, probabilities, box,
     * members, unsure}]}; `members`: the indices of the digit's strokes in `strokes()`.
     */
    readNumber: () => ready.then(() => reader.readNumber()),
    /**
     * Read the pad without updating the page: {digits: [{digit, probabilities, box, pixels, unsure}],
     * whole, ms}, the whole drawing read as one digit beside its digits (null when nothing is drawn).
     */
    readPad: () => ready.then(() => runtimes.enqueue(() => reader.read())),
    /** The boxes shown around the digits of the number last read ({left, top, right, bottom} pad fractions). */
    groupBoxes: () => pad.groupBoxes.map((b) => ({ ...b })),
    /** The pad's strokes: arrays of [x, y] in pad fractions. */
    strokes: () => pad.allStrokes().map((s) => s.map((p) => [p[0], p[1]])),
    /** Clear the pad and the result. */
    clear: () => pad.clear(),
    /** Switch TF.js backend (switching to TF.js); rejects when it is not available. */
    setBackend: (name) => switchTo('tfjs', name),
    /**
     * Switch runtime: 'tfjs' with a backend, 'litert' on 'wasm' or 'webgpu', 'litert-int8' on 'wasm';
     * rejects when it is not available (webgpu: where the browser has no adapter).
     */
    setRuntime: (name, backend = 'wasm') => switchTo(name, backend),
    /** The runtime and backend in use, described: "TF.js wasm (SIMD, threads: 2)", "LiteRT.js webgpu (google swiftshader, software adapter)". */
    describeBackend: () => runtimes.describe(),
    /** Start-up milestones in ms since navigation: backendMs, modelMs, warmupMs, readyMs, and the runtime. */
    timings,
    /** The drawing pad's canvas. */
    pad: padCanvas,
    /** The model's contract (digit-contract.js): input shape, labels and preprocessing from metadata.json. */
    contract: () => runtimes.contract,
    /**
     * The pen shown on the pad, as a fraction of its side (the model's reading ignores it). Only the
     * robustness benchmark uses it (benchmarks/robustness.py through harness/page_tools.js), to show
     * that the pen a person sees does not change the reading; no page control sets it.
     */
    setPenWidth: (fraction = LINE_WIDTH) => pad.setLineWidth(fraction),
  };
}
