// Which runtime reads the digits, started and switched: TF.js (wasm, webgl, webgpu or cpu) with the
// graph model, the first-load default (docs/web.md: its smaller download reaches a first answer
// sooner), or LiteRT.js with the export's model.tflite ('litert', on wasm or webgpu) or its
// full-integer twin model.int8.tflite ('litert-int8', on wasm), each only where metadata.json says
// the export proved it; webgpu only where the browser has an adapter. Each model loads on first use
// and stays loaded; all model work runs one task at a time, in order.

import { DEFAULT_CONTRACT, digitContract } from './digit-contract.js';
import { LiteRtDigitModel, provenLiteRt } from './litert.js';
import {
  BACKENDS, chooseBackend, describeBackend, DigitModel, graphModelFrom, loadModelArtifacts, ModelError, tfjs,
  trySetBackend,
} from './model.js';
import { adapterText, webgpuAdapter, webgpuUnavailable } from './webgpu.js';

export const RUNTIMES = ['tfjs', 'litert', 'litert-int8'];
const PRECISION = { litert: 'float32', 'litert-int8': 'int8' }; // LiteRT.js runtimes by .tflite precision
const BLOCK = { float32: 'litert', int8: 'litert_int8' }; // their metadata.json blocks
// The accelerators each LiteRT.js runtime runs on here: the int8 model where the exporter proves it, wasm.
export const ACCELERATORS = { litert: ['wasm', 'webgpu'], 'litert-int8': ['wasm'] };
const LABELS = { litert: 'LiteRT.js', 'litert-int8': 'LiteRT.js int8' };

/** The key of a loaded model: one TF.js graph model for every backend, one LiteRT.js model per accelerator. */
function modelKey(name, backend) {
  return name === 'tfjs' ? 'tfjs' : `${name} ${backend}`;
}

export class Runtimes {
  constructor() {
    this.models = {}; // by modelKey
    this.tfjsArtifacts = null; // the graph model's files, fetched once (a promise)
    this.name = null; // the runtime in use
    this.accelerator = 'wasm'; // LiteRT.js' accelerator in use
    this.metadata = null;
    this.contract = DEFAULT_CONTRACT; // input shape, labels and preprocessing from metadata.json
    this.chain = Promise.resolve();
  }

  /** The model in use (null before start-up). */
  get model() {
    return this.name ? this.models[modelKey(this.name, this.accelerator)] ?? null : null;
  }

  /** Run `task` after every task queued before it; resolves its result. */
  enqueue(task) {
    const run = this.chain.then(task);
    this.chain = run.catch(() => {});
    return run;
  }

  /**
   * The TF.js model with its weights on the backend in use: built there from the downloaded files
   * when the one loaded sits on another backend, which is then disposed. A model used across
   * backends would have TF.js move its weights with a synchronous read-back (a GPU stall, and a
   * console warning from WebGL or WebGPU).
   */
  async tfjsModel() {
    const backend = tfjs().getBackend();
    if (this.models.tfjs?.backend === backend) return this.models.tfjs;
    this.tfjsArtifacts ??= loadModelArtifacts();
    this.tfjsArtifacts.catch(() => { this.tfjsArtifacts = null; });
    const graph = await graphModelFrom(await this.tfjsArtifacts);
    this.models.tfjs?.dispose();
    this.models.tfjs = new DigitModel(graph, this.contract, backend);
    return this.models.tfjs;
  }

  /** Take the export's metadata.json (or null): the contract, and which .tflite files are proven. */
  useMetadata(metadata) {
    this.metadata = metadata;
    this.contract = digitContract(metadata);
  }

  /**
   * Null when runtime `name` may run the export's model on `backend`, else why it cannot be offered:
   * LiteRT.js needs a proven .tflite, and on WebGPU its proof there; neither runtime is offered
   * WebGPU where the export records that it cannot run the model there.
   */
  unavailable(name, backend = 'wasm') {
    const refused = backend === 'webgpu' ? webgpuUnavailable(this.metadata, name === 'tfjs' ? 'tfjs' : 'litert') : null;
    if (refused) return refused;
    if (name === 'tfjs') return null;
    const precision = PRECISION[name];
    const block = provenLiteRt(this.metadata, precision);
    if (block && backend === 'webgpu' && !block.proof?.browser?.webgpu?.passed) {
      return 'This export did not prove its LiteRT.js model on WebGPU.';
    }
    if (block) return null;
    const reason = this.metadata?.[BLOCK[precision]]?.reason;
    const model = precision === 'int8' ? 'LiteRT.js int8 model' : 'LiteRT.js model';
    return `This export has no proven ${model}${reason ? ` (${reason})` : ''}.`;
  }

