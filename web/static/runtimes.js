// Which runtime reads the digits, started and switched: TF.js (wasm, webgl or cpu) with the graph
// model, the first-load default (docs/web.md: its smaller download reaches a first answer sooner),
// or LiteRT.js (wasm) with the export's model.tflite ('litert') or its full-integer twin
// model.int8.tflite ('litert-int8'), each only where metadata.json says the export proved it.
// Each model loads on first use and stays loaded; all model work runs one task at a time, in order.

import { DEFAULT_CONTRACT, digitContract } from './contract.js';
import { LiteRtDigitModel, provenLiteRt } from './litert.js';
import {
  BACKENDS, chooseBackend, describeBackend, DigitModel, loadGraphModel, ModelError, runtime, trySetBackend,
} from './model.js';

export const RUNTIMES = ['tfjs', 'litert', 'litert-int8'];
const PRECISION = { litert: 'float32', 'litert-int8': 'int8' }; // LiteRT.js runtimes by .tflite precision
const BLOCK = { float32: 'litert', int8: 'litert_int8' }; // their metadata.json blocks

export class Runtimes {
  constructor() {
    this.models = { tfjs: null, litert: null, 'litert-int8': null };
    this.name = null; // the runtime in use
    this.metadata = null;
    this.contract = DEFAULT_CONTRACT; // input shape, labels and preprocessing from metadata.json
    this.chain = Promise.resolve();
  }

  /** The model in use (null before start-up). */
  get model() {
    return this.name ? this.models[this.name] : null;
  }

  /** Run `task` after every task queued before it; resolves its result. */
  enqueue(task) {
    const run = this.chain.then(task);
    this.chain = run.catch(() => {});
    return run;
  }

  /** Take the export's metadata.json (or null): the contract, and which .tflite files are proven. */
  useMetadata(metadata) {
    this.metadata = metadata;
    this.contract = digitContract(metadata);
  }

  /** Null when the export proved runtime `name`'s model, else why it cannot be offered. */
  unavailable(name) {
    if (name === 'tfjs') return null;
    const precision = PRECISION[name];
    if (provenLiteRt(this.metadata, precision)) return null;
    const reason = this.metadata?.[BLOCK[precision]]?.reason;
    const model = precision === 'int8' ? 'LiteRT.js int8 model' : 'LiteRT.js model';
    return `This export has no proven ${model}${reason ? ` (${reason})` : ''}.`;
  }

  /** Load runtime `name`'s model if it is not loaded yet (TF.js on `backend`); the TF.js backend started. */
  async load(name, backend = 'wasm') {
    if (name === 'tfjs') {
      const started = await chooseBackend(backend);
      if (!this.models.tfjs) this.models.tfjs = new DigitModel(await loadGraphModel(), this.contract);
      return started;
    }
    const missing = this.unavailable(name);
    if (missing) throw new ModelError(missing, 'backend');
    if (!this.models[name]) {
      this.models[name] = await LiteRtDigitModel.load(this.metadata, this.contract, 'wasm', PRECISION[name]);
    }
    return 'wasm';
  }

  /**
   * Start-up: runtime `name` (TF.js on `backend`, already being started) once metadata.json arrives,
   * the TF.js graph model loading meanwhile. LiteRT.js that the export did not prove gives way to
   * TF.js. Resolves a note on what stood in ('' when nothing had to).
   */
  async start(name, backend, metadataPromise) {
    if (name === 'tfjs') {
      const [metadata, graph] = await Promise.all([metadataPromise, loadGraphModel()]);
      this.useMetadata(metadata);
      this.models.tfjs = new DigitModel(graph, this.contract);
      this.name = 'tfjs';
      return '';
    }
    this.useMetadata(await metadataPromise);
    try {
      await this.load(name);
      this.name = name;
      return '';
    } catch (err) {
      if (!(err instanceof ModelError) || err.kind !== 'backend') throw err;
      const started = await this.load('tfjs', backend);
      this.name = 'tfjs';
      return ` (LiteRT.js was not available: ${err.message}${started !== backend ? `; nor ${backend}` : ''})`;
    }
  }

  /** Switch to runtime `name` (TF.js on `backend`), warmed up; rejects when it cannot start. */
  async use(name, backend = 'wasm') {
    if (!RUNTIMES.includes(name)) throw new Error(`unknown runtime ${name}; use one of ${RUNTIMES.join(', ')}`);
    if (name === 'tfjs' && !BACKENDS.includes(backend)) {
      throw new Error(`unknown backend ${backend}; use one of ${BACKENDS.join(', ')}`);
    }
    if (name !== 'tfjs' && backend !== 'wasm') throw new Error(`LiteRT.js runs on wasm here, not ${backend}`);
    await this.enqueue(async () => {
      if (name === 'tfjs') {
        if (!this.models.tfjs) await this.load('tfjs', backend);
        const previous = runtime().getBackend();
        if (!(await trySetBackend(backend))) {
          await trySetBackend(previous);
          throw new ModelError(`The ${backend} backend is not available in this browser; staying on ${previous}.`,
            'backend');
        }
      } else {
        await this.load(name);
      }
      await this.models[name].warmUp();
      this.name = name;
    });
  }

  /** The backend in use: 'wasm', 'webgl' or 'cpu' on TF.js; 'wasm' on LiteRT.js. */
  backend() {
    return this.name?.startsWith('litert') ? 'wasm' : runtime().getBackend();
  }

  /** The runtime and backend in use, for people: "TF.js wasm (SIMD, threads: 2)", "LiteRT.js wasm (XNNPack)". */
  async describe() {
    if (this.name === 'litert-int8') return 'LiteRT.js int8 wasm (XNNPack)';
    return this.name === 'litert' ? 'LiteRT.js wasm (XNNPack)' : `TF.js ${await describeBackend()}`;
  }
}
