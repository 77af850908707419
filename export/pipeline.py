"""`export_model`: load, rewrite, convert, prove parity (Node.js, then Chromium), publish atomically.

The one entry point the CLI, the benchmarks, the tests and notebooks use.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from export.convert import (
    check_model_file,
    convert_to_graph_model,
    load_model,
    quantization_map,
    use_tensorflow_backend,
)
from export.errors import ExportError, VerificationError
from export.metadata import build_metadata, mnist_block
from export.publish import (
    check_out_dir,
    file_inventory,
    make_staging,
    recover,
    swap_into_place,
    write_metadata,
)
from export.rewrite import MAX_UNROLL, exact_gelu_layers, loop_layers, risky_unrolls, unroll_rnns
from export.samples import (
    DEFAULT_SAMPLES,
    bundle_count,
    check_samples,
    generate,
    is_classifier,
    load_samples,
    output_scale,
    write_bundle,
)
from export.specs import TensorSpec, input_specs, looks_like_mnist, output_specs
from export.verify import (
    BACKENDS,
    MNIST_THRESHOLDS,
    THRESHOLDS,
    accuracy_failures,
    node_runtime,
    predict_with_tfjs,
)
from mnist_tfjs.files import sha256_file

TEST_DIGITS = 10_000
MNIST_BUNDLED = 256
CPU_DIGITS = 1_000  # MNIST digits the Node cpu backend proves (all of them on wasm)


def _test_digits(digits: int | None, data_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    from mnist_tfjs.mnist import DataError, load_test_set

    if digits is not None and not 1 <= digits <= TEST_DIGITS:
        raise ExportError(f"--digits {digits} is out of range; use 1 to {TEST_DIGITS}")
    try:
        images, labels = load_test_set(data_dir)
    except DataError as exc:
        raise ExportError(str(exc)) from None
    return (images, labels) if digits is None else (images[:digits], labels[:digits])


def preflight(model_path: Path | None, out_dir: Path, quantize: str = "none", verify: bool = True,
              backends: tuple[str, ...] = BACKENDS) -> dict[str, str] | None:
    """The checks that need no TensorFlow: options, model file, --out, Node.js and npm packages.

    Returns the Node/TF.js versions when `verify`, else None. Raises ExportError.
    """
    quantization_map(quantize)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        wrong = unknown[0] if unknown else "(none)"
        raise ExportError(f"backend {wrong!r} is not one of {', '.join(BACKENDS)}")
    if model_path is not None:
        check_model_file(model_path)
    check_out_dir(out_dir, model_path)
    return node_runtime() if verify else None


def keras_outputs(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec],
                  arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keras' own outputs for the samples, {output name: float32/int32 array}."""
    import tensorflow as tf

    from export.convert import serving_function

    serve = serving_function(model, inputs, outputs)
    count = len(next(iter(arrays.values())))
    parts: dict[str, list[np.ndarray]] = {spec.name: [] for spec in outputs}
    for start in range(0, count, 256):
        feed = [tf.constant(arrays[spec.name][start:start + 256]) for spec in inputs]
        result = serve(*feed)
        for spec in outputs:
            parts[spec.name].append(np.asarray(result[spec.name]))
    return {spec.name: np.concatenate(parts[spec.name]).astype(np.float32 if spec.dtype == "float32"
                                                                 else np.int32)
            for spec in outputs}


def _browser_proof(staging: Path, backends: tuple[str, ...] | None,
                   ) -> tuple[dict[str, Any] | None, str | None]:
    try:
        from export.browser import browser_proof
    except ImportError:
        return None, None
    results = browser_proof(staging) if backends is None else browser_proof(staging, backends=backends)
    version = None
    for result in results.values():
        if isinstance(result, dict) and result.get("chromium"):
            version = str(result["chromium"])
    return results, version


def _kept_loop_refusal(model: Any, backend: str, reason: str, kept: list[str]) -> ExportError | None:
    """The refusal for an RNN that had to keep its loop (Keras computes it differently unrolled)."""
    loops = [layer for layer in loop_layers(model) if layer.name in kept]
    if not loops:
        return None
    layer = loops[0]
    return ExportError(f"layer {layer.name} ({type(layer).__name__}) keeps its while loop (unrolled, Keras "
                       "itself computes a masked Bidirectional with return_sequences differently) and "
                       f"TF.js 4.22 cannot run that loop on {backend} ({reason}); prove on the cpu backend "
                       "only (--backend cpu), or drop the mask or return_sequences")