  /**
   * Load runtime `name`'s model on `backend` if it is not loaded yet; resolves the backend started
   * (TF.js falls back from one it cannot start). ModelError kind 'backend' when LiteRT.js cannot run here.
   */
  async load(name, backend = 'wasm') {
    if (name === 'tfjs') {
      const started = await chooseBackend(backend);
      await this.tfjsModel();
      return started;
    }
    const missing = this.unavailable(name, backend);
    if (missing) throw new ModelError(missing, 'backend');
    if (backend === 'webgpu' && !(await webgpuAdapter())) {
      throw new ModelError('this browser has no WebGPU adapter', 'backend');
    }
    const key = modelKey(name, backend);
    this.models[key] ??= await LiteRtDigitModel.load(this.metadata, this.contract, backend, PRECISION[name]);
    return backend;
  }

  /**
   * Start-up: runtime `name` (TF.js on `backend`, already being started) once metadata.json arrives,
   * the TF.js graph model loading meanwhile. LiteRT.js that the export did not prove gives way to
   * TF.js. Resolves a note on what stood in ('' when nothing had to).
   */
  async start(name, backend, metadataPromise) {
    if (name === 'tfjs') {
      this.tfjsArtifacts = loadModelArtifacts();
      const [metadata] = await Promise.all([metadataPromise, this.tfjsArtifacts]);
      this.useMetadata(metadata);
      // Asked for (?backend=webgpu) before metadata.json said WebGPU cannot run this model: wasm instead.
      const refused = tfjs().getBackend() === 'webgpu' ? this.unavailable('tfjs', 'webgpu') : null;
      if (refused) await chooseBackend('wasm');
      await this.tfjsModel();
      this.name = 'tfjs';
      return refused ? ` (${refused})` : '';
    }
    this.useMetadata(await metadataPromise);
    const accelerator = ACCELERATORS[name].includes(backend) ? backend : 'wasm';
    try {
      await this.load(name, accelerator);
      this.name = name;
      this.accelerator = accelerator;
      return '';
    } catch (err) {
      if (!(err instanceof ModelError) || err.kind !== 'backend') throw err;
      const started = await this.load('tfjs', backend);
      this.name = 'tfjs';
      return ` (LiteRT.js was not available: ${err.message}${started !== backend ? `; nor ${backend}` : ''})`;
    }
  }

  /** Switch to runtime `name` on `backend`, warmed up; rejects when it cannot start. */
  async use(name, backend = 'wasm') {
    if (!RUNTIMES.includes(name)) throw new Error(`unknown runtime ${name}; use one of ${RUNTIMES.join(', ')}`);
    if (name === 'tfjs' && !BACKENDS.includes(backend)) {
      throw new Error(`unknown backend ${backend}; use one of ${BACKENDS.join(', ')}`);
    }
    if (name !== 'tfjs' && !ACCELERATORS[name].includes(backend)) {
      throw new Error(`${LABELS[name]} runs on ${ACCELERATORS[name].join(' or ')} here, not ${backend}`);
    }
    await this.enqueue(async () => {
      if (name === 'tfjs') {
        const refused = this.unavailable('tfjs', backend);
        if (refused) throw new ModelError(refused, 'backend');
        const previous = tfjs().getBackend();
        if (!(await trySetBackend(backend))) {
          await trySetBackend(previous);
          throw new ModelError(`The ${backend} backend is not available in this browser; staying on ${previous}.`,
            'backend');
        }
        await this.tfjsModel();
      } else {
        await this.load(name, backend);
      }
      // The first calls on a GPU compile its shaders: done here, not on the visitor's first digit.
      await this.models[modelKey(name, backend)].warmUp();
      this.name = name;
      if (name !== 'tfjs') this.accelerator = backend;
    });
  }

  /** The backend in use: 'wasm', 'webgl', 'webgpu' or 'cpu' on TF.js; 'wasm' or 'webgpu' on LiteRT.js. */
  backend() {
    return this.name?.startsWith('litert') ? this.accelerator : tfjs().getBackend();
  }

  /**
   * The runtime and backend in use, for people: "TF.js wasm (SIMD, threads: 2)", "LiteRT.js wasm
   * (XNNPack)", "LiteRT.js webgpu (google swiftshader, software adapter)".
   */
  async describe() {
    if (!this.name?.startsWith('litert')) return `TF.js ${await describeBackend()}`;
    const on = this.accelerator === 'webgpu' ? `webgpu (${adapterText(await webgpuAdapter())})` : 'wasm (XNNPack)';
    return `${LABELS[this.name]} ${on}`;
  }
}
