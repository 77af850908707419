// The browser's WebGPU adapter, asked for once per page: both runtimes offer WebGPU only where there
// is one. A software adapter (Chromium's SwiftShader, or any fallback adapter) computes as a GPU
// would, so it proves as well, but its timings are a CPU's and say nothing of a GPU's speed.

let asked = null;

/** What an adapter says of itself: {vendor, architecture, device, description, software}. */
function adapterInfo(adapter) {
  const info = adapter.info || {};
  const software = Boolean(info.isFallbackAdapter || adapter.isFallbackAdapter)
    || /swiftshader/i.test(`${info.architecture} ${info.description}`);
  return {
    vendor: info.vendor || '', architecture: info.architecture || '', device: info.device || '',
    description: info.description || '', software,
  };
}

/** Resolves the adapter's info (adapterInfo), or null where this browser offers no WebGPU adapter. */
export function webgpuAdapter() {
  asked ??= (async () => {
    try {
      const adapter = await navigator.gpu?.requestAdapter();
      return adapter ? adapterInfo(adapter) : null;
    } catch {
      return null; // a browser that refuses (a policy, a lost GPU process) has none for us
    }
  })();
  return asked;
}

/** The adapter for people: "google swiftshader, software adapter" ('' for null). */
export function adapterText(info) {
  if (!info) return '';
  const name = [info.vendor, info.architecture].filter(Boolean).join(' ') || info.description || 'unnamed adapter';
  return info.software ? `${name}, software adapter` : name;
}

/**
 * Why the export says runtime `runtime` ('tfjs' or 'litert') cannot run its model on WebGPU (a
 * kernel or shader that runtime lacks, a lost device: metadata.json `proof.browser.webgpu.unavailable`,
 * `litert.proof.unavailable.webgpu`), or null. The pages do not offer WebGPU for such a model.
 */
export function webgpuUnavailable(metadata, runtime) {
  if (runtime === 'tfjs') return metadata?.proof?.browser?.webgpu?.unavailable || null;
  const why = metadata?.litert?.proof?.unavailable?.webgpu;
  return why ? `LiteRT.js cannot run model.tflite on WebGPU: ${why}` : null;
}
