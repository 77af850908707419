// Several digits side by side: which strokes make up each digit of a number, and what it reads.
//
// When the drawing is surely one digit (every stroke's horizontal extent lies at least
// SURE_OVERLAP within the others', and the whole is no wider than SURE_ASPECT x its height: a 4
// drawn in two strokes, a 5 and its flag) it is read as one, in one model call of one image, as a
// single stroke is. Otherwise the strokes, left to right, are split into digits with the model's
// help (segment.js): every run of neighbouring strokes that could be one digit is read in the same
// single batch, and the split whose digits read most surely (with geometric priors) wins.

import { argmax } from './digit-contract.js';
import { bestSplit, candidateRuns, unionBox } from './segment.js';
import { preprocessStrokes, strokesBox } from './strokes.js';
import { unsureReason } from './unsure.js';

export const SURE_OVERLAP = 0.8;
export const SURE_ASPECT = 1.0;
const MIN_WIDTH = 0.01; // a vertical 1 still has an extent (pad fractions)

const centre = (box) => (box.left + box.right) / 2;
const boxWidth = (box) => Math.max(MIN_WIDTH, box.right - box.left);

/** Strokes → units {members: [stroke index], box}, left to right by the centres of their boxes. */
export function strokeUnits(strokes) {
  const units = [];
  strokes.forEach((stroke, index) => {
    const box = strokesBox([stroke]);
    if (box) units.push({ members: [index], box });
  });
  return units.sort((a, b) => centre(a.box) - centre(b.box));
}

/** The distance from a point to a stroke's path (its points joined by straight segments). */
function distanceToPath(x, y, path) {
  if (path.length === 1) return Math.hypot(path[0][0] - x, path[0][1] - y);
  let best = Infinity;
  for (let i = 1; i < path.length; i += 1) {
    const [ax, ay] = path[i - 1];
    const dx = path[i][0] - ax;
    const dy = path[i][1] - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 > 0 ? Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / len2)) : 0;
    best = Math.min(best, Math.hypot(ax + t * dx - x, ay + t * dy - y));
  }
  return best;
}

/**
 * The least distance from an end of one stroke to the path of another (pad fractions): 0 where a
 * stroke starts or stops on the other's line, between two of its pointer samples or not.
 */
export function endGap(a, b) {
  let gap = Infinity;
  for (const [from, to] of [[a, b], [b, a]]) {
    for (const [x, y] of [from[0], from[from.length - 1]]) gap = Math.min(gap, distanceToPath(x, y, to));
  }
  return gap;
}

/** Whether units are surely one digit: each lies SURE_OVERLAP within the others' extent, the whole digit-shaped. */
export function surelyOneDigit(units) {
  if (units.length <= 1) return true;
  const whole = unionBox(units.map((u) => u.box));
  if (boxWidth(whole) > SURE_ASPECT * Math.max(MIN_WIDTH, whole.bottom - whole.top)) return false;
  const extent = (box) => { // a vertical stroke still spans MIN_WIDTH
    const half = boxWidth(box) / 2;
    return [centre(box) - half, centre(box) + half];
  };
  return units.every((unit, i) => {
    const [left, right] = extent(unit.box);
    const [othersLeft, othersRight] = extent(unionBox(units.filter((_, k) => k !== i).map((u) => u.box)));
    const overlap = Math.min(right, othersRight) - Math.max(left, othersLeft);
    return overlap >= SURE_OVERLAP * Math.min(right - left, othersRight - othersLeft);
  });
}

/**
 * How to read some strokes: `candidates` (stroke index lists) to read in one batch, `whole` (the
 * candidate that is every stroke), and `choose(tops)`: given each candidate's top probability,
 * the candidates that make the digits, left to right.
 */
export function planNumber(strokes) {
  const units = strokeUnits(strokes);
  if (!units.length) return { candidates: [], whole: -1, choose: () => [] };
  if (surelyOneDigit(units)) {
    return { candidates: [units.flatMap((u) => u.members).sort((p, q) => p - q)], whole: 0, choose: () => [0] };
  }
  const runs = candidateRuns(units);
  const candidates = runs.map((run) => units.slice(run.start, run.end).flatMap((u) => u.members).sort((p, q) => p - q));
  const whole = runs.findIndex((run) => run.start === 0 && run.end === units.length);
  const gaps = new Map(); // endGap between units' strokes, computed when the split asks
  const unitsEndGap = (u, v) => {
    const key = u < v ? `${u},${v}` : `${v},${u}`;
    if (!gaps.has(key)) {
      let gap = Infinity;
      for (const p of units[u].members) for (const q of units[v].members) gap = Math.min(gap, endGap(strokes[p], strokes[q]));
      gaps.set(key, gap);
    }
    return gaps.get(key);
  };
  return { candidates, whole, choose: (tops) => bestSplit(units, runs, tops, unitsEndGap) };
}

/**
 * Read strokes as a number: plan, re-draw every candidate at MNIST's scale, classify them in one
 * `predict` call (Float32Array batch → probabilities), choose the digits. Resolves {digits:
 * [{digit, probabilities, pixels, box, members, unsure}], whole, ms}; `whole` reads every stroke as one digit.
 */
export async function readStrokes(strokes, contract, predict) {
  const plan = planNumber(strokes);
  const { pixels: size, classes } = contract;
  const inputs = plan.candidates.map((members) => preprocessStrokes(members.map((i) => strokes[i]), contract));
  if (!inputs.length) return { digits: [], whole: null, ms: 0 };
  const batch = new Float32Array(inputs.length * size);
  inputs.forEach((pixels, i) => batch.set(pixels, i * size));
  const t0 = performance.now();
  const probs = await predict(batch);
  const ms = performance.now() - t0;
  const readings = inputs.map((pixels, i) => {
    const probabilities = Array.from(probs.subarray(i * classes, (i + 1) * classes));
    return { digit: argmax(probabilities), probabilities, pixels };
  });
  const digits = plan.choose(readings.map((r) => r.probabilities[r.digit])).map((i) => {
    const members = plan.candidates[i];
    const chosen = members.map((k) => strokes[k]);
    const read = readings[i];
    return { ...read, box: strokesBox(chosen), members, unsure: unsureReason(chosen, read.probabilities[read.digit]) };
  });
  return { digits, whole: readings[plan.whole], ms };
}

/**
 * The number some digit readings spell ({digit, probabilities} each, left to right, labels the
 * model's) and how sure the page is of it: the product of the digits' top probabilities.
 */
export function numberOf(digits, labels) {
  return {
    number: digits.map((d) => labels[d.digit]).join(''),
    confidence: digits.reduce((p, d) => p * d.probabilities[d.digit], 1),
  };
}
