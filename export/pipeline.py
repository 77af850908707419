"""`export_model`: choose samples → predict with Keras → convert → prove in TF.js → the LiteRT.js
target beside it → publish.

The one entry point the CLI, the benchmarks, the tests and notebooks use; each step below is a
function of its own.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.files import sha256_file
from mnist_tfjs.model_kinds import MNIST_KIND

from .convert import (
    check_model_file,
    convert_to_graph_model,
    load_model,
    use_tensorflow_backend,
)
from .errors import ExportError, VerificationError
from .litert import LitertTarget, TfjsProven, litert_target, status_block
from .locate import FailedProof, explain_failure
from .metadata import PageContract, Provenance, build_metadata, mnist_block
from .node_proof import node_runtime
from .options import ExportOptions, LitertJob
from .prove import (
    ProgressLine,
    ProofHooks,
    ProofResults,
    Reference,
    cannot_run,
    kept_loop_refusal,
    prove,
)
from .publish import (
    check_out_dir,
    file_inventory,
    make_staging,
    recover,
    swap_into_place,
    write_metadata,
)
from .reference import ProofReach, keras_outputs
from .rewrites.rebuild import exact_gelu_layers, risky_unrolls, unroll_rnns
from .rounding import Float32Rounding, measure_rounding
from .rules import (
    MNIST_THRESHOLDS,
    THRESHOLDS,
    constant_outputs,
    output_scale,
    output_spread,
)
from .samples import (
    BUNDLE_MAX_SAMPLES,
    BUNDLE_MIN_SAMPLES,
    Samples,
    bundle_count,
    generic_samples,
    is_classifier,
    mnist_digits,
    write_bundle,
)
from .specs import TensorSpec, input_specs, looks_like_mnist, output_specs

UNROLL_PROBE = 64  # samples on which an unrolled RNN must match its loop


def preflight(model_path: Path | None, out_dir: Path, options: ExportOptions) -> dict[str, str] | None:
    """The checks that need no TensorFlow: options, model file, --out, Node.js and npm packages.

    Returns the Node/TF.js versions when verifying, else None. Raises ExportError.
    """
    options.check()
    if model_path is not None:
        check_model_file(model_path)
    check_out_dir(out_dir, model_path)
    if options.wants_litert and options.verify and not _browser_wanted(options.browser):
        raise ExportError("--litert needs the browser proof (LiteRT.js runs only in a browser): drop "
                          "--no-browser, or install Debian's `chromium` (or set CHROMIUM_PATH)")
    return node_runtime() if options.verify else None


def load(model_or_path: Any, say: Callable[[str], None]) -> tuple[Any, dict[str, Any]]:
    """The Keras model and metadata.json's `source` (file, hash, size, name, parameters)."""
    if isinstance(model_or_path, (str, Path)):
        path = Path(model_or_path)
        say(f"loading {path}")
        model = load_model(path)
        source = {"path": str(path), "sha256": sha256_file(path), "bytes": path.stat().st_size}
    else:
        use_tensorflow_backend()
        import keras

        model = model_or_path
        if not isinstance(model, keras.Model):
            raise ExportError(f"export_model takes a keras.Model or a .keras path, "
                              f"not {type(model).__name__}")
        source = {"path": None, "sha256": None, "bytes": None}
    source.update(name=model.name, parameters=int(model.count_params()))
    return model, source


def predict(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec], samples: Samples,
            say: Callable[[str], None], budget_s: float | None = None,
            ) -> tuple[Samples, dict[str, np.ndarray]]:
    """Keras' outputs for the samples, in batches, with progress: (the samples predicted, outputs).

    With a proof budget, generated or given samples stop where no backend will reach them (see
    `ProofReach`); digit models predict every digit (their accuracy rules read them all)."""
    what = "test digits" if samples.kind == MNIST_KIND else "samples"
    say(f"predicting up to {samples.count:,} {what} with Keras")
    progress, started = ProgressLine("Keras", say, None), time.monotonic()

    def on_batch(done: int, total: int) -> None:
        elapsed_ms = 1000 * (time.monotonic() - started)
        progress({"backend": "predictions", "done": done, "total": total, "elapsedMs": elapsed_ms,
                  "msPerSample": elapsed_ms / done})

    reach = ProofReach(budget_s, outputs) if budget_s and samples.kind != MNIST_KIND else None
    expected = keras_outputs(model, inputs, outputs, samples.arrays, on_batch=on_batch,
                             enough=reach.enough if reach else None)
    predicted = len(next(iter(expected.values())))
    if predicted == samples.count or reach is None:
        return samples, expected
    say(f"Keras predicted {predicted:,} of {samples.count:,} samples: {reach.why}")
    arrays = {name: values[:predicted] for name, values in samples.arrays.items()}
    return replace(samples, arrays=arrays, info={**samples.info, "samples_prepared": samples.count}), expected