def _close(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> bool:
    return all(np.allclose(got[name], want[name], rtol=1e-5, atol=1e-6 * output_scale(want[name]))
               for name in want)


def _unroll_checked(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec],
                    arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                    ) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """Unroll fixed-length RNNs where Keras computes the same unrolled.

    Returns (model, rewrites, names of the layers that keep their loop because unrolling changed them).
    """
    converted, rewrites = unroll_rnns(model)
    if not rewrites:
        return model, [], []
    probe = {name: values[:64] for name, values in arrays.items()}
    want = {name: values[:64] for name, values in expected.items()}
    if _close(keras_outputs(converted, inputs, outputs, probe), want):
        return converted, rewrites, []
    skip = risky_unrolls(model, rewrites)
    if skip:
        converted, rewrites = unroll_rnns(model, skip)
        if not rewrites or _close(keras_outputs(converted, inputs, outputs, probe), want):
            return (converted if rewrites else model), rewrites, sorted(skip)
    return model, [], [r["layer"] for r in rewrites]


def _cannot_run(exc: VerificationError, model: Any, backend: str, kept: list[str]) -> ExportError:
    """One line for a model TF.js cannot run: the layer, the op and what to change (exit 2)."""
    loops = loop_layers(model)
    reason = str(exc).split(": ", 1)[-1]
    kept_loop = _kept_loop_refusal(model, backend, reason, kept)
    if kept_loop is not None:
        return kept_loop
    if loops:
        layer = loops[0]
        return ExportError(f"layer {layer.name} ({type(layer).__name__}) keeps a while loop (variable or "
                           f"> {MAX_UNROLL}-step sequence) that TF.js 4.22 cannot run on {backend} "
                           f"({reason}); "
                           f"fix the sequence length in keras.Input(shape=(T, ...)) with T ≤ {MAX_UNROLL} so "
                           "the exporter unrolls it, or prove on the cpu backend only (--backend cpu)")
    match = re.search(r"[Kk]ernel '(\w+)' not registered|'(\w+)' is not yet implemented|[Oo]p '?(\w+)'? "
                      r"(?:is )?not (?:supported|implemented)", reason)
    if match:
        op = next(g for g in match.groups() if g)
        return ExportError(f"TF.js ({backend} backend) has no kernel for op {op} ({reason}); replace the "
                           "layer that uses it with standard layers, or try --backend cpu")
    return exc


def _node_proof(staging: Path, arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                outputs: list[TensorSpec], labels: np.ndarray | None, thresholds: dict[str, float],
                classifiers: dict[str, bool], backends: tuple[str, ...], *, cpu_samples: int | None,
                on_failure: Callable[[VerificationError, str], ExportError], say: Callable[[str], None],
                ) -> tuple[dict[str, Any], float | None]:
    """Run the staged model in TF.js under Node.js on every backend; ({backend: RESULT}, TF.js accuracy).

    With `labels` (digit models) each RESULT also gets the test accuracy and the accuracy rules;
    `cpu_samples` caps the samples of the cpu backend (10-50x slower than wasm).
    """
    count = len(next(iter(arrays.values())))
    runs: dict[int, list[str]] = {}
    for backend in backends:
        n = min(count, cpu_samples) if backend == "cpu" and cpu_samples else count
        runs.setdefault(n, []).append(backend)
    results: dict[str, Any] = {}
    exported_accuracy = None
    with tempfile.TemporaryDirectory(prefix="tfjs-export-proof-") as tmp:
        for n, group in runs.items():
            folder = Path(tmp) / str(n)
            folder.mkdir()
            write_bundle(folder, arrays, expected, classifiers, thresholds, n)
            wanted = [(s.name, s.dtype, (n, *expected[s.name].shape[1:])) for s in outputs]
            say(f"running the exported model in TF.js (Node.js, {', '.join(group)}) on {n:,} samples")
            try:
                found = predict_with_tfjs(staging, folder, tuple(group), samples=n,
                                          outputs=wanted if labels is not None else None)
            except VerificationError as exc:
                raise on_failure(exc, getattr(exc, "backend", None) or group[0]) from None
            for backend, (result, values) in found.items():
                if labels is not None and values is not None:
                    accuracy = float((values[outputs[0].name].argmax(axis=1) == labels[:n]).mean())
                    result["accuracy"] = accuracy
                    if n == count:  # the accuracy rules hold for the whole test set only
                        exported_accuracy = accuracy if exported_accuracy is None else exported_accuracy
                        native = float((expected[outputs[0].name].argmax(axis=1) == labels).mean())
                        extra = accuracy_failures(native, accuracy, thresholds)
                        result["failures"] = list(result["failures"]) + extra
                        result["passed"] = result["passed"] and not extra
                results[backend] = result
    return {backend: results[backend] for backend in backends}, exported_accuracy


