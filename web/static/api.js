// The server's native Keras model: /api/status and /api/predict, for the live agreement check.

import { argmax, DEFAULT_CONTRACT } from './digit-contract.js';

/** {model, native, native_state, native_error} from the server, or null if it cannot be read. */
export async function serverStatus() {
  try {
    const response = await fetch('/api/status', { cache: 'no-store' });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

/** One image's pixels → nested rows of `columns` values, the layout /api/predict expects. */
function toRows(pixels, { rows, columns }) {
  const out = [];
  for (let y = 0; y < rows; y += 1) out.push(Array.from(pixels.subarray(y * columns, (y + 1) * columns)));
  return out;
}

/** Native Keras probabilities (a Float32Array) for one preprocessed image; throws on failure. */
export async function nativePredict(pixels, contract = DEFAULT_CONTRACT) {
  const response = await fetch('/api/predict', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ images: [toRows(pixels, contract)] }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return { probs: Float32Array.from(body.probs[0]), ms: body.ms };
}

/** Compare browser and native probabilities: same argmax, largest absolute difference. */
export function agreement(browserProbs, nativeProbs) {
  let maxDiff = 0;
  for (let i = 0; i < nativeProbs.length; i += 1) maxDiff = Math.max(maxDiff, Math.abs(browserProbs[i] - nativeProbs[i]));
  const digit = argmax(nativeProbs);
  return { agree: digit === argmax(browserProbs), digit, maxDiff };
}
