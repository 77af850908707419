// LiteRT.js, the second runtime: loaded only when a page asks for it (its wasm is 9 MB), from our
// own server (node_modules through /vendor/), and the export's model.tflite checked against the
// sha256 metadata.json lists before it is compiled. The page's import map resolves LiteRT.js' bare
// import of '@litertjs/wasm-utils'. An export may hold two .tflite files: model.tflite (float) and,
// with `--litert int8`, its full-integer twin model.int8.tflite; each is used only where its
// metadata.json block says it was proven.

import { DEFAULT_CONTRACT } from './digit-contract.js';
import { LITERT_INT8_MODEL, LITERT_MODEL, modelUrl } from './export-files.js';
import { ModelError } from './model.js';

// Both through the page's import map (mnist_tfjs/js_runtimes.py LITERT_IMPORT_MAP): the URLs live there.
const LITERT_MODULE = '@litertjs/core';
const LITERT_WASM_DIR = import.meta.resolve('@litertjs/wasm/');
// The accelerators LiteRT.js runs on here: wasm (XNNPack) always, webgpu where the browser has an adapter
// (the model page's count of the checks it runs).
export const LITERT_BACKENDS = ['wasm', 'webgpu'];
// Per precision: metadata.json's block for the file, and the file's default name.
export const PRECISIONS = {
  float32: { block: 'litert', file: LITERT_MODEL },
  int8: { block: 'litert_int8', file: LITERT_INT8_MODEL },
};

function precisionOf(name) {
  const precision = PRECISIONS[name];
  if (!precision) throw new Error(`unknown LiteRT.js precision ${name}; use ${Object.keys(PRECISIONS).join(' or ')}`);
  return precision;
}

let loading = null;

/** The LiteRT.js module with its wasm runtime loaded (once per page); ModelError when it cannot start. */
export function loadLiteRtRuntime() {
  if (!loading) {
    loading = (async () => {
      let litert;
      try {
        litert = await import(LITERT_MODULE);
      } catch (err) {
        throw new ModelError(`The LiteRT.js runtime did not load (${LITERT_MODULE}: ${err.message}). `
          + 'Run `npm ci` in the project folder and restart `python -m web`.', 'runtime');
      }
      // LiteRT's wasm logs its set-up on stderr ("INFO: Created TensorFlow Lite XNNPACK delegate"),
      // which Emscripten prints as console errors; its Module object, read once when LiteRT.js
      // starts the wasm, sends them to the debug log instead, and keeps real errors as errors.
      globalThis.Module = {
        printErr: (text) => (/^(E|F|ERROR|FATAL)\b/.test(text) ? console.error : console.debug)(text),
      };
      try {
        // The same build the exporter proves and times (the shared rule, /shared/litert-proof.js).
        await globalThis.litertProof.startRuntime(litert, LITERT_WASM_DIR);
      } catch (err) {
        throw new ModelError(`LiteRT.js could not start its wasm runtime: ${err.message}`, 'runtime');
      }
      return litert;
    })();
    loading.catch(() => { loading = null; });
  }
  return loading;
}

/** metadata.json's block (`litert`, or `litert_int8` for 'int8') when the export holds that proven .tflite, else null. */
export function provenLiteRt(metadata, precision = 'float32') {
  const block = metadata?.[precisionOf(precision).block];
  return block && typeof block === 'object' && block.status === 'proven' ? block : null;
}

/** The sha256 metadata.json lists for a .tflite (its block, else its `files` table). */
function expectedSha256(metadata, precision, name) {
  return metadata?.[precisionOf(precision).block]?.sha256 ?? metadata?.files?.[name]?.sha256 ?? null;
}

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The export's .tflite of `precision` ('float32' or 'int8') as bytes, refused (ModelError kind
 * 'integrity') when its sha256 differs from the one metadata.json lists or when metadata.json lists
 * none: a file that is not the proven one never runs.
 */
export async function fetchTflite(metadata, precision = 'float32') {
  const { block, file } = precisionOf(precision);
  const name = metadata?.[block]?.model || file;
  const url = modelUrl(name);
  const expected = expectedSha256(metadata, precision, name);
  if (!expected) throw new ModelError(`metadata.json lists no sha256 for ${name}; re-export the model.`, 'integrity');
  let response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch (err) {
    throw new ModelError(`Cannot reach the server for ${url} (${err.message}).`, 'network');
  }
  if (!response.ok) throw new ModelError(`${url} answered HTTP ${response.status}.`, 'load');
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = await sha256Hex(bytes);
  if (actual !== expected) {
    throw new ModelError(`${name} is not the file the export proved (sha256 ${actual.slice(0, 12)}…, `
      + `metadata.json says ${expected.slice(0, 12)}…); refusing to run it. Re-export the model.`, 'integrity');
  }
  return bytes;
}

/** Compile .tflite bytes on `accelerator` ('wasm' or 'webgpu'): the LiteRT.js CompiledModel. */
export async function compileTflite(bytes, accelerator = 'wasm') {
  const litert = await loadLiteRtRuntime();
  try {
    return await litert.loadAndCompile(bytes, { accelerator });
  } catch (err) {
    throw new ModelError(`LiteRT.js could not compile the model on ${accelerator}: ${err.message}`, 'load');
  }
}

/**
 * The digit model on LiteRT.js, with DigitModel's interface (model.js): predict(n images) and
 * warmUp(). A .tflite has a fixed batch of 1, so n images are n calls.
 */
export class LiteRtDigitModel {
  constructor(litert, compiled, contract = DEFAULT_CONTRACT, precision = 'float32', accelerator = 'wasm') {
    this.litert = litert;
    this.compiled = compiled;
    this.contract = contract;
    this.precision = precision;
    this.accelerator = accelerator;
  }

  /** Fetch, check and compile the export's .tflite of `precision` for `contract` (digit-contract.js) on `accelerator`. */
  static async load(metadata, contract = DEFAULT_CONTRACT, accelerator = 'wasm', precision = 'float32') {
    // The model's download and the runtime's start overlap.
    const [bytes, litert] = await Promise.all([fetchTflite(metadata, precision), loadLiteRtRuntime()]);
    const compiled = await compileTflite(bytes, accelerator);
    return new LiteRtDigitModel(litert, compiled, contract, precision, accelerator);
  }

  /** n images of contract.pixels values in [0, 1] → Float32Array of n * contract.classes probabilities. */
  async predict(pixels) {
    const { rows, columns, channels, pixels: size, classes } = this.contract;
    if (!(pixels instanceof Float32Array) || pixels.length === 0 || pixels.length % size !== 0) {
      throw new TypeError(`predictPixels needs a Float32Array of n*${size} values`);
    }
    const n = pixels.length / size;
    const probs = new Float32Array(n * classes);
    for (let i = 0; i < n; i += 1) {
      const input = new this.litert.Tensor(pixels.slice(i * size, (i + 1) * size), [1, rows, columns, channels]);
      let outputs;
      try {
        outputs = await this.compiled.run([input]);
      } finally {
        input.delete();
      }
      try {
        // An output on WebGPU lives in GPU memory, which only `data()` reads back (`toTypedArray()` throws).
        const values = await outputs[0].data();
        if (values.length !== classes) throw new ModelError(`model returned ${values.length} values`);
        probs.set(values, i * classes);
      } finally {
        outputs.forEach((t) => t.delete());
      }
    }
    return probs;
  }

  async warmUp(runs = 3) {
    const blank = new Float32Array(this.contract.pixels);
    for (let i = 0; i < runs; i += 1) await this.predict(blank);
  }

  dispose() {
    this.compiled.delete();
  }
}
