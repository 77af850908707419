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
 * The shared runner's proof on every backend in BACKENDS order, one after another; `onResult` sees
 * each as it finishes: {backend, available, described, result}, {backend, available: false} when
 * this browser cannot start it, or {backend, error}.
 */
export async function checkAll(bundle, { classifiers = [], batch = 32 } = {}, onResult = () => {}) {
  const outcomes = [];
  await proofRunner().proveOnBackends(runtime(), bundle, {
    backends: BACKENDS, batch, classifiers,
    setBackend: trySetBackend,
    describe: () => describeBackend(),
    loadModel: () => loadGraphModel(),
    onResult: (outcome) => {
      const shown = outcome.available === false ? { backend: outcome.backend, available: false } : outcome;
      outcomes.push(shown);
      onResult(shown);
    },
  });
  return outcomes;
}
