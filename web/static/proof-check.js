// The model side of the model page's check: the export's proof bundle (proof.json + proof.bin)
// run through the shared runner `tfjsProof` (export/proof.js) on each TF.js backend in turn.

import {
  BACKENDS, describeBackend, fetchJson, loadGraphModel, ModelError, runtime, trySetBackend,
} from './model.js';

export const PROOF_URL = '/model/proof.json';
export const PROOF_BIN_URL = '/model/proof.bin';

/** The global `tfjsProof` from /shared/proof.js, or a ModelError if it did not load. */
function proofRunner() {
  const runner = globalThis.tfjsProof;
  if (!runner || typeof runner.runProof !== 'function') {
    throw new ModelError('The proof runner did not load (/shared/proof.js). Restart `python -m web`.', 'runtime');
  }
  return runner;
}

/** proof.json + proof.bin → the bundle `tfjsProof.readBundle` makes; ModelError when missing or broken. */
export async function loadBundle() {
  const manifest = await fetchJson(PROOF_URL);
  if (manifest === null) throw new ModelError('This export has no proof bundle (proof.json).', 'missing');
  const response = await fetch(PROOF_BIN_URL, { cache: 'no-cache' });
  if (!response.ok) throw new ModelError(`${PROOF_BIN_URL} answered HTTP ${response.status}.`, 'load');
  try {
    return proofRunner().readBundle(manifest, await response.arrayBuffer());
  } catch (err) {
    throw new ModelError(`The proof bundle cannot be read: ${err.message}`, 'load');
  }
}

/**
 * Run the bundle on one backend: {backend, available, described, result} (result is the runner's
 * RESULT), {backend, available: false} when this browser cannot start it, or {backend, error}.
 */
export async function checkBackend(backend, bundle, { classifiers = [], batch = 32 } = {}) {
  const runner = proofRunner();
  if (!(await trySetBackend(backend))) return { backend, available: false };
  const described = await describeBackend();
  let graph = null;
  try {
    graph = await loadGraphModel();
    const result = await runner.runProof(runtime(), graph, bundle, { batch, classifiers });
    return { backend, available: true, described, result };
  } catch (err) {
    return { backend, available: true, described, error: err.message || String(err) };
  } finally {
    if (graph) graph.dispose();
  }
}

/** Every backend in BACKENDS order, one after another; `onResult` sees each as it finishes. */
export async function checkAll(bundle, options = {}, onResult = () => {}) {
  const results = [];
  for (const backend of BACKENDS) {
    const outcome = await checkBackend(backend, bundle, options);
    results.push(outcome);
    onResult(outcome);
  }
  return results;
}
