// The runtimes benchmark's timing, run inside the model page (/model) through
// harness/page_driver.py `call_in_page`: every runtime and backend in turn, the model loaded afresh,
// `calls` batch-1 calls timed by the shared runner (export/proof.js) after `warmup` untimed ones.
/* global tf, tfjsProof, litertProof */

import { loadBundle } from '/static/proof-check.js';
import { loadGraphModel, METADATA_URL, trySetBackend } from '/static/model.js';
import { compileTflite, fetchTflite, loadLiteRtRuntime, provenLiteRt } from '/static/litert.js';

const message = (e) => String(e?.message ?? e);

/** {"tfjs wasm": {ms, calls} | {error}, ..., "litert wasm": ..., "litert int8 wasm": ...}. */
export async function timeCalls({ backends, calls, warmup }) {
  const metadata = await (await fetch(METADATA_URL)).json();
  const bundle = await loadBundle();
  const out = {};
  for (const backend of backends) {
    if (!(await trySetBackend(backend))) {
      out[`tfjs ${backend}`] = { error: 'did not start' };
      continue;
    }
    const model = await loadGraphModel();
    try {
      out[`tfjs ${backend}`] = await tfjsProof.timeCalls(tf, model, bundle, { calls, warmup });
    } catch (e) {
      out[`tfjs ${backend}`] = { error: message(e) };
    } finally {
      model.dispose();
    }
  }
  for (const [precision, key] of [['float32', 'litert wasm'], ['int8', 'litert int8 wasm']]) {
    if (!provenLiteRt(metadata, precision)) continue;
    try {
      const litert = await loadLiteRtRuntime();
      const model = await compileTflite(await fetchTflite(metadata, precision), 'wasm');
      try {
        out[key] = await tfjsProof.timeCalls(litertProof.runtime(litert), model, bundle, { calls, warmup });
      } finally {
        model.delete();
      }
    } catch (e) {
      out[key] = { error: message(e) };
    }
  }
  return out;
}
