// Which strokes make each digit of a number, decided with the model's help where the geometry
// cannot tell (a 4 drawn in two strokes beside a 1, a 5 whose flag nearly touches the next digit,
// neighbours that touch or overlap).
//
// The strokes form units (number.js), ordered left to right.
// A digit is a run of neighbouring units; `candidateRuns` lists the runs that could be a digit
// (RUN_LIMITS: few units, no wide gap inside, not much wider than tall). The page reads all of
// them in one batch, and `bestSplit` keeps the split of the units into runs whose digits are read
// most surely: the sum over its digits of CONFIDENCE_WEIGHT x log(top probability) plus geometric
// log-priors:
// - a digit much wider than tall is unlikely (RUN_PRIOR aspectWeight past wide);
// - a digit whose parts leave a gap between them is unlikely (gapWeight past gapFree of its height);
// - a digit much shorter than the tallest unit is more likely a piece of one (shortWeight under short);
// - two digits side by side rarely overlap much (PAIR_PRIOR overlapWeight past overlapFree of the narrower);
// - a stroke that ends on another one (within joinReach of the taller's height) was most likely
//   drawn on from it, a pen lifted and put down again: kept apart, they cost up to joinWeight;
// - people write a number left to right, one digit at a time: a digit with a stroke drawn after
//   a stroke of its right-hand neighbour costs backwardsWeight (strokes keep their drawing order);
// - every digit adds RUN_PRIOR.digit, which offsets the product of probabilities' bias towards fewer digits.
// A whole 4 reads more surely as one digit than its two halves do as two, and two touching
// digits read more surely apart than as one odd shape: that is what the sum compares; where both
// read surely (a 4 drawn as an L and a stem reads 4, its halves 6 and 1), the drawing order
// decides when the right-hand part was drawn first. The weights were fitted on numbers drawn as
// `python -m benchmarks --only robustness` draws them: with other seeds than the benchmark's, and
// backwardsWeight, the digit prior and the largest aspect from MNIST's training digits (the benchmark's are test digits).

// Which runs of strokes are tried as one digit: at most `units` of them, not wider than `aspect` x
// their height (a 5 with a long flag is 2x), with no gap inside wider than `innerGap` x their height.
const RUN_LIMITS = Object.freeze({ units: 6, aspect: 2.2, innerGap: 0.45 });
// How much the model's confidence in a run counts (its log), against the priors below.
const CONFIDENCE_WEIGHT = 0.85;
// A run's prior as one digit: penalised beyond `wide` x its height, for gaps inside it beyond
// `gapFree` x its height, and for being shorter than `short` x the tallest unit; `digit` is the
// prior each digit adds, which favours fewer, whole digits.
const RUN_PRIOR = Object.freeze({
  wide: 1.05, aspectWeight: 1.5, gapFree: 0.04, gapWeight: 5, short: 0.7, shortWeight: 7, digit: 0.4,
});
// Two neighbouring runs' prior: penalised when they overlap beyond `overlapFree` of the narrower
// one, when a stroke ends within `joinReach` x their height of the other's, and when the left one
// was finished after the right one was begun (`backwards`).
const PAIR_PRIOR = Object.freeze({
  overlapFree: 0.34, overlapWeight: 6.5, joinReach: 0.011, joinWeight: 0.6, backwardsWeight: 2,
});
const MIN_SIZE = 0.01; // pad fractions: a dot still has a size

const height = (box) => Math.max(MIN_SIZE, box.bottom - box.top);
const width = (box) => Math.max(MIN_SIZE, box.right - box.left);

/** The box around some boxes. */
export function unionBox(boxes) {
  return {
    left: Math.min(...boxes.map((b) => b.left)),
    right: Math.max(...boxes.map((b) => b.right)),
    top: Math.min(...boxes.map((b) => b.top)),
    bottom: Math.max(...boxes.map((b) => b.bottom)),
  };
}

/** The widest horizontal gap inside some boxes (0 when their extents overlap throughout). */
function innerGap(boxes) {
  const sorted = [...boxes].sort((a, b) => a.left - b.left);
  let reach = sorted[0].right;
  let gap = 0;
  for (const box of sorted.slice(1)) {
    gap = Math.max(gap, box.left - reach);
    reach = Math.max(reach, box.right);
  }
  return gap;
}

/**
 * Units ({box}, left to right) → the runs worth reading as one digit: {start, end, box, gap}
 * (units start..end-1). Every single unit is one; so is the whole when there are several.
 */
