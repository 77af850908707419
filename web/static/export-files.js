// The names of the files in an export folder, which the server serves under /model/: the pages' copy
// of mnist_tfjs/export_files.py, checked against it by tests/test_export_files.py.

export const MODEL_JSON = 'model.json'; // the TF.js graph model: its graph and the weight shards it lists
export const METADATA_JSON = 'metadata.json'; // what the export is and what its proof found
export const LITERT_MODEL = 'model.tflite'; // the LiteRT.js target (metadata.json's `litert` block)
export const LITERT_INT8_MODEL = 'model.int8.tflite'; // its full-integer twin (`litert_int8` block)
export const PROOF_JSON = 'proof.json'; // the proof samples' manifest, which the model page re-checks
export const PROOF_BIN = 'proof.bin'; // the proof samples' arrays, as proof.json lists them

/** Where the server serves an export file. */
export const modelUrl = (name) => `/model/${name}`;
