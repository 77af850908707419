// Checks the browser tests run inside a page (harness/page_driver.py `call_in_page`): each export
// calls the page's own modules on the test's inputs and returns plain data to assert on.

import { digitContract } from '/static/digit-contract.js';
import { planNumber } from '/static/number.js';
import { MODEL_URL } from '/static/model.js';
import { loadBundle } from '/static/proof-check.js';

/** digitContract of each metadata (or null): [inputName, rows, columns, pixels, classes, fitBox, centre]. */
export function contractsOf(metadatas) {
  return metadatas.map(digitContract).map((c) => [c.inputName, c.rows, c.columns, c.pixels, c.classes, c.fitBox, c.centre]);
}

/** The exported model's outputs `names` on the proof bundle's first input, run by the page's TF.js. */
export async function outputsOnBundle(names) {
  const bundle = await loadBundle();
  const model = await window.tf.loadGraphModel(MODEL_URL);
  const x = bundle.inputs[0];
  // execute(): the graph has no control flow (executeAsync() would warn that it could have been used).
  const outs = model.execute({ [x.name]: window.tf.tensor(x.data, x.shape) }, names);
  return Promise.all(outs.map(async (t) => Array.from(await t.data())));
}

/**
 * How the split plans a crossed 4 alone and a 1 beside the 4 drawn in two strokes, with the whole 4
 * read surely (0.99) or barely (0.2) and every single stroke read surely.
 */
export function splitsOfOneAndFour(crossed, number) {
  const single = planNumber(crossed);
  const plan = planNumber(number);
  const read = (sure) => ({ 0: 0.99, 1: 0.99, 2: 0.99, '1,2': sure });
  const tops = (sure) => plan.candidates.map((m) => read(sure)[m.join()] ?? 0.3);
  return {
    single: single.candidates, candidates: plan.candidates, whole: plan.whole,
    sure: plan.choose(tops(0.99)).map((i) => plan.candidates[i]),
    unsure: plan.choose(tops(0.2)).map((i) => plan.candidates[i]),
  };
}

/** The split chosen for each stroke order when every pair of strokes reads as surely as any other. */
export function splitsByOrder(orders) {
  return orders.map((strokes) => {
    const plan = planNumber(strokes);
    const tops = plan.candidates.map((m) => (m.length === 2 ? 0.99 : 0.5));
    return plan.choose(tops).map((i) => plan.candidates[i]);
  });
}

/** Keep every text the model page's status line shows from now on (window.statuses), however briefly. */
export function recordStatuses() {
  const status = document.getElementById('status');
  window.statuses = [];
  new MutationObserver(() => window.statuses.push(status.textContent))
    .observe(status, { childList: true, characterData: true, subtree: true });
}

/** The visible figure tables wider than their scroll box or reaching past their card: [{id, ...}]. */
export function overflowingTables() {
  return [...document.querySelectorAll('table.figures')]
    .filter((table) => !table.hidden)
    .map((table) => {
      const wrap = table.closest('.table-wrap');
      const card = table.closest('.card').getBoundingClientRect();
      return { id: table.id, scroll: wrap.scrollWidth, client: wrap.clientWidth,
        right: table.getBoundingClientRect().right, cardRight: card.right };
    })
    .filter((t) => t.scroll > t.client || t.right > t.cardRight);
}