export function candidateRuns(units) {
  const runs = [];
  for (let start = 0; start < units.length; start += 1) {
    for (let end = start + 1; end <= Math.min(units.length, start + RUN_LIMITS.units); end += 1) {
      const boxes = units.slice(start, end).map((u) => u.box);
      const box = unionBox(boxes);
      const gap = innerGap(boxes);
      const whole = start === 0 && end === units.length;
      const plausible = width(box) <= RUN_LIMITS.aspect * height(box) && gap <= RUN_LIMITS.innerGap * height(box);
      if (end - start === 1 || plausible || whole) runs.push({ start, end, box, gap, plausible: plausible || end - start === 1 });
    }
  }
  if (units.length > RUN_LIMITS.units) {
    const boxes = units.map((u) => u.box);
    runs.push({ start: 0, end: units.length, box: unionBox(boxes), gap: innerGap(boxes), plausible: false });
  }
  return runs;
}

/** log-prior of a run being one digit, given the tallest unit's height. */
export function runPrior(run, tallest) {
  const aspect = width(run.box) / height(run.box);
  const p = RUN_PRIOR;
  return -p.aspectWeight * Math.max(0, aspect - p.wide)
    - p.gapWeight * Math.max(0, run.gap / height(run.box) - p.gapFree)
    - p.shortWeight * Math.max(0, p.short - height(run.box) / tallest)
    + p.digit;
}

/**
 * log-prior of two runs being neighbouring digits, `a` left of `b`: penalised when they overlap
 * much, when a stroke of one ends on a stroke of the other (`endGap`: the least such distance, pad
 * fractions), or when `a` was finished after `b` was begun (`backwards`).
 */
export function pairPrior(a, b, endGap = Infinity, backwards = false) {
  const overlap = Math.max(0, a.box.right - b.box.left) / Math.min(width(a.box), width(b.box));
  const p = PAIR_PRIOR;
  const reach = p.joinReach * Math.max(height(a.box), height(b.box));
  return -p.overlapWeight * Math.max(0, overlap - p.overlapFree) - p.joinWeight * Math.max(0, 1 - endGap / reach)
    - (backwards ? p.backwardsWeight : 0);
}

/**
 * The split of the units ({box, members}: stroke indices in drawing order) into digits whose
 * readings and priors score best (dynamic programming over runs). `tops[i]`: the top probability
 * the model gave run i; `endGap(u, v)`: how close a stroke of unit u ends to unit v's strokes or
 * the reverse (pad fractions). Returns run indices, left to right.
 */
export function bestSplit(units, runs, tops, endGap = () => Infinity) {
  const runsEndGap = (a, b) => {
    let gap = Infinity;
    for (let u = a.start; u < a.end; u += 1) for (let v = b.start; v < b.end; v += 1) gap = Math.min(gap, endGap(u, v));
    return gap;
  };
  const strokesOf = runs.map((run) => units.slice(run.start, run.end).flatMap((u) => u.members));
  const firstStroke = strokesOf.map((members) => Math.min(...members));
  const lastStroke = strokesOf.map((members) => Math.max(...members));
  const tallest = Math.max(...units.map((u) => height(u.box)));
  const scores = runs.map((run, i) => (run.plausible
    ? CONFIDENCE_WEIGHT * Math.log(Math.max(tops[i], 1e-9)) + runPrior(run, tallest) : -Infinity));
  const ending = runs.map(() => ({ score: -Infinity, previous: -1 })); // best split ending with run i
  const order = runs.map((_, i) => i).sort((p, q) => runs[p].end - runs[q].end);
  for (const i of order) {
    if (scores[i] === -Infinity) continue;
    if (runs[i].start === 0) {
      ending[i] = { score: scores[i], previous: -1 };
      continue;
    }
    runs.forEach((before, k) => {
      if (before.end !== runs[i].start || ending[k].score === -Infinity) return;
      const score = ending[k].score + scores[i]
        + pairPrior(before, runs[i], runsEndGap(before, runs[i]), lastStroke[k] > firstStroke[i]);
      if (score > ending[i].score) ending[i] = { score, previous: k };
    });
  }
  let last = -1;
  runs.forEach((run, i) => {
    if (run.end === units.length && ending[i].score > (last < 0 ? -Infinity : ending[last].score)) last = i;
  });
  const chosen = [];
  for (let i = last; i >= 0; i = ending[i].previous) chosen.unshift(i);
  return chosen;
}
