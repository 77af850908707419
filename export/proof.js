// The parity proof, shared by Node.js (export/node_proof.js), headless Chromium (export/chromium_proof.py)
// and the model page (web/static/proof-check.js): run a model on bundled sample inputs and compare
// every output with Keras' own. The model is a TF.js graph model (pass the `tf` namespace as the
// runtime) or anything a runtime adapter runs (export/litert-proof.js for LiteRT.js).
//
//   const bundle = tfjsProof.readBundle(proofJson, proofBinArrayBuffer);
//   const result = await tfjsProof.runProof(tf, graphModel, bundle, {batch: 32, budgetMs: 8000});
//   const {results, errors} = await tfjsProof.proveOnBackends(tf, bundle, {backends, setBackend, loadModel});
//
// A runtime adapter: {runBatch(model, bundle, start, count) → {values: [typed array per expected
// output, in bundle order], ms}, release(model)}; `ms` covers the call and the read-back only.
//
// proof.json lists raw little-endian arrays inside proof.bin (see docs/export-format.md).
// A RESULT says, per output: max |Δ|, the output's scale (max |Keras value|), their ratio,
// argmax agreement for classifier outputs, and whether TF.js returned only finite values; and how
// many samples the backend compared within its time budget, and why it stopped there.
//
// Every rule is judged here, wherever the proof runs: the float rules (max_relative_diff,
// min_agreement, the float32 allowance `float32_max_abs_diff`) and the full-integer model's
// (export/rules.py INT8_THRESHOLDS: min_agreement with ties within one step of the output's int8
// grid `int8_step`, at most `max_tie_share` of them, `max_rms_error_of_spread` for other outputs).
// Only the digit models' test accuracy is judged in Python: the bundle carries no labels.
(function (root, factory) { // Node: require() it; a page: the global `tfjsProof`
  if (typeof module === 'object' && module.exports) module.exports = factory(); else root.tfjsProof = factory();
}(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  const TYPES = {float32: Float32Array, int32: Int32Array};
  // Fewest samples a backend compares, however slow it is (the warm-up call's and one timed
  // call's: TF.js' plain-JS cpu backend needs 15-18 s for one 224x224 ResNet50 image); and how
  // long one call should take at most once the cost of a sample is known (bigger batches are
  // faster, smaller ones let the budget cut the proof close to its limit).
  const MIN_SAMPLES = 2;
  const TARGET_CALL_MS = 250;
  const MIN_TIMED_CALLS = 3;  // the fewest calls a batch-1 timing takes the median of
  // The repeat pass: the proof's first calls made again with the same inputs must give the same
  // outputs (runtimes that are right only on a first call, or return zeros after it, fail here). It
  // repeats the first call always, and up to REPEAT_CALLS of them while it has taken at most
  // REPEAT_SHARE of the budget; "the same" allows REPEAT_TOLERANCE of the output's scale, for GPUs
  // that sum in a different order from one call to the next.
  const REPEAT_CALLS = 3;
  const REPEAT_SHARE = 0.15;
  const REPEAT_TOLERANCE = 1e-6;

  function product(shape) {
    return shape.reduce((a, b) => a * b, 1);
  }

  function toArrayBuffer(bin) {
    if (bin instanceof ArrayBuffer) return bin;
    // Node Buffer or a typed array view
    return bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  }

  function readArray(entry, buffer) {
    const Type = TYPES[entry.dtype];
    if (!Type) throw new Error(`proof.json: array ${entry.name} has unsupported dtype ${entry.dtype}`);
    const count = product(entry.shape);
    if (entry.bytes !== count * 4 || entry.offset + entry.bytes > buffer.byteLength || entry.offset % 4) {
      throw new Error(`proof.json: array ${entry.name} does not fit proof.bin (${buffer.byteLength} bytes)`);
    }
    return {name: entry.name, dtype: entry.dtype, shape: entry.shape, data: new Type(buffer, entry.offset, count)};
  }

  // proofJson: the parsed proof.json (or its text); bin: proof.bin as ArrayBuffer / Buffer.
  function readBundle(proofJson, bin) {
    const manifest = typeof proofJson === 'string' ? JSON.parse(proofJson) : proofJson;
    const buffer = toArrayBuffer(bin);
    const bundle = {samples: manifest.samples, thresholds: manifest.thresholds || {}, inputs: [], expected: []};
    for (const entry of manifest.arrays) {
      const array = readArray(entry, buffer);
      if (entry.role === 'input') {
        bundle.inputs.push(array);
      } else if (entry.role === 'expected') {
        array.classifier = Boolean(entry.classifier);
        array.scale = entry.scale;
        bundle.expected.push(array);
      } else {
        throw new Error(`proof.json: array ${entry.name} has unknown role ${entry.role}`);
      }
    }
    for (const array of bundle.inputs.concat(bundle.expected)) {
      if (array.shape[0] !== bundle.samples) {
        throw new Error(`proof.json: array ${array.name} holds ${array.shape[0]} samples, not ${bundle.samples}`);
      }
    }
    return bundle;
  }

  function now() {
    return typeof performance !== 'undefined' ? performance.now() : Date.now();
  }

  function argmaxRows(data, offset, rows, width) {
    const top = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      let bestValue = -Infinity;
      for (let c = 0; c < width; c++) {
        const v = data[offset + r * width + c];
        if (v > bestValue) { bestValue = v; best = c; }
      }
      top[r] = best;
    }
    return top;
  }

  function maxAbs(data) {
    let scale = 0;
    for (let i = 0; i < data.length; i++) scale = Math.max(scale, Math.abs(data[i]));
    return scale;
  }

  // Whether `thresholds` are the full-integer model's (export/int8.py writes `int8_step` beside them).
  function int8Rules(thresholds) {
    return typeof thresholds.max_rms_error_of_spread === 'number'
      || (typeof thresholds.int8_step === 'object' && thresholds.int8_step !== null);
  }

  // Running comparison figures of one output; under the int8 rules also the running sums its RMS
  // error over its spread needs (Keras' values shifted by the first sample's, so that a large mean
  // does not swamp a small spread in float64).
  function newStats(e, keepOutputs, thresholds) {
    const scale = typeof e.scale === 'number' ? e.scale : maxAbs(e.data);
    const width = product(e.shape.slice(1));
    const int8Step = (thresholds.int8_step || {})[e.name];
    const spread = int8Rules(thresholds)
      ? {shift: e.data.slice(0, width), sum: new Float64Array(width), sumSq: new Float64Array(width), diffSq: 0}
      : null;
    return {maxAbs: 0, scale, finite: true, width, rows: 0, agree: 0, ties: 0,
            float32Allowance: (thresholds.float32_max_abs_diff || {})[e.name],
            int8Step: typeof int8Step === 'number' ? int8Step : null, spread,
            kept: keepOutputs ? new (TYPES[e.dtype])(e.data.length) : null};
  }

  // The largest |TF.js - Keras| an output may show: the relative rule times its scale, or its
  // float32 rounding allowance where the exporter measured one (export/rounding.py).
  function allowedAbsDiff(s, rule) {
    const relative = typeof rule === 'number' ? rule * s.scale : 0;
    return Math.max(relative, s.float32Allowance || 0);
  }

  // How far apart Keras' top two scores may be for a flip between them to be a tie, not a
  // disagreement: one step of the output's int8 grid (the 8-bit model cannot tell them apart), else
  // twice the allowed error (only with a max_relative_diff rule or a float32 allowance).
  function tieMargin(s, rule) {
    return s.int8Step !== null ? s.int8Step : 2 * allowedAbsDiff(s, rule);
  }

  // Fold the spread's running sums over the samples from `start` (see newStats).
  function addToSpread(spread, e, got, offset, width) {
    for (let k = 0; k < got.length; k++) {
      const want = e.data[offset + k];
      const shifted = want - spread.shift[k % width];
      spread.sum[k % width] += shifted;
      spread.sumSq[k % width] += shifted * shifted;
      spread.diffSq += (got[k] - want) * (got[k] - want);
    }
  }

  // RMS of (runtime - Keras) over the output's spread: the mean over its elements of Keras' standard
  // deviation across the compared samples (1 where Keras' values do not vary).
  function rmsErrorOfSpread(s) {
    const rows = Math.max(1, s.rows);
    let deviations = 0;
    for (let j = 0; j < s.width; j++) {
      const mean = s.spread.sum[j] / rows;
      deviations += Math.sqrt(Math.max(0, s.spread.sumSq[j] / rows - mean * mean));
    }
    const spread = deviations / s.width || 1;
    return Math.sqrt(s.spread.diffSq / (rows * s.width)) / spread;
  }

  // Fold TF.js' values `got` for the samples from `start` into the output's figures.
  function compareOutput(s, e, got, start, classifier, tieRule) {
    const offset = start * s.width;
    for (let k = 0; k < got.length; k++) {
      const d = Math.abs(got[k] - e.data[offset + k]);
      if (!Number.isFinite(got[k])) s.finite = false;
      else if (d > s.maxAbs) s.maxAbs = d;
    }
    if (s.kept) s.kept.set(got, offset);
    if (s.spread) addToSpread(s.spread, e, got, offset, s.width);
    s.rows += got.length / s.width;
    if (!classifier) return;
    const classes = e.shape[e.shape.length - 1];
    const rows = got.length / classes;
    const ours = argmaxRows(got, 0, rows, classes);
    const theirs = argmaxRows(e.data, offset, rows, classes);
    const margin = tieMargin(s, tieRule);
    for (let r = 0; r < rows; r++) {
      if (ours[r] === theirs[r]) {
        s.agree += 1;
      } else {
        const base = offset + r * classes;
        if (e.data[base + theirs[r]] - e.data[base + ours[r]] <= margin) s.ties += 1;
      }
    }
  }

  // The per-output figures and the failures against the thresholds (and the repeat pass).
  function judge(bundle, stats, isClassifier, repeat) {
    const {max_relative_diff: maxRelative, min_agreement: minAgreement, max_tie_share: maxTieShare,
           max_rms_error_of_spread: maxRms} = bundle.thresholds || {};
    const outputs = {};
    const failures = [];
    for (const e of bundle.expected) {
      const s = stats[e.name];
      const classifier = isClassifier(e);
      const relative = s.scale > 0 ? s.maxAbs / s.scale : s.maxAbs;
      const entry = {max_abs_diff: s.maxAbs, scale: s.scale, relative_diff: relative,
                     agreement: classifier ? s.agree / Math.max(1, s.rows) : null,
                     ties: classifier ? s.ties : null, all_finite: s.finite, failed_rules: []};
      if (s.spread) entry.rms_error_of_spread = rmsErrorOfSpread(s);
      outputs[e.name] = entry;
      const fail = (rule, message) => {
        entry.failed_rules.push(rule);
        failures.push(`${e.name}: ${message}`);
      };
      if (!s.finite) fail('finite', 'TF.js returned NaN or infinite values');
      if (typeof maxRelative === 'number' && !(relative <= maxRelative)
          && !(s.maxAbs <= (s.float32Allowance || 0))) {
        const rounding = s.float32Allowance ? ` and beyond float32 rounding (${s.float32Allowance.toExponential(2)})` : '';
        fail('max_relative_diff', `max |Δ| ${relative.toExponential(2)} of the output's scale `
                                  + `> ${maxRelative.toExponential(0)}${rounding}`);
      }
      const rows = Math.max(1, s.rows);
      const counted = (s.agree + s.ties) / rows;
      if (classifier && typeof minAgreement === 'number' && counted < minAgreement - 1e-9) {
        fail('min_agreement', `argmax agreement ${(100 * counted).toFixed(2)} %${s.ties ? ' (ties counted)' : ''} `
                              + `< ${(100 * minAgreement).toFixed(2)} %`);
      } else if (classifier && typeof maxTieShare === 'number' && s.ties / rows > maxTieShare + 1e-9) {
        // On a softmax too flat for the 8-bit grid every sample would be a tie and prove nothing.
        fail('max_tie_share', `${(100 * s.ties / rows).toFixed(2)} % of the samples are ties (Keras' top two `
                              + `closer than the output's int8 step ${s.int8Step === null ? 0 : s.int8Step.toPrecision(2)}), `
                              + `more than ${(100 * maxTieShare).toFixed(1)} %: the 8-bit grid cannot tell the classes apart`);
      }
      if (!classifier && typeof maxRms === 'number' && !(entry.rms_error_of_spread <= maxRms)) {
        fail('max_rms_error_of_spread', `RMS error ${entry.rms_error_of_spread.toFixed(3)} of the output's spread `
                                        + `> ${maxRms}`);
      }
      const again = repeat.outputs[e.name];
      entry.repeat_diff = again / (s.scale > 0 ? s.scale : 1);
      if (!(entry.repeat_diff <= REPEAT_TOLERANCE)) {
        fail('repeat', `a repeated call on the same ${repeat.samples === 1 ? 'sample' : `${repeat.samples} samples`} `
                       + `gave other outputs (max |Δ| ${entry.repeat_diff.toExponential(2)} of the output's scale)`);
      }
    }
    return {outputs, failures};
  }

  function feedsFor(tf, bundle, start, count) {
    const feeds = {};
    for (const input of bundle.inputs) {
      const width = product(input.shape.slice(1));
      const slice = input.data.subarray(start * width, (start + count) * width);
      feeds[input.name] = tf.tensor(slice, [count].concat(input.shape.slice(1)), input.dtype);
    }
    return feeds;
  }

  // Graph models that need executeAsync (control flow, dynamic shapes), found on their first call.
  const needsAsync = new WeakSet();

  // Run a graph model: execute() where it can (executeAsync() on a graph without control flow logs
  // a warning on every call), executeAsync() where TF.js says the graph has dynamic ops; that check
  // runs before any kernel, so a refused execute() costs nothing.
  async function execute(model, feeds, names) {
    if (!needsAsync.has(model)) {
      try {
        return model.execute(feeds, names);
      } catch (err) {
        if (!/executeAsync/.test(message(err))) throw err;
        needsAsync.add(model);
      }
    }
    return model.executeAsync(feeds, names);
  }

  // One model call on `count` samples from `start`: feed, run, read back; {values, ms}.
  async function tfjsCall(tf, model, bundle, start, count) {
    const names = bundle.expected.map((e) => e.name);
    const feeds = feedsFor(tf, bundle, start, count);
    const began = now();
    let outputs;
    try {
      outputs = await execute(model, feeds, names);
    } finally {
      Object.values(feeds).forEach((t) => t.dispose());
    }
    if (!Array.isArray(outputs)) outputs = [outputs];
    try {
      const values = [];
      for (const t of outputs) values.push(await t.data());
      const ms = now() - began;
      outputs.forEach((t, i) => {
        const e = bundle.expected[i];
        const shape = [count].concat(e.shape.slice(1));
        if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
          throw new Error(`output ${e.name} has shape [${t.shape}], expected [${shape}]`);
        }
      });
      return {values, ms};
    } finally {
      outputs.forEach((t) => t.dispose());
    }
  }

  // The runtime adapter for TF.js (`tf` is its namespace), or `runtime` itself when it is one.
  function adapterFor(runtime) {
    if (runtime && typeof runtime.runBatch === 'function') return runtime;
    return {
      runBatch: (model, bundle, start, count) => tfjsCall(runtime, model, bundle, start, count),
      release: (model) => model.dispose(),
    };
  }

  // How many samples the next call takes: the first timed call measures one sample (none where
  // `minSamples` are compared and the warm-up call alone, `warmupMs`, took longer than the budget
  // left); then as many as fit the target call time (at most `batch`), and no more than the budget
  // still allows once `minSamples` are compared.
  function nextCount(done, timed, total, msPerSample, leftMs, opts, warmupMs) {
    if (timed === 0) return done >= opts.minSamples && warmupMs >= leftMs ? 0 : Math.min(1, total - done);
    const perSample = Math.max(msPerSample, 1e-3);
    let count = Math.max(1, Math.min(opts.batch, Math.floor(opts.targetCallMs / perSample)));
    if (done >= opts.minSamples) count = Math.min(count, Math.floor(leftMs / perSample));
    else count = Math.min(count, opts.minSamples - done);
    return Math.min(count, total - done);
  }

  // Run `model` (a tf.GraphModel, or a runtime adapter's model) on the bundle's samples, as many as
  // `options.budgetMs` allows (all of them when it is not set, at least `minSamples`), and compare
  // with Keras.
  // options.keepOutputs: also return {name: typed array} of TF.js' outputs (rows past `samples` are 0);
  // options.classifiers: output names to treat as classifiers besides those proof.json marks;
  // options.onProgress({done, total, elapsedMs, msPerSample}) after each call;
  // options.targetCallMs: how long a call should take at most (TARGET_CALL_MS; GPU backends, whose
  // every call waits for a read-back, do better with longer ones).
  // The first call, on sample 0, is a warm-up (WebGL compiles its shaders, wasm sets up): its
  // outputs are compared, its time is not; ms_per_call and ms_per_sample come from the others.
  async function runProof(runtime, model, bundle, options) {
    const adapter = adapterFor(runtime);
    const opts = Object.assign({batch: 32, keepOutputs: false, classifiers: [], minSamples: MIN_SAMPLES,
                                targetCallMs: TARGET_CALL_MS, onProgress: null}, options || {});
    const budgetMs = typeof opts.budgetMs === 'number' && opts.budgetMs > 0 ? opts.budgetMs : Infinity;
    const named = new Set(opts.classifiers);
    const isClassifier = (e) => Boolean(e.classifier) || named.has(e.name);
    const thresholds = bundle.thresholds || {};
    const tieRule = thresholds.max_relative_diff;
    const total = bundle.samples;
    const stats = {};
    for (const e of bundle.expected) stats[e.name] = newStats(e, opts.keepOutputs, thresholds);
    const compare = (values, start) => bundle.expected.forEach(
      (e, i) => compareOutput(stats[e.name], e, values[i], start, isClassifier(e), tieRule));

    const firstCalls = [];  // {start, count, values} of the first calls, for the repeat pass
    const call = async (start, count) => {
      const outcome = await adapter.runBatch(model, bundle, start, count);
      if (firstCalls.length < REPEAT_CALLS) {
        firstCalls.push({start, count, values: outcome.values.map((v) => v.slice()), ms: outcome.ms});
      }
      compare(outcome.values, start);
      return outcome;
    };
    const warmupMs = (await call(0, 1)).ms;
    const began = now();
    let done = 1;
    let timed = 0;
    let calls = 0;
    let callMs = 0;
    let largestBatch = 1;
    while (done < total) {
      const elapsed = now() - began;
      const count = nextCount(done, timed, total, timed ? elapsed / timed : 0, budgetMs - elapsed, opts,
                              warmupMs);
      if (count < 1) break;
      const {ms} = await call(done, count);
      done += count;
      timed += count;
      calls += 1;
      callMs += ms;
      largestBatch = Math.max(largestBatch, count);
      if (opts.onProgress) {
        const elapsedMs = now() - began;
        opts.onProgress({done, total, elapsedMs, msPerSample: elapsedMs / timed});
      }
    }
    let seconds = (now() - began) / 1000;
    const repeat = await repeatCalls(adapter, model, bundle, firstCalls, budgetMs);
    if (calls === 0) {  // one sample only (a one-sample bundle, a slow backend): its repeat gives the speed
      callMs = repeat.firstMs;
      seconds = callMs / 1000;
      calls = 1;
      timed = 1;
    }
    const {outputs, failures} = judge(bundle, stats, isClassifier, repeat);
    const result = {
      passed: failures.length === 0, samples: done, of: total, batch: largestBatch,
      repeated: repeat.samples,
      ms_per_call: calls ? Math.round(1000 * callMs / calls) / 1000 : null,
      ms_per_sample: timed ? Math.round(1e6 * seconds / timed) / 1000 : null,
      budget_s: Number.isFinite(budgetMs) ? budgetMs / 1000 : null,
      stopped_by: done < total ? 'time budget' : 'all samples',
      failures, outputs,
    };
    if (opts.keepOutputs) {
      result.values = {};
      for (const e of bundle.expected) result.values[e.name] = stats[e.name].kept;
    }
    return result;
  }

  // The repeat pass over `firstCalls`: {samples repeated, outputs: {name: max |Δ| from the first
  // time}, firstMs: the first repeated call's own time}.
  async function repeatCalls(adapter, model, bundle, firstCalls, budgetMs) {
    const outputs = {};
    for (const e of bundle.expected) outputs[e.name] = 0;
    let samples = 0;
    let spentMs = 0;
    let firstMs = null;
    for (const first of firstCalls) {
      if (samples > 0 && spentMs + first.ms > REPEAT_SHARE * budgetMs) break;
      const began = now();
      const {values, ms} = await adapter.runBatch(model, bundle, first.start, first.count);
      spentMs += now() - began;
      if (firstMs === null) firstMs = ms;
      samples += first.count;
      bundle.expected.forEach((e, i) => {
        const a = values[i];
        const b = first.values[i];
        let worst = outputs[e.name];
        for (let k = 0; k < a.length; k++) {
          if (a[k] === b[k] || (Number.isNaN(a[k]) && Number.isNaN(b[k]))) continue;
          const d = Math.abs(a[k] - b[k]);  // NaN where only one is NaN: a failure
          if (!(d <= worst)) worst = d;
        }
        outputs[e.name] = worst;
      });
    }
    return {samples, outputs, firstMs};
  }

  // Milliseconds per call at batch 1: the median of `calls` calls on the bundle's samples in turn,
  // after `warmup` untimed ones (feeding and reading back included, as in the proof).
  // A slow backend stops once `budgetMs` is spent and it has made MIN_TIMED_CALLS timed calls: one
  // warm-up call when it took half the budget, one timed call when that alone outlasted the budget
  // (TF.js' plain-JS cpu backend takes 8-12 s a ResNet50 call: five calls take most of a minute).
  async function timeCalls(runtime, model, bundle, options) {
    const {calls, warmup, budgetMs} = Object.assign({calls: 30, warmup: 2, budgetMs: Infinity}, options || {});
    const adapter = adapterFor(runtime);
    const began = now();
    const call = async (i) => (await adapter.runBatch(model, bundle, i % bundle.samples, 1)).ms;
    let warm = 0;
    while (warm < warmup && (warm === 0 || now() - began < budgetMs / 2)) await call(warm++);
    const times = [];
    const enough = () => times.length >= MIN_TIMED_CALLS || (times.length > 0 && times[0] > budgetMs);
    while (times.length < calls && (!enough() || now() - began < budgetMs)) {
      times.push(await call(warm + times.length));
    }
    times.sort((a, b) => a - b);
    const middle = Math.floor(times.length / 2);
    const median = times.length % 2 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
    return {ms: Math.round(1000 * median) / 1000, calls: times.length};
  }

  function message(err) {
    return String(err && err.message || err);
  }

  // A backend whose proof made batch-1 calls too slow for MIN_TIMED_CALLS of them to fit the timing
  // budget is timed by those calls (the warm-up excluded; a one-sample proof by its repeat), not by
  // more of them: {ms, calls}, or null.
  function timedByProof(result, budgetMs) {
    const slow = result.batch === 1 && result.ms_per_call !== null && result.ms_per_call * MIN_TIMED_CALLS > budgetMs;
    return slow ? {ms: result.ms_per_call, calls: Math.max(1, result.samples - 1)} : null;
  }

  // The proof on each backend in turn, the model loaded afresh on each:
  //   options.backends: names; options.setBackend(name) → true when it started;
  //   options.loadModel(name) → a tf.GraphModel; options.describe(name) → text kept as `described`;
  //   options.onResult({backend, result, error, available}) as each finishes; options.perBackend:
  //   {backend: options of its own for runProof} (a GPU backend's targetCallMs); the rest goes to runProof
  //   (options.onProgress also gets {backend}); options.timeCalls: N also times N warm batch-1 calls
  //   after a proof that passed (for at most options.timeBudgetMs), kept in RESULT as batch1_ms (median) and
  //   batch1_calls (or takes the proof's own calls: timedByProof); a backend's own timeCalls: 0 is not timed.
  // Returns {results: {backend: RESULT}, errors: {backend: message}}.
  async function proveOnBackends(runtime, bundle, options) {
    const {backends, setBackend, loadModel, describe, onResult} = options;
    const results = {};
    const errors = {};
    for (const backend of backends) {
      let model = null;
      let outcome;
      try {
        if (!(await setBackend(backend))) {
          outcome = {backend, available: false, error: `the ${backend} backend did not start`};
        } else {
          const described = describe ? await describe(backend) : backend;
          model = await loadModel(backend);
          const onProgress = options.onProgress && ((p) => options.onProgress(Object.assign({backend}, p)));
          const own = (options.perBackend || {})[backend] || {};
          const settings = Object.assign({}, options, own, {onProgress});
          const result = await runProof(runtime, model, bundle, settings);
          if (settings.timeCalls > 0 && result.passed) {
            let timing = timedByProof(result, settings.timeBudgetMs);
            if (!timing) {
              if (onProgress) onProgress({phase: 'timing', calls: settings.timeCalls});
              timing = await timeCalls(runtime, model, bundle, {calls: settings.timeCalls, budgetMs: settings.timeBudgetMs});
            }
            result.batch1_ms = timing.ms;
            result.batch1_calls = timing.calls;
          }
          outcome = {backend, available: true, described, result};
        }
      } catch (err) {
        outcome = {backend, available: true, error: message(err)};
      } finally {
        if (model) adapterFor(runtime).release(model);
      }
      if (outcome.result) results[backend] = outcome.result;
      else errors[backend] = outcome.error;
      if (onResult) await onResult(outcome);
    }
    return {results, errors};
  }

  return {readBundle, runProof, proveOnBackends, timeCalls, MIN_SAMPLES, version: 3};
}));
