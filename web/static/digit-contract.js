// The digit model's contract, read from the export's metadata.json (docs/export-format.md):
// inputs[0], outputs[0], mnist.labels, mnist.preprocessing {fit_box, field, centre_of_mass}. The one
// place the page's numbers come from. MNIST's values below are used only where metadata.json does
// not say (nothing exported yet); they mirror mnist_tfjs/model_kinds.py and export/metadata.py, which a
// browser test checks.

const MNIST = {
  inputName: null, // null: feed the model positionally
  rows: 28,
  columns: 28,
  channels: 1,
  labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  // LeCun, Cortes, Burges: the ink's bounding box scaled to fit 20x20, pasted in a 28x28 field
  // with its centre of mass at pixel 14 (MNIST's centres all lie in [13.5, 14.5]).
  fitBox: 20,
  centre: 14,
};

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v) => Number.isInteger(v) && v > 0;

function withDerived(contract) {
  return { ...contract, pixels: contract.rows * contract.columns * contract.channels, classes: contract.labels.length };
}

/** MNIST's contract (before metadata.json is read, or when it is missing). */
export const DEFAULT_CONTRACT = Object.freeze(withDerived(MNIST));

/** metadata.json (or null) → {inputName, rows, columns, channels, pixels, labels, classes, fitBox, centre}. */
export function digitContract(metadata) {
  const meta = isObject(metadata) ? metadata : {};
  const input = (Array.isArray(meta.inputs) && isObject(meta.inputs[0])) ? meta.inputs[0] : {};
  const output = (Array.isArray(meta.outputs) && isObject(meta.outputs[0])) ? meta.outputs[0] : {};
  const mnist = isObject(meta.mnist) ? meta.mnist : {};
  const pre = isObject(mnist.preprocessing) ? mnist.preprocessing : {};
  const contract = { ...MNIST };
  if (typeof input.name === 'string' && input.name) contract.inputName = input.name;
  if (Array.isArray(input.shape) && input.shape.length === 4 && input.shape.slice(1).every(isCount)) {
    [, contract.rows, contract.columns, contract.channels] = input.shape;
  }
  const labels = mnist.labels;
  const width = Array.isArray(output.shape) ? output.shape[output.shape.length - 1] : null;
  if (Array.isArray(labels) && labels.length) contract.labels = labels.map(String);
  else if (isCount(width)) contract.labels = Array.from({ length: width }, (_, i) => String(i));
  if (isCount(pre.fit_box)) contract.fitBox = pre.fit_box;
  if (Number.isFinite(pre.centre_of_mass)) contract.centre = pre.centre_of_mass;
  return Object.freeze(withDerived(contract));
}

/** Index of the largest of `width` values starting at `offset` (the predicted class of one row). */
export function argmax(values, offset = 0, width = values.length - offset) {
  let best = 0;
  for (let k = 1; k < width; k += 1) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}