def choose_reference(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec],
                     options: ExportOptions, say: Callable[[str], None]) -> Reference:
    """The proof's samples and Keras' outputs for them: MNIST test digits for a digit classifier,
    else the samples given or generated from the input specs."""
    reference = None
    if options.samples is None and looks_like_mnist(inputs, outputs):
        digits = mnist_digits(inputs, options.digits, options.data_dir)
        digits, expected = predict(model, inputs, outputs, digits, say)
        if is_classifier(expected[outputs[0].name]):
            reference = (digits, expected)
    if reference is None:
        samples = generic_samples(model, inputs, options.samples, options.samples_count, options.seed)
        budget_s = options.budget_s if options.verify else None
        reference = predict(model, inputs, outputs, samples, say, budget_s)
    samples, expected = reference
    thresholds = (MNIST_THRESHOLDS if samples.kind == MNIST_KIND else THRESHOLDS)[options.quantize]
    classifiers = {name: is_classifier(values) for name, values in expected.items()}
    return Reference(samples, expected, outputs, classifiers, thresholds)


def check_outputs_vary(reference: Reference, accept_constant: bool) -> dict[str, float]:
    """Each output's spread across the samples; refuse a proof that would compare constants."""
    spreads = {name: output_spread(values) for name, values in reference.expected.items()}
    flat = constant_outputs(spreads, reference.thresholds)
    if flat and not accept_constant:
        name = flat[0]
        raise ExportError(f"output {name!r} barely varies across the {reference.samples.count:,} proof "
                          f"samples (spread {spreads[name]:.1e} of its scale), so the proof would compare "
                          "constants; pass real inputs with --samples FILE.npz (or give BatchNorm layers "
                          "real statistics), or --accept-constant-outputs to publish anyway")
    return spreads


def _close(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> bool:
    return all(np.allclose(got[name], want[name], rtol=1e-5, atol=1e-6 * output_scale(want[name]))
               for name in want)


def unroll_checked(model: Any, inputs: list[TensorSpec], reference: Reference,
                   ) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """Unroll fixed-length RNNs where Keras computes the same unrolled.

    Returns (model, rewrites, names of the layers that keep their loop because unrolling changed them).
    """
    converted, rewrites = unroll_rnns(model)
    if not rewrites:
        return model, [], []
    probe = {name: values[:UNROLL_PROBE] for name, values in reference.samples.arrays.items()}
    want = {name: values[:UNROLL_PROBE] for name, values in reference.expected.items()}
    outputs = reference.outputs
    if _close(keras_outputs(converted, inputs, outputs, probe), want):
        return converted, rewrites, []
    skip = risky_unrolls(model, rewrites)
    if skip:
        converted, rewrites = unroll_rnns(model, skip)
        if not rewrites or _close(keras_outputs(converted, inputs, outputs, probe), want):
            return (converted if rewrites else model), rewrites, sorted(skip)
    return model, [], [r["layer"] for r in rewrites]


def convert(model: Any, inputs: list[TensorSpec], reference: Reference, staging: Path, options: ExportOptions,
            say: Callable[[str], None]) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """Rewrite what TF.js cannot run, then write the graph model into `staging`.

    Returns (the model as converted, every rewrite made, RNN layers that keep their loop).
    """
    converted, rewrites, kept_loops = unroll_checked(model, inputs, reference)
    gelu_layers = exact_gelu_layers(model)
    say(f"converting to a TF.js graph model (quantization: {options.quantize})")
    graph_rewrites = convert_to_graph_model(converted, staging, options.quantize, verbose=options.verbose,
                                            shard_bytes=int(options.shard_mb * 1024 * 1024))
    if gelu_layers:
        graph_rewrites = [r for r in graph_rewrites if r["class"] != "gelu"]
    return converted, rewrites + gelu_layers + graph_rewrites, kept_loops


def run_proof(staging: Path, model: Any, converted: Any, kept_loops: list[str], reference: Reference,
              options: ExportOptions, browser: bool, say: Callable[[str], None]) -> ProofResults:
    """The proof in Node.js and (with `browser`) Chromium, with this model's refusals; float32 weights
    get the float32 rounding allowance of `model` (the one Keras' reference outputs come from)."""
    def refuse_kept_loop(backend: str, failure: str) -> None:
        refusal = kept_loop_refusal(converted, backend, failure, kept_loops) if kept_loops else None
        if refusal is not None:
            raise refusal

    def rounding() -> Float32Rounding | None:
        return measure_rounding(model, reference.samples.arrays, reference.expected)

    hooks = ProofHooks(on_failure=lambda exc, backend: cannot_run(exc, converted, backend, kept_loops),
                       on_wrong_values=refuse_kept_loop,
                       measure_rounding=rounding if options.quantize == "none" else None)
    return prove(staging, reference, options, browser, hooks, say)


def proof_block(reference: Reference, results: ProofResults | None, spreads: dict[str, float],
                bundled: int, options: ExportOptions) -> dict[str, Any]:
    """metadata.json's `proof`: the samples, the rules, the spread of each output, every backend."""
    return {
        "samples": reference.samples.count, **reference.samples.info, "bundled": bundled,
        "thresholds": reference.thresholds, "budget_s": options.budget_s,
        "float32_rounding": results.rounding.as_dict() if results and results.rounding else None,
        "output_spread": spreads,
        "constant_outputs_accepted": bool(constant_outputs(spreads, reference.thresholds)),
        "node": results.node if results else None, "browser": results.browser if results else None,
        "passed": (not results.failures) if results else None,
    }


def second_target(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec], reference: Reference,
                  staging: Path, results: ProofResults | None, job: LitertJob) -> LitertTarget:
    """The LiteRT.js target, once the TF.js model it is published beside has passed its proof."""
    if results is not None and results.failures:
        return LitertTarget(status_block("unproven", "not tried: the TF.js proof failed"))
    return litert_target(model, inputs, outputs, reference, staging, job, tfjs_proven(reference, results))


