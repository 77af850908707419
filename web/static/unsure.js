// When the page says "not sure" rather than name a digit.
//
// A digit is flagged unsure when it is drawn smaller than MIN_EXTENT of the pad (a dot or a
// tick), when its path is unlike any digit's (a scribble: measured on the path thinned to points
// at least STEP of the box apart, so a shaky hand does not count, the length is over
// MAX_INK_LENGTH box sides or it turns back sharply, by more than 120 degrees, MAX_SHARP_TURNS
// times or more), or when the model's top probability is below UNSURE_PROBABILITY. MNIST test
// digits traced as strokes measure 1.0-3.8 box sides (median 2.4) and turn back sharply at most 3
// times; see docs/drawing.md for how often right answers get flagged.

import { flattenStroke, strokesBox } from './strokes.js';

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

/**
 * Why a reading is not trusted: 'small', 'scribble', 'unsure', or null when it is. `strokes` null:
 * a pad painted without strokes, judged by the model's top probability alone.
 */
export function unsureReason(strokes, topProbability) {
  if (strokes === null) return topProbability < UNSURE_PROBABILITY ? 'unsure' : null;
  const box = strokesBox(strokes);
  if (!box) return null;
  if (Math.max(box.right - box.left, box.bottom - box.top) < MIN_EXTENT) return 'small';
  const shape = pathShape(strokes);
  if (shape.length > MAX_INK_LENGTH || shape.sharpTurns >= MAX_SHARP_TURNS) return 'scribble';
  if (topProbability < UNSURE_PROBABILITY) return 'unsure';
  return null;
}
