"""Driving the page from Python with Playwright: find and launch Chromium, wait for the page, pass arrays.

Used by the tests, `web.measure` and `web.robustness`; Playwright is imported only when called.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from common.chromium import find_chromium, launch_chromium  # noqa: F401  (re-exported for callers)

# JS: a base64 string of little-endian float32 values → Float32Array. Prefix for page.evaluate sources.
DECODE_F32 = """(b64) => {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}"""


def f32_to_base64(array: np.ndarray) -> str:
    """float32 values (any shape) → base64 of their little-endian bytes, for DECODE_F32."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def wait_ready(page: Any, timeout_s: float = 30.0) -> dict[str, Any]:
    """Wait for `window.digitDemo.ready`, return the page's timings; RuntimeError with the reason."""
    page.wait_for_function("() => window.digitDemo !== undefined", timeout=timeout_s * 1000)
    outcome = page.evaluate(
        """(ms) => Promise.race([
             window.digitDemo.ready.then(
               () => ({ok: true}),
               (e) => ({ok: false, error: String(e && e.message || e)})),
             new Promise((r) => setTimeout(() => r({ok: false, error: `not ready after ${ms} ms`}), ms)),
           ])""",
        timeout_s * 1000,
    )
    if not outcome["ok"]:
        raise RuntimeError(f"page not ready: {outcome['error']}")
    return page.evaluate("() => window.digitDemo.timings")


def predict_pixels(page: Any, images: np.ndarray) -> np.ndarray:
    """Run the page's `digitDemo.predictPixels` on (N, 28, 28[, 1]) images; returns (N, 10) float32."""
    count = int(images.shape[0])
    flat = f32_to_base64(images.reshape(count, 784))
    probs = page.evaluate(
        f"""async (b64) => {{
              const pixels = ({DECODE_F32})(b64);
              return Array.from(await window.digitDemo.predictPixels(pixels));
            }}""",
        flat,
    )
    return np.asarray(probs, dtype=np.float32).reshape(count, 10)


def pad_rgba(page: Any) -> np.ndarray:
    """The drawing pad's pixels as uint8 RGBA (H, W, 4)."""
    data = page.evaluate(
        """() => {
             const pad = window.digitDemo.pad;
             const image = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height);
             let bin = '';
             for (let i = 0; i < image.data.length; i += 0x8000) {
               bin += String.fromCharCode.apply(null, image.data.subarray(i, i + 0x8000));
             }
             return {b64: btoa(bin), width: pad.width, height: pad.height};
           }"""
    )
    raw = np.frombuffer(base64.b64decode(data["b64"]), dtype=np.uint8)
    return raw.reshape(data["height"], data["width"], 4)