def tfjs_proven(reference: Reference, results: ProofResults | None) -> TfjsProven:
    """What the TF.js proof tells the runtime advice: each Chromium backend's batch-1 timing, and the
    model's cost against Keras (tfjs_accuracy)."""
    browser = {name: result for name, result in ((results.browser if results else None) or {}).items()
               if isinstance(result, dict) and result.get("batch1_ms") is not None}
    return TfjsProven(tfjs_accuracy(reference, results),
                      {name: result["batch1_ms"] for name, result in browser.items()},
                      {name: result["batch1_calls"] for name, result in browser.items()})


def tfjs_accuracy(reference: Reference, results: ProofResults | None) -> dict[str, Any] | None:
    """The TF.js model's cost against Keras for the runtime advice: its Chromium wasm proof's largest
    relative difference and lowest agreement, and for digit models the test accuracy change."""
    wasm = ((results.browser if results else None) or {}).get("wasm")
    if not isinstance(wasm, dict):
        return None
    outputs = [o for o in (wasm.get("outputs") or {}).values() if isinstance(o, dict)]
    agreements = [o["agreement"] for o in outputs if o.get("agreement") is not None]
    cost: dict[str, Any] = {"max_relative_diff": max((o["relative_diff"] for o in outputs), default=None),
                            "agreement": min(agreements) if agreements else None}
    native = reference.native_accuracy()
    if results is not None and results.exported_accuracy is not None and native is not None:
        cost["accuracy_change_pp"] = round(100 * (results.exported_accuracy - native), 4)
    return cost


def proof_failure(converted: Any, staging: Path, out_dir: Path, reference: Reference, results: ProofResults,
                  quantize: str, metadata: dict[str, Any], say: Callable[[str], None]) -> VerificationError:
    """The refusal of a failed proof: what failed, where the graph first diverged from Keras (the
    layer-by-layer report is written beside `out_dir`, never into it)."""
    say("locating the first layer where TF.js diverges from Keras")
    # digit models judged by accuracy have no per-value threshold: use the generic one of their quantization
    threshold = reference.thresholds.get("max_relative_diff", THRESHOLDS[quantize]["max_relative_diff"])
    failures = results.failures
    failed = FailedProof(failures, results.first_failed(), threshold,
                         results.rounding.exact if results.rounding else None)
    where = explain_failure(converted, staging, out_dir, reference.samples.arrays, reference.expected, failed)
    more = f"; {len(failures) - 1} more" if len(failures) > 1 else ""
    return VerificationError(f"parity proof failed ({failures[0]}{more}); {where}; "
                             f"nothing published, {out_dir} is unchanged", metadata)


