// The server's native Keras model: /api/status and /api/predict, for the live agreement check.

/** {model, native, native_state, native_error} from the server, or null if it cannot be read. */
export async function serverStatus() {
  try {
    const response = await fetch('/api/status', { cache: 'no-store' });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

/** 784 pixels → nested 28x28 rows, the shape /api/predict expects. */
function toRows(pixels) {
  const rows = [];
  for (let y = 0; y < 28; y += 1) rows.push(Array.from(pixels.subarray(y * 28, y * 28 + 28)));
  return rows;
}

/** Native Keras probabilities (Float32Array of 10) for one preprocessed image; throws on failure. */
export async function nativePredict(pixels) {
  const response = await fetch('/api/predict', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ images: [toRows(pixels)] }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return { probs: Float32Array.from(body.probs[0]), ms: body.ms };
}

/** Compare browser and native probabilities: same argmax, largest absolute difference. */
export function agreement(browserProbs, nativeProbs) {
  const argmax = (p) => p.reduce((best, v, i) => (v > p[best] ? i : best), 0);
  let maxDiff = 0;
  for (let i = 0; i < 10; i += 1) maxDiff = Math.max(maxDiff, Math.abs(browserProbs[i] - nativeProbs[i]));
  const digit = argmax(nativeProbs);
  return { agree: digit === argmax(browserProbs), digit, maxDiff };
}
