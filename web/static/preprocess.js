// Canvas pixels → an image made the way MNIST was made (the data side of the page).
//
// Steps (LeCun, Cortes, Burges): crop to the ink's bounding box, scale the longer side to
// `fitBox` px (20) keeping the aspect ratio with area averaging (grey levels at the edges, like
// the original anti-aliasing), place in the rows x columns field (28x28) with the centre of mass
// at pixel `centre` (14, not the geometric centre 13.5: MNIST's centres, sum of v * index / sum
// of v, all lie in [13.5, 14.5]). Intensities in [0, 1], white ink on black. The numbers come
// from metadata.json through contract.js. `tests/reference_preprocess.py` is the Python twin: keep the
// rounding identical.

import { DEFAULT_CONTRACT } from './contract.js';

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

/** What naive demos do: the whole ImageData area-averaged to the field, no crop, no centring. */
export function naiveImageData(imageData, contract = DEFAULT_CONTRACT) {
  const { width, height } = imageData;
  const small = areaResize(inkFromImageData(imageData), width, 0, 0, height, width, contract.rows, contract.columns);
  return Float32Array.from(small, (v) => Math.min(1, Math.max(0, v)));
}

/** All pixels of a canvas (read once; pass the result to the functions above). */
export function readCanvas(canvas) {
  return canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height);
}

/** A canvas → Float32Array(contract.pixels) in [0, 1], white on black, or null when nothing is drawn. */
export function preprocessCanvas(canvas, contract = DEFAULT_CONTRACT) {
  return preprocessImageData(readCanvas(canvas), contract);
}

// ---------------------------------------------------------------- strokes → MNIST (what the model reads)
//
// The pad keeps each stroke as the pointer's path (pad fractions). The model does not read the
// pad's pixels: the pen on the pad has one width whatever the digit's size, so a small digit's
// strokes would become a blob in the 20 px box. Instead the path is re-drawn with a pen that is a
// fixed fraction of the digit's box (PEN_FRACTION), at SUPERSAMPLE times the 20 px box with sharp
// edges, and the MNIST steps above (crop, area-average to 20 px, centre of mass at 14) run on that:
// binary high resolution strokes averaged down, as NIST's scans were.
//
// PEN_FRACTION, measured on MNIST (`python -m benchmarks.strokes`; README "How drawings are read"):
// (1) stroke width = total ink (sum of grey levels) / length of the digit's skeleton (enlarged 4x,
// thresholded, Zhang-Suen thinned, traced), over the ink box's longer side: median 0.090 on the
// first 1,000 test digits (10th-90th percentile 0.062-0.147), 1.8 px of full ink in the 20 px box
// (the grey edges make strokes look 2-3 px wide). (2) That skeleton counts spurs, so it
// underestimates: re-drawing 200 traced test digits with this pipeline gives the originals' total
// ink (median ratio 1.0) at a pen of 0.125 of the box (0.10 → 0.80, 0.12 → 0.95, 0.14 → 1.08).
export const PEN_FRACTION = 0.125;
export const SUPERSAMPLE = 4;
const CURVE_STEPS = 4; // each quadratic piece of the smoothed path becomes 4 segments

/**
 * The path the pad draws for a stroke (quadratic curves through the midpoints of successive
 * points, pad.js' drawStroke) as a polyline: an array of [x, y]. A one-point stroke is a dot.
 */
export function flattenStroke(points) {
  if (points.length < 3) return points.map((p) => [p[0], p[1]]);
  const out = [[points[0][0], points[0][1]]];
  let start = points[0];
  for (let i = 1; i < points.length - 1; i += 1) {
    const control = points[i];
    const end = [(points[i][0] + points[i + 1][0]) / 2, (points[i][1] + points[i + 1][1]) / 2];
    for (let k = 1; k <= CURVE_STEPS; k += 1) {
      const t = k / CURVE_STEPS;
      const u = 1 - t;
      out.push([u * u * start[0] + 2 * u * t * control[0] + t * t * end[0],
        u * u * start[1] + 2 * u * t * control[1] + t * t * end[1]]);
    }
    start = end;
  }
  const last = points[points.length - 1];
  out.push([last[0], last[1]]);
  return out;
}