def _mnist_block(reference: Reference, results: ProofResults | None) -> dict[str, Any] | None:
    native = reference.native_accuracy()
    if reference.samples.kind != MNIST_KIND or native is None:
        return None
    return mnist_block(reference.samples.count, native, results.exported_accuracy if results else None)


@contextlib.contextmanager
def staged(out_dir: Path) -> Iterator[Path]:
    """A staging folder beside `out_dir` (after recovering from an earlier crash), removed at the end."""
    recover(out_dir)
    staging = make_staging(out_dir)
    try:
        yield staging
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def bundle_for_page(staging: Path, reference: Reference) -> int:
    """Write the samples the model page re-checks (proof.json + proof.bin) beside the model; how many."""
    bundled = bundle_count(reference.samples.arrays, reference.expected, most=BUNDLE_MAX_SAMPLES,
                           least=BUNDLE_MIN_SAMPLES)
    write_bundle(staging, reference.samples.arrays, reference.expected, reference.classifiers,
                 reference.thresholds, bundled)
    return bundled


def publish(staging: Path, out_dir: Path, metadata: dict[str, Any], say: Callable[[str], None]) -> None:
    """Write metadata.json and swap the staged folder into place."""
    write_metadata(staging, metadata)
    say(f"publishing into {out_dir}")
    swap_into_place(staging, out_dir)


def export_model(model_or_path: Any, out_dir: str | Path, *, log: Callable[[str], None] | None = None,
                 **options: Any) -> dict[str, Any]:
    """Export a Keras model (a `keras.Model` or a `.keras` path) to a proven TF.js graph model in `out_dir`.

    `options` by name are the fields of `export.options.ExportOptions`, each with its meaning there
    (the same as `python -m export --help`): samples, samples_count, seed, digits, quantize,
    backends, proof_seconds, shard_mb, accept_constant_outputs, browser, litert, int8,
    allow_float_fallback, verify, data_dir, verbose. `log` receives the progress lines.
    Returns the metadata written to `out_dir/metadata.json`. Raises ExportError (exit code 2) for
    model, sample or environment problems and VerificationError (exit code 1) when TF.js disagrees
    with Keras; in both cases nothing under `out_dir` changes. Call
    `mnist_tfjs.quiet.quiet_tensorflow()` first to hide TensorFlow's log lines.
    """
    say = log or (lambda _message: None)
    started = time.monotonic()
    options = ExportOptions.of(options)
    out_dir = Path(out_dir)
    model_path = Path(model_or_path) if isinstance(model_or_path, (str, Path)) else None
    runtime = preflight(model_path, out_dir, options)
    with_browser = options.verify and _browser_wanted(options.browser)
    out_dir = out_dir.resolve()  # staging goes beside the real folder ("." or a symlink included)
    with staged(out_dir) as staging:
        model, source = load(model_or_path, say)
        inputs, outputs = input_specs(model), output_specs(model)
        reference = choose_reference(model, inputs, outputs, options, say)
        spreads = check_outputs_vary(reference, options.accept_constant_outputs) if options.verify else {}
        converted, rewrites, kept_loops = convert(model, inputs, reference, staging, options, say)
        results = (run_proof(staging, model, converted, kept_loops, reference, options, with_browser, say)
                   if options.verify else None)
        if results is not None:
            reference = replace(reference, thresholds=results.thresholds)
        bundled = bundle_for_page(staging, reference)
        target = second_target(converted, inputs, outputs, reference, staging, results,
                               options.litert_job(with_browser, say))
        contract = PageContract(reference.samples.kind, inputs, outputs, reference.classifiers,
                                _mnist_block(reference, results))
        provenance = Provenance(source, rewrites, options.quantize, runtime,
                                results.chromium if results else None, time.monotonic() - started)
        proof = proof_block(reference, results, spreads, bundled, options)
        metadata = build_metadata(contract, provenance, proof, options.verify, file_inventory(staging),
                                  target)
        if results and results.failures:
            raise proof_failure(converted, staging, out_dir, reference, results, options.quantize,
                                metadata, say)
        publish(staging, out_dir, metadata, say)
    return metadata


def _browser_wanted(browser: bool | None) -> bool:
    """`--browser`/`--no-browser` as given; by default, whenever Chromium is found."""
    if browser is not None:
        return browser
    from mnist_tfjs.chromium import find_chromium

    return find_chromium() is not None
