// Strokes → an image made the way MNIST was made (what the model reads from a drawing).
//
// The pad keeps each stroke as the pointer's path (pad fractions). The model does not read the
// pad's pixels: the pen on the pad has one width whatever the digit's size, so a small digit's
// strokes would become a blob in the 20 px box. Instead the path is re-drawn with a pen that is a
// fixed fraction of the digit's box (PEN_FRACTION), at SUPERSAMPLE times the 20 px box with sharp
// edges, and MNIST's steps (preprocess.js: crop, area-average to 20 px, centre of mass at 14) run on that:
// binary high resolution strokes averaged down, as NIST's scans were.
//
// PEN_FRACTION, measured on MNIST (`python -m harness.strokes`; docs/drawing.md):
// (1) stroke width = total ink (sum of grey levels) / length of the digit's skeleton (enlarged 4x,
// thresholded, Zhang-Suen thinned, traced), over the ink box's longer side: median 0.090 on the
// first 1,000 test digits (10th-90th percentile 0.062-0.147), 1.8 px of full ink in the 20 px box
// (the grey edges make strokes look 2-3 px wide). (2) That skeleton counts spurs, so it
// underestimates: re-drawing 200 traced test digits with this pipeline gives the originals' total
// ink (median ratio 1.0) at a pen of 0.125 of the box (0.10 → 0.80, 0.12 → 0.95, 0.14 → 1.08).
// `tests/reference_preprocess.py` is the Python twin: keep the rounding identical.

import { DEFAULT_CONTRACT } from './digit-contract.js';
import { preprocessInk } from './preprocess.js';

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

/** Strokes → Float32Array(contract.pixels) as MNIST was made from them, or null when empty. */
export function preprocessStrokes(strokes, contract = DEFAULT_CONTRACT, pen = PEN_FRACTION) {
  const raster = rasterStrokes(strokes, contract, pen);
  return raster && preprocessInk(raster.ink, raster.height, raster.width, contract);
}