/** {left, top, right, bottom} of the points of some strokes, or null when there are none. */
export function strokesBox(strokes) {
  let left = Infinity;
  let top = Infinity;
  let right = -Infinity;
  let bottom = -Infinity;
  for (const stroke of strokes) {
    for (const [x, y] of stroke) {
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  return right < left ? null : { left, top, right, bottom };
}

/**
 * Strokes (arrays of [x, y], any units) → the ink of the digit re-drawn with a pen PEN_FRACTION of
 * its box, at SUPERSAMPLE x the fit box: {ink: Float64Array, height, width}, or null when empty.
 */
export function rasterStrokes(strokes, contract = DEFAULT_CONTRACT, pen = PEN_FRACTION) {
  const paths = strokes.filter((s) => s.length).map(flattenStroke);
  const box = strokesBox(paths);
  if (box === null) return null;
  const w = box.right - box.left;
  const h = box.bottom - box.top;
  const side = Math.max(w, h);
  const hiBox = contract.fitBox * SUPERSAMPLE;
  const penPx = pen * hiBox;
  const r = penPx / 2;
  const scale = side > 0 ? (hiBox - penPx) / side : 0;
  const width = Math.ceil(w * scale + penPx) + 2;
  const height = Math.ceil(h * scale + penPx) + 2;
  const ink = new Float64Array(width * height);
  const at = ([x, y]) => [(x - box.left) * scale + r + 1, (y - box.top) * scale + r + 1];
  for (const path of paths) {
    const pts = path.map(at);
    const count = Math.max(1, pts.length - 1);
    for (let k = 0; k < count; k += 1) {
      const [ax, ay] = pts[k];
      const [bx, by] = pts[Math.min(k + 1, pts.length - 1)];
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - r - 1));
      const x1 = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + r + 1));
      const y0 = Math.max(0, Math.floor(Math.min(ay, by) - r - 1));
      const y1 = Math.min(height - 1, Math.ceil(Math.max(ay, by) + r + 1));
      for (let y = y0; y <= y1; y += 1) {
        const py = y + 0.5;
        for (let x = x0; x <= x1; x += 1) {
          const px = x + 0.5;
          let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
          t = Math.min(1, Math.max(0, t));
          const ex = px - (ax + t * dx);
          const ey = py - (ay + t * dy);
          const v = Math.min(1, Math.max(0, r + 0.5 - Math.sqrt(ex * ex + ey * ey)));
          const i = y * width + x;
          if (v > ink[i]) ink[i] = v;
        }
      }
    }
  }
  return { ink, height, width };
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

/** Strokes → Float32Array(contract.pixels) as MNIST was made from them, or null when empty. */
export function preprocessStrokes(strokes, contract = DEFAULT_CONTRACT, pen = PEN_FRACTION) {
  const raster = rasterStrokes(strokes, contract, pen);
  return raster && preprocessInk(raster.ink, raster.height, raster.width, contract);
}

// ---------------------------------------------------------------- several digits side by side
//
// Strokes are grouped into digits by their horizontal extents: groups are merged while two
// neighbours overlap horizontally by at least MERGE_OVERLAP of the narrower one (the bar of a 5
// over its body, the two strokes of a 4), or while the gap between them is under GAP_FRACTION of
// the taller one's height (a stroke barely off the rest of its digit), or when one is a small or
// flat piece (under SMALL_PIECE of the other's height, or flatter than FLAT of it) within PIECE_GAP
// of the pair's height (a 5's flag or a 7's bar drawn apart, a 2's base lifted off).
// Anything else is a new digit.
export const MERGE_OVERLAP = 0.3;
export const GAP_FRACTION = 0.05;
export const SMALL_PIECE = 0.35;
export const PIECE_GAP = 0.3;
export const FLAT = 0.3;
const MIN_WIDTH = 0.01; // a vertical 1 still has an extent (pad fractions)

const extent = (g) => Math.max(g.right - g.left, g.bottom - g.top);
const union = (a, b) => ({
  members: [...a.members, ...b.members],
  left: Math.min(a.left, b.left),
  right: Math.max(a.right, b.right),
  top: Math.min(a.top, b.top),
  bottom: Math.max(a.bottom, b.bottom),
});
const gapBetween = (a, b) => Math.max(a.left, b.left) - Math.min(a.right, b.right); // < 0: overlap

