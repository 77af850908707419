// Pixels → an image made the way MNIST was made: what the model reads, from a canvas or from the
// ink of strokes re-drawn at MNIST's scale (strokes.js).
//
// Steps (LeCun, Cortes, Burges): crop to the ink's bounding box, scale the longer side to
// `fitBox` px (20) keeping the aspect ratio with area averaging (grey levels at the edges, like
// the original anti-aliasing), place in the rows x columns field (28x28) with the centre of mass
// at pixel `centre` (14, not the geometric centre 13.5: MNIST's centres, sum of v * index / sum
// of v, all lie in [13.5, 14.5]). Intensities in [0, 1], white ink on black. The numbers come
// from metadata.json through digit-contract.js. `tests/reference_preprocess.py` is the Python twin:
// keep the rounding identical.

import { DEFAULT_CONTRACT } from './digit-contract.js';

export const INK_THRESHOLD = 0; // any ink counts towards the bounding box, as in MNIST

/** floor(x + 0.5): the rounding both twins use. */
function roundHalfUp(value) {
  return Math.floor(value + 0.5);
}

/** One RGBA pixel's ink in [0, 1]: alpha × brightest channel (light ink, transparent or dark ground). */
function inkAt(data, i) {
  const alpha = data[i + 3];
  if (alpha === 0) return 0;
  return (alpha * Math.max(data[i], data[i + 1], data[i + 2])) / (255 * 255);
}

/** Ink of the region (top, left, height, width) of an ImageData, as a row-major Float64Array. */
export function inkFromImageData(imageData, top = 0, left = 0, height = imageData.height,
  width = imageData.width) {
  const { data } = imageData;
  const ink = new Float64Array(width * height);
  for (let y = 0; y < height; y += 1) {
    let i = 4 * ((top + y) * imageData.width + left);
    for (let x = 0; x < width; x += 1, i += 4) ink[y * width + x] = inkAt(data, i);
  }
  return ink;
}

/**
 * Inclusive bounding box {top, left, bottom, right} of the ink above INK_THRESHOLD in an
 * ImageData, or null. Integer test: alpha × brightest > threshold × 255², exactly as the float one.
 */
export function inkBoundingBox(imageData) {
  const { data, width, height } = imageData;
  const limit = INK_THRESHOLD * 255 * 255;
  let top = height;
  let left = width;
  let bottom = -1;
  let right = -1;
  for (let y = 0; y < height; y += 1) {
    let i = 4 * y * width;
    for (let x = 0; x < width; x += 1, i += 4) {
      const alpha = data[i + 3];
      if (alpha !== 0 && alpha * Math.max(data[i], data[i + 1], data[i + 2]) > limit) {
        if (y < top) top = y;
        bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  return bottom < 0 ? null : { top, left, bottom, right };
}

/** For each destination pixel: the first source index and the weights of the pixels it covers. */
function areaWeights(src, dst) {
  const scale = src / dst;
  const out = [];
  for (let j = 0; j < dst; j += 1) {
    const start = j * scale;
    const end = (j + 1) * scale;
    const first = Math.floor(start);
    const last = Math.min(src - 1, Math.ceil(end) - 1);
    const weights = [];
    for (let i = first; i <= last; i += 1) {
      const overlap = Math.min(end, i + 1) - Math.max(start, i);
      weights.push(overlap > 0 ? overlap / scale : 0);
    }
    out.push({ first, weights });
  }
  return out;
}

/**
 * Area-average resize of the region (top, left, height, width) of a row-major image of
 * `stride` columns to outH x outW (an exact box filter). Returns a Float64Array.
 */
export function areaResize(image, stride, top, left, height, width, outH, outW) {
  const cols = areaWeights(width, outW);
  const rows = areaWeights(height, outH);
  const horizontal = new Float64Array(height * outW);
  for (let y = 0; y < height; y += 1) {
    const base = (top + y) * stride + left;
    for (let x = 0; x < outW; x += 1) {
      const { first, weights } = cols[x];
      let sum = 0;
      for (let k = 0; k < weights.length; k += 1) sum += weights[k] * image[base + first + k];
      horizontal[y * outW + x] = sum;
    }
  }
  const out = new Float64Array(outH * outW);
  for (let y = 0; y < outH; y += 1) {
    const { first, weights } = rows[y];
    for (let x = 0; x < outW; x += 1) {
      let sum = 0;
      for (let k = 0; k < weights.length; k += 1) sum += weights[k] * horizontal[(first + k) * outW + x];
      out[y * outW + x] = sum;
    }
  }
  return out;
}

/** ImageData → Float32Array(contract.pixels) as MNIST was made, or null when nothing is drawn. */
export function preprocessImageData(imageData, contract = DEFAULT_CONTRACT) {
  const { rows, columns, fitBox, centre } = contract;
  const box = inkBoundingBox(imageData);
  if (box === null) return null;
  const cropH = box.bottom - box.top + 1;
  const cropW = box.right - box.left + 1;
  const ink = inkFromImageData(imageData, box.top, box.left, cropH, cropW);
  const scale = fitBox / Math.max(cropH, cropW);
  const outH = Math.min(fitBox, Math.max(1, roundHalfUp(cropH * scale)));
  const outW = Math.min(fitBox, Math.max(1, roundHalfUp(cropW * scale)));
  const small = areaResize(ink, cropW, 0, 0, cropH, cropW, outH, outW);

  let total = 0;
  let sumY = 0;
  let sumX = 0;
  for (let y = 0; y < outH; y += 1) {
    for (let x = 0; x < outW; x += 1) {
      const v = small[y * outW + x];
      total += v;
      sumY += v * y;
      sumX += v * x;
    }
  }
  if (total <= 0) return null;
  const offY = Math.min(Math.max(roundHalfUp(centre - sumY / total), 0), rows - outH);
  const offX = Math.min(Math.max(roundHalfUp(centre - sumX / total), 0), columns - outW);

  const out = new Float32Array(rows * columns);
  for (let y = 0; y < outH; y += 1) {
    for (let x = 0; x < outW; x += 1) {
      out[(y + offY) * columns + x + offX] = Math.min(1, Math.max(0, small[y * outW + x]));
    }
  }
  return out;
}

/** Ink (row-major Float64Array of height x width, values in [0, 1]) → the MNIST field, or null. */
export function preprocessInk(ink, height, width, contract = DEFAULT_CONTRACT) {
  const image = new ImageData(width, height);
  // Reuse the pixel pipeline exactly: ink as the alpha of white pixels (8 bits, like a canvas).
  for (let i = 0; i < ink.length; i += 1) {
    image.data[4 * i] = 255;
    image.data[4 * i + 1] = 255;
    image.data[4 * i + 2] = 255;
    image.data[4 * i + 3] = Math.round(ink[i] * 255);
  }
  return preprocessImageData(image, contract);
}
