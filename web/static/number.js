// Several digits side by side: which strokes make up each digit of a number.
//
// Strokes are grouped into digits by their horizontal extents: groups are merged while two
// neighbours overlap horizontally by at least MERGE_OVERLAP of the narrower one (the bar of a 5
// over its body, the two strokes of a 4), or while the gap between them is under GAP_FRACTION of
// the taller one's height (a stroke barely off the rest of its digit), or when one is a small or
// flat piece (under SMALL_PIECE of the other's height, or flatter than FLAT of it) within PIECE_GAP
// of the pair's height (a 5's flag or a 7's bar drawn apart, a 2's base lifted off).
// Anything else is a new digit.

import { strokesBox } from './strokes.js';

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