/** Strokes → arrays of stroke indices, one per digit, left to right. */
export function groupStrokes(strokes) {
  let groups = [];
  strokes.forEach((stroke, index) => {
    const box = strokesBox([stroke]);
    if (box) groups.push({ members: [index], ...box });
  });
  groups.sort((a, b) => a.left - b.left);
  // 1. Overlapping or touching groups are one digit.
  let merged = true;
  while (merged) {
    merged = false;
    for (let i = 0; i + 1 < groups.length && !merged; i += 1) {
      for (let j = i + 1; j < groups.length && !merged; j += 1) {
        const a = groups[i];
        const b = groups[j];
        const narrower = Math.max(MIN_WIDTH, Math.min(a.right - a.left, b.right - b.left));
        const taller = Math.max(a.bottom - a.top, b.bottom - b.top);
        const gap = gapBetween(a, b);
        if (-gap >= MERGE_OVERLAP * narrower || gap < GAP_FRACTION * taller) {
          groups[i] = union(a, b);
          groups.splice(j, 1);
          merged = true;
        }
      }
    }
  }
  groups.sort((a, b) => a.left - b.left);
  // 2. A small or flat piece left over joins its nearest neighbour when close enough.
  merged = true;
  while (merged && groups.length > 1) {
    merged = false;
    const order = groups.map((g, i) => i).sort((p, q) => extent(groups[p]) - extent(groups[q]));
    for (const i of order) {
      const piece = groups[i];
      const near = [i - 1, i + 1].filter((k) => k >= 0 && k < groups.length)
        .sort((p, q) => gapBetween(piece, groups[p]) - gapBetween(piece, groups[q]))[0];
      const other = groups[near];
      const otherHeight = other.bottom - other.top;
      const small = extent(piece) < SMALL_PIECE * otherHeight || piece.bottom - piece.top < FLAT * otherHeight;
      const unionHeight = Math.max(piece.bottom, other.bottom) - Math.min(piece.top, other.top);
      if (small && gapBetween(piece, other) < PIECE_GAP * unionHeight) {
        groups[Math.min(i, near)] = union(piece, other);
        groups.splice(Math.max(i, near), 1);
        groups.sort((a, b) => a.left - b.left);
        merged = true;
        break;
      }
    }
  }
  return groups.map((g) => g.members.sort((p, q) => p - q));
}

// ---------------------------------------------------------------- when to say "not sure"
//
// A digit is flagged unsure when it is drawn smaller than MIN_EXTENT of the pad (a dot or a
// tick), when its path is unlike any digit's (a scribble: measured on the path thinned to points
// at least STEP of the box apart, so a shaky hand does not count, the length is over
// MAX_INK_LENGTH box sides or it turns back sharply, by more than 120 degrees, MAX_SHARP_TURNS
// times or more), or when the model's top probability is below UNSURE_PROBABILITY. MNIST test
// digits traced as strokes measure 1.0-3.8 box sides (median 2.4) and turn back sharply at most 3
// times; see README "How drawings are read" for how often right answers get flagged.
export const UNSURE_PROBABILITY = 0.6;
export const MIN_EXTENT = 0.03;
export const MAX_INK_LENGTH = 5.5;
export const MAX_SHARP_TURNS = 5;
const STEP = 0.08;

/** {length, sharpTurns} of some strokes' paths thinned to points STEP of their box apart. */
export function pathShape(strokes) {
  const paths = strokes.map(flattenStroke);
  const box = strokesBox(paths);
  if (!box) return { length: 0, sharpTurns: 0 };
  const side = Math.max(box.right - box.left, box.bottom - box.top);
  if (side <= 0) return { length: 0, sharpTurns: 0 };
  let length = 0;
  let sharpTurns = 0;
  for (const path of paths) {
    const kept = [path[0]];
    for (const p of path) {
      const q = kept[kept.length - 1];
      if (Math.hypot(p[0] - q[0], p[1] - q[1]) >= STEP * side) kept.push(p);
    }
    for (let k = 1; k < kept.length; k += 1) {
      length += Math.hypot(kept[k][0] - kept[k - 1][0], kept[k][1] - kept[k - 1][1]);
      if (k >= 2) {
        const ax = kept[k - 1][0] - kept[k - 2][0];
        const ay = kept[k - 1][1] - kept[k - 2][1];
        const bx = kept[k][0] - kept[k - 1][0];
        const by = kept[k][1] - kept[k - 1][1];
        if (ax * bx + ay * by < -0.5 * Math.hypot(ax, ay) * Math.hypot(bx, by)) sharpTurns += 1;
      }
    }
  }
  return { length: length / side, sharpTurns };
}

/** Why a reading is not trusted: 'small', 'scribble', 'unsure', or null when it is. */
export function unsureReason(strokes, topProbability) {
  const box = strokesBox(strokes);
  if (!box) return null;
  if (Math.max(box.right - box.left, box.bottom - box.top) < MIN_EXTENT) return 'small';
  const shape = pathShape(strokes);
  if (shape.length > MAX_INK_LENGTH || shape.sharpTurns >= MAX_SHARP_TURNS) return 'scribble';
  if (topProbability < UNSURE_PROBABILITY) return 'unsure';
  return null;
}