def _load(model_or_path: Any, say: Callable[[str], None]) -> tuple[Any, dict[str, Any]]:
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


def export_model(model_or_path: Any, out_dir: str | Path, *,
                 samples: str | Path | Mapping[str, Any] | None = None,
                 samples_count: int = DEFAULT_SAMPLES, seed: int = 0, digits: int | None = None,
                 quantize: str = "none", verify: bool = True, browser: bool | None = None,
                 backends: tuple[str, ...] = BACKENDS, data_dir: str | Path | None = None,
                 verbose: bool = False, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Export a Keras model (a `keras.Model` or a `.keras` path) to a proven TF.js graph model in `out_dir`.

    samples: an .npz path or {input name: array}; default: `samples_count` samples generated from
      the input specs with `seed` (MNIST digit models: the first `digits` MNIST test digits, all
      10,000 by default).
    quantize: "none", "float16" or "uint8" weights. verify: run the parity proof (False publishes an
      UNVERIFIED model). browser: also prove in headless Chromium (default: when Chromium is found).
    backends: TF.js backends for the Node.js proof.
    Returns the metadata written to `out_dir/metadata.json`. Raises ExportError (exit code 2) for
    model, sample or environment problems and VerificationError (exit code 1) when TF.js disagrees
    with Keras; in both cases nothing under `out_dir` changes. Call `mnist_tfjs.quiet.quiet_tensorflow()`
    first to hide TensorFlow's log lines.
    """
    say = log or (lambda _message: None)
    started = time.monotonic()
    out_dir = Path(out_dir)
    model_path = Path(model_or_path) if isinstance(model_or_path, (str, Path)) else None
    if samples_count < 1:
        raise ExportError(f"--samples-count {samples_count} must be at least 1")
    runtime = preflight(model_path, out_dir, quantize, verify, tuple(backends))
    if browser is None:
        from mnist_tfjs.chromium import find_chromium

        browser = verify and find_chromium() is not None
    out_dir = out_dir.resolve()  # staging goes beside the real folder ("." or a symlink included)
    recover(out_dir)
    staging = make_staging(out_dir)
    try:
        model, source = _load(model_or_path, say)
        inputs, outputs = input_specs(model), output_specs(model)

        # samples and Keras' outputs for them
        kind, labels, sample_info = "generic", None, {}
        if samples is None and looks_like_mnist(inputs, outputs):
            images, labels = _test_digits(digits, data_dir)
            arrays = {inputs[0].name: images}
            say(f"predicting {len(labels):,} test digits with Keras")
            expected = keras_outputs(model, inputs, outputs, arrays)
            if is_classifier(expected[outputs[0].name]):
                kind, sample_info = "mnist-digits", {"source": "mnist-test", "seed": None}
            else:
                labels = None
        if kind == "generic":
            if samples is None:
                arrays, how = generate(model, inputs, samples_count, seed)
                sample_info = {"source": "generated", "seed": seed, "generated": how}
            elif isinstance(samples, (str, Path)):
                arrays = load_samples(Path(samples), inputs)
                sample_info = {"source": "file", "seed": None, "file": str(samples)}
            else:
                arrays = check_samples(dict(samples), inputs, "samples")
                sample_info = {"source": "given", "seed": None}
            say(f"predicting {len(next(iter(arrays.values()))):,} samples with Keras")
            expected = keras_outputs(model, inputs, outputs, arrays)
        count = len(next(iter(arrays.values())))
        classifiers = {name: is_classifier(values) for name, values in expected.items()}
        thresholds = (MNIST_THRESHOLDS if kind == "mnist-digits" else THRESHOLDS)[quantize]

        # rewrites, conversion
        converted, rewrites, kept_loops = _unroll_checked(model, inputs, outputs, arrays, expected)
        gelu_layers = exact_gelu_layers(model)
        say(f"converting to a TF.js graph model (quantization: {quantize})")
        graph_rewrites = convert_to_graph_model(converted, staging, quantize, verbose=verbose)
        if gelu_layers:
            graph_rewrites = [r for r in graph_rewrites if r["class"] != "gelu"]
        rewrites = rewrites + gelu_layers + graph_rewrites

        # the proof
        node_results: dict[str, Any] | None = None
        browser_results: dict[str, Any] | None = None
        chromium_version = None
        exported_accuracy = None
        failures: list[str] = []
        if verify:
            node_results, exported_accuracy = _node_proof(
                staging, arrays, expected, outputs, labels, thresholds, classifiers, backends,
                cpu_samples=CPU_DIGITS if kind == "mnist-digits" else None,
                on_failure=lambda exc, backend: _cannot_run(exc, converted, backend, kept_loops), say=say)
            for backend, result in node_results.items():
                failures += [f"node {backend}: {f}" for f in result["failures"]]
                if result["failures"] and kept_loops:  # wrong values, not a crash: the same refusal
                    refusal = _kept_loop_refusal(converted, backend, result["failures"][0], kept_loops)
                    if refusal is not None:
                        raise refusal
        bundled = bundle_count(arrays, expected, most=MNIST_BUNDLED if kind == "mnist-digits" else 256)
        write_bundle(staging, arrays, expected, classifiers, thresholds, bundled)
        if verify and browser and not failures:
            say("running the proof in headless Chromium")
            browser_results, chromium_version = _browser_proof(staging, None)
            for backend, result in (browser_results or {}).items():
                if not (isinstance(result, dict) and result.get("passed")):
                    result = result if isinstance(result, dict) else {}
                    reasons = result.get("failures") or [result.get("error") or "did not pass"]
                    failures += [f"browser {backend}: {f}" for f in reasons]
        proof = {
            "samples": count, **sample_info, "bundled": bundled, "thresholds": thresholds,
            "node": node_results, "browser": browser_results,
            "passed": (not failures) if verify else None,
        }
        mnist = None
        if kind == "mnist-digits":
            native_accuracy = float((expected[outputs[0].name].argmax(axis=1) == labels).mean())
            mnist = mnist_block(count, native_accuracy, exported_accuracy)
        metadata = build_metadata(kind=kind, inputs=inputs, outputs=outputs, classifiers=classifiers,
                                  rewrites=rewrites, quantize=quantize, proof=proof, mnist=mnist,
                                  files=file_inventory(staging), source=source, runtime=runtime,
                                  chromium=chromium_version, verified=verify,
                                  seconds=time.monotonic() - started)
        if failures:
            raise VerificationError(f"parity proof failed ({failures[0]}"
                                    f"{f'; {len(failures) - 1} more' if len(failures) > 1 else ''}); "
                                    f"nothing published, {out_dir} is unchanged", metadata)
        write_metadata(staging, metadata)
        say(f"publishing into {out_dir}")
        swap_into_place(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return metadata


def run_export(model_path: str | Path, out_dir: str | Path, quantize: str = "none", verify: bool = True,
               digits: int | None = None, *, data_dir: str | Path | None = None, backend: str = "all",
               verbose: bool = False, log: Callable[[str], None] | None = None,
               browser: bool | None = False) -> dict[str, Any]:
    """The MNIST-era entry point, kept for its callers: `export_model` with the old arguments
    (Node.js proof only unless `browser`; `backend` "all", "wasm" or "cpu")."""
    backends = BACKENDS if backend in ("all", "auto") else (backend,)
    return export_model(model_path, out_dir, quantize=quantize, verify=verify, digits=digits,
                        data_dir=data_dir, backends=backends, verbose=verbose, log=log, browser=browser)
