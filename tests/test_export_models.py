"""Any Keras 3 model through the exporter: the fast models of the zoo (names, specs, proof on wasm
and cpu), a recurrent model end to end through the command line, and every bad input refused
with one line, exit code 2 and nothing published."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export import ExportError, export_model
from export.__main__ import main
from harness.zoo_models import ZOO

# masked_gru goes through the command line below instead
FAST_OK = [name for name, entry in ZOO.items()
           if entry.fast and entry.expect == "ok" and name != "masked_gru"]
SAMPLES = 16

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def _run_main(args: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(args)
    return code, stdout.getvalue(), stderr.getvalue()


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _keras_names(model: Any) -> tuple[list[str], list[str]]:
    inputs = [str(t.name) for t in model.inputs]
    outputs = [str(t._keras_history[0].name) for t in model.outputs]
    return inputs, outputs


def _proven_in_node(model: Any, tmp_path: Path, **options: Any) -> dict[str, Any]:
    """`model` exported without the browser (16 generated samples unless `options` give samples),
    proven on Node's wasm and cpu backends both; its metadata."""
    if "samples" not in options:
        options["samples_count"] = 16
    metadata = export_model(model, tmp_path / "web_model", browser=False, **options)
    assert metadata["proof"]["passed"] and set(metadata["proof"]["node"]) == {"wasm", "cpu"}
    return metadata


def _rewrite_what(metadata: dict[str, Any], kind: str) -> str:
    """What `metadata.rewrites` says the rewrite of class `kind` did; it must be there."""
    whats = [rewrite["what"] for rewrite in metadata["rewrites"] if rewrite["class"] == kind]
    assert whats, f"no {kind!r} rewrite in {metadata['rewrites']}"
    return whats[0]


@pytest.mark.node
@pytest.mark.parametrize("name", FAST_OK)
def test_zoo_model_exports_with_a_passing_proof(name: str, tmp_path: Path, node_ready: str) -> None:
    model = ZOO[name].build()
    input_names, output_names = _keras_names(model)
    out = tmp_path / "web_model"
    metadata = export_model(model, out, samples_count=SAMPLES, browser=False)

    proof = metadata["proof"]
    assert proof["passed"] is True and proof["samples"] == SAMPLES and proof["source"] == "generated"
    assert set(proof["node"]) == {"wasm", "cpu"}
    for result in proof["node"].values():
        assert result["passed"] is True and result["failures"] == []
        assert set(result["outputs"]) == set(output_names)
        for figures in result["outputs"].values():
            assert figures["all_finite"] is True and figures["relative_diff"] <= 1e-4
    # names and specs survive, in the model's order
    assert [i["name"] for i in metadata["inputs"]] == input_names
    assert [o["name"] for o in metadata["outputs"]] == output_names
    for spec, tensor in zip(metadata["inputs"], model.inputs, strict=True):
        assert spec["shape"] == [None if d is None else int(d) for d in tensor.shape]
        assert spec["dtype"] == ("int32" if "int" in str(tensor.dtype) else "float32")
    signature = json.loads((out / "model.json").read_text())["signature"]
    assert set(signature["inputs"]) == set(input_names)
    assert set(signature["outputs"]) == set(output_names)
    # the bundle the browser re-runs
    bundle = json.loads((out / "proof.json").read_text())
    assert bundle["samples"] == proof["bundled"] == SAMPLES
    assert [a["name"] for a in bundle["arrays"]] == input_names + output_names
    assert (out / "proof.bin").stat().st_size == sum(a["bytes"] for a in bundle["arrays"])
    # classifiers are far from uniform, so agreement means something
    classifiers = [o["name"] for o in metadata["outputs"] if o["classifier"]]
    for output in classifiers:
        assert proof["node"]["wasm"]["outputs"][output]["agreement"] == 1.0
    if any(layer in name for layer in ("lstm", "rnn", "gru")):
        assert metadata["rewrites"], "recurrent layers must be rewritten"
    if name == "lstm_variable_length":
        assert metadata["inputs"][0]["shape"] == [None, None, 4]
        assert "while loop" in [r["class"] for r in metadata["rewrites"]]
    if name == "dense_gelu_layernorm":
        # Keras numbers auto-named layers per process, so the names come from the model itself
        gelu_layers = [layer.name for layer in model.layers
                       if getattr(getattr(layer, "activation", None), "__name__", "") == "gelu"]
        assert len(gelu_layers) == 2
        assert [r["layer"] for r in metadata["rewrites"] if "GELU" in r["what"]] == gelu_layers


@pytest.mark.node
def test_recurrent_model_end_to_end_through_the_command_line(tmp_path: Path, node_ready: str) -> None:
    """Embedding(mask_zero) + GRU saved to .keras, proven on a samples file, published by the CLI."""
    model = ZOO["masked_gru"].build()
    path = tmp_path / "masked_gru.keras"
    model.save(path)
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 40, size=(20, 8)).astype(np.int64)
    tokens[:, 5:] = 0  # padding the mask must skip
    np.savez(tmp_path / "samples.npz", tokens=tokens)
    out = tmp_path / "site" / "web_model"
    code, stdout, stderr = _run_main(["--model", str(path), "--out", str(out), "--samples",
                                      str(tmp_path / "samples.npz"), "--no-browser"])
    assert code == 0, stderr
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["kind"] == "generic" and metadata["proof"]["source"] == "file"
    assert metadata["inputs"] == [{"name": "tokens", "dtype": "int32", "shape": [None, 8]}]
    assert metadata["outputs"][0]["name"] == "probs" and metadata["outputs"][0]["classifier"] is True
    assert [r["class"] for r in metadata["rewrites"]][:1] == ["GRU"]
    assert metadata["proof"]["node"]["wasm"]["outputs"]["probs"]["relative_diff"] <= 1e-4
    signature = json.loads((out / "model.json").read_text())["signature"]
    assert signature["inputs"]["tokens"]["dtype"] == "DT_INT32"
    keras_probs = model.predict(tokens.astype(np.int32), verbose=0)
    bundle = json.loads((out / "proof.json").read_text())
    raw = (out / "proof.bin").read_bytes()
    expected = next(a for a in bundle["arrays"] if a["role"] == "expected")
    bundled = np.frombuffer(raw[expected["offset"]:expected["offset"] + expected["bytes"]], "<f4")
    np.testing.assert_allclose(bundled.reshape(expected["shape"]), keras_probs, atol=1e-6)
    assert "PASS" in stdout and "rewrite" in stdout


@pytest.mark.node
def test_samples_given_as_arrays_through_the_api(tmp_path: Path, node_ready: str) -> None:
    model = ZOO["two_in_two_out"].build()
    rng = np.random.default_rng(2)
    samples = {"numbers": rng.normal(size=(10, 8)), "category": rng.integers(0, 7, size=(10, 1))}
    metadata = export_model(model, tmp_path / "web_model", samples=samples, backends=("cpu",), browser=False)
    assert metadata["proof"]["source"] == "given" and metadata["proof"]["samples"] == 10
    assert [o["name"] for o in metadata["outputs"]] == ["price", "kind"]
    assert [o["classifier"] for o in metadata["outputs"]] == [False, True]


# --- bad input: one line, exit 2, nothing published, --out untouched ---------------------------


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import keras

    folder = tmp_path_factory.mktemp("bad-inputs")
    keras.utils.set_random_seed(0)

    class Doubler(keras.layers.Layer):  # defined here, registered nowhere: Keras cannot find it again
        def call(self, x: Any) -> Any:
            return x * 2.0

    def model_with(layer: Any) -> Any:
        x_in = keras.Input((3,), name="features")
        return keras.Model(x_in, keras.layers.Dense(2, name="out")(layer(x_in)))

    model_with(Doubler()).save(folder / "custom.keras")
    model_with(keras.layers.Lambda(lambda x: x * 2.0)).save(folder / "lambda.keras")
    ok = model_with(keras.layers.Dense(3))
    ok.save(folder / "ok.keras")
    np.savez(folder / "missing-name.npz", inputs=np.zeros((4, 3), np.float32))
    np.savez(folder / "wrong-shape.npz", features=np.zeros((4, 5), np.float32))
    np.savez(folder / "wrong-dtype.npz", features=np.array([["a", "b", "c"]] * 4))
    (folder / "not-npz.npz").write_text("not an npz")
    return {"folder": folder, "custom": folder / "custom.keras", "lambda": folder / "lambda.keras",
            "ok": folder / "ok.keras"}


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """An --out folder that already holds a (stand-in) published model."""
    out = tmp_path / "site" / "web_model"
    out.mkdir(parents=True)
    (out / "model.json").write_text('{"format": "graph-model"}')
    (out / "metadata.json").write_text('{"schema": 2}')
    return out


@pytest.mark.parametrize(("case", "expected"), [
    ("custom", "unregistered custom object 'Doubler'"),
    ("lambda", "replace the Lambda with a layer"),
    ("missing-name", "no array for input 'features'"),
    ("wrong-shape", "has shape (4, 5); input 'features' takes (N, 3)"),
    ("wrong-dtype", "takes numbers (float32)"),
    ("not-npz", "not a readable .npz"),
    ("no-such-file", "samples file"),
])
def test_bad_input_is_refused_in_one_line(case: str, expected: str, bad_inputs: dict[str, Path],
                                          published: Path) -> None:
    folder = bad_inputs["folder"]
    args = ["--out", str(published), "--no-browser"]
    if case in ("custom", "lambda"):
        args += ["--model", str(bad_inputs[case])]
    else:
        args += ["--model", str(bad_inputs["ok"]), "--samples", str(folder / f"{case}.npz")]
    before = _hashes(published)
    code, stdout, stderr = _run_main(args)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], stderr
    assert "Traceback" not in stdout + stderr
    assert _hashes(published) == before
    assert sorted(p.name for p in published.parent.iterdir()) == ["web_model"]


def test_op_tfjs_lacks_is_refused_naming_layer_and_op(tmp_path: Path) -> None:
    import keras

    class InverseErf(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return keras.ops.erfinv(keras.ops.tanh(x))

    x_in = keras.Input((4,), name="features")
    model = keras.Model(x_in, keras.layers.Dense(2, name="out")(InverseErf(name="inverse_erf")(x_in)))
    out = tmp_path / "web_model"
    with pytest.raises(ExportError) as caught:
        export_model(model, out, samples_count=4, browser=False)
    message = str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in message
    assert "Erfinv" in message and "inverse_erf" in message
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.node
def test_rnn_tfjs_cannot_run_is_refused_before_publishing(tmp_path: Path, node_ready: str) -> None:
    out = tmp_path / "web_model"
    with pytest.raises(ExportError) as caught:
        export_model(ZOO["masked_bidirectional_sequences"].build(), out, samples_count=8, browser=False)
    message = str(caught.value)
    assert caught.value.exit_code == 2 and "\n" not in message
    assert "layer bidirectional" in message and "--backend cpu" in message
    assert not out.exists() and not list(tmp_path.iterdir())


# --- the browser proof hook ---------------------------------------------------------------------


def _tiny_model() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    x_in = keras.Input((3,), name="features")
    return keras.Model(x_in, keras.layers.Dense(2, activation="softmax", name="probs")(x_in))


@pytest.mark.node
@pytest.mark.parametrize("passed", [True, False])
def test_browser_proof_is_called_on_the_staged_folder_and_can_block(passed: bool, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    node_ready: str) -> None:
    import sys
    import types

    from export.chromium_proof import Pacing

    seen: list[set[str]] = []

    def prove_in_chromium(stage_dir: Path, backends: tuple[str, ...] = ("wasm", "webgl", "cpu"), *,
                          bundle_dir: Path, **_options: object) -> dict:
        seen.append({p.name for folder in (stage_dir, bundle_dir) for p in Path(folder).iterdir()})
        return {b: {"passed": passed, "samples": 8, "failures": [] if passed else ["probs: off"],
                    "outputs": {}} for b in backends}

    fake = types.ModuleType("export.chromium_proof")
    fake.prove_in_chromium = prove_in_chromium  # type: ignore[attr-defined]
    fake.BROWSER_BACKENDS = ("wasm", "webgl", "cpu")  # type: ignore[attr-defined]  # named in the progress line
    fake.Pacing = Pacing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "export.chromium_proof", fake)
    out = tmp_path / "web_model"
    if passed:
        metadata = export_model(_tiny_model(), out, samples_count=8, backends=("cpu",), browser=True)
        assert set(metadata["proof"]["browser"]) == {"wasm", "webgl", "cpu"}
        assert metadata["proof"]["passed"] is True
    else:
        with pytest.raises(ExportError) as caught:
            export_model(_tiny_model(), out, samples_count=8, backends=("cpu",), browser=True)
        assert caught.value.exit_code == 1 and "browser wasm: probs: off" in str(caught.value)
        assert not out.exists()
    assert seen and {"model.json", "proof.json", "proof.bin"} <= seen[0]


@pytest.mark.node
def test_no_browser_module_records_null(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        node_ready: str) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "export.chromium_proof", None)  # its import fails as if missing
    metadata = export_model(_tiny_model(), tmp_path / "web_model", samples_count=8, backends=("cpu",),
                            browser=True)
    assert metadata["proof"]["browser"] is None and metadata["proof"]["passed"] is True


@pytest.mark.node
@pytest.mark.parametrize("quantize", ["float16", "uint8"])
def test_quantized_generic_export_uses_its_thresholds(quantize: str, tmp_path: Path, node_ready: str) -> None:
    from export.rules import THRESHOLDS

    metadata = export_model(ZOO["two_in_two_out"].build(), tmp_path / "web_model", quantize=quantize,
                            samples_count=32, backends=("wasm",), browser=False)
    proof = metadata["proof"]
    assert metadata["quantization"] == quantize and proof["thresholds"] == THRESHOLDS[quantize]
    figures = proof["node"]["wasm"]["outputs"]
    assert 0 < figures["price"]["relative_diff"] <= THRESHOLDS[quantize]["max_relative_diff"]  # quantized
    assert figures["kind"]["agreement"] >= THRESHOLDS[quantize]["min_agreement"]
    manifest = json.loads((tmp_path / "web_model" / "model.json").read_text())["weightsManifest"]
    weights = [w for group in manifest for w in group["weights"]]
    assert quantize in {w.get("quantization", {}).get("dtype") for w in weights}


def _conv_bn_hard_swish() -> Any:
    """Conv2D → BatchNorm (with statistics) → hard swish, as MobileNetV3 stacks them: TensorFlow fuses
    the three into one `_FusedConv2D` with `_FusedHardSwish`, which no TF.js backend runs."""
    import keras

    keras.utils.set_random_seed(0)
    x_in = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)(x_in)
    norm = keras.layers.BatchNormalization()
    x = keras.layers.Activation("hard_swish")(norm(x))
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(x_in, keras.layers.Dense(3, activation="softmax", name="probs")(x))
    rng = np.random.default_rng(0)
    norm.set_weights([rng.uniform(0.5, 1.5, 8), rng.normal(0, 0.3, 8), rng.normal(0, 0.3, 8),
                      rng.uniform(0.5, 1.5, 8)])
    return model


@pytest.mark.node
def test_fused_hard_swish_is_split_and_proven_on_wasm_and_cpu(tmp_path: Path, node_ready: str) -> None:
    out = tmp_path / "web_model"
    metadata = export_model(_conv_bn_hard_swish(), out, samples_count=32, browser=False)
    assert [r["class"] for r in metadata["rewrites"]] == ["hard swish"]
    assert metadata["proof"]["passed"] is True and set(metadata["proof"]["node"]) == {"wasm", "cpu"}
    graph = json.loads((out / "model.json").read_text())
    fused = [base64.b64decode(op).decode() for node in graph["modelTopology"]["node"]
             for op in node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])]
    assert "BiasAdd" in fused and "_FusedHardSwish" not in fused
    constants = graph["weightsManifest"][-1]
    assert [w["name"] for w in constants["weights"]] == ["hard_swish/three", "hard_swish/one_sixth"]
    assert (out / constants["paths"][0]).stat().st_size == 8


def _grouped_convolutions() -> Any:
    """Conv2D and Conv1D with groups > 1: one group per channel (with a channel multiplier, strided,
    dilated, causal) and fewer groups than channels (strided)."""
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((12, 12, 8), name="image")
    x = keras.layers.Conv2D(16, 3, padding="same", groups=8, name="per_channel_x2")(image)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", groups=2, activation="relu",
                            name="two_groups")(x)
    x = keras.layers.Conv2D(16, 3, groups=16, dilation_rate=2, name="per_channel_dilated")(x)
    sequence = keras.Input((20, 6), name="sequence")
    y = keras.layers.Conv1D(12, 3, padding="causal", groups=6, name="per_channel_1d")(sequence)
    y = keras.layers.Conv1D(12, 3, strides=2, groups=3, name="three_groups_1d")(y)
    pooled = [keras.layers.GlobalAveragePooling2D()(x), keras.layers.GlobalAveragePooling1D()(y)]
    features = keras.layers.Concatenate()(pooled)
    return keras.Model([image, sequence], keras.layers.Dense(4, name="out")(features))


@pytest.mark.node
def test_grouped_convolutions_are_rewritten_and_proven_on_wasm_and_cpu(tmp_path: Path,
                                                                        node_ready: str) -> None:
    out = tmp_path / "web_model"
    metadata = export_model(_grouped_convolutions(), out, samples_count=32, browser=False)
    assert metadata["proof"]["passed"] is True and set(metadata["proof"]["node"]) == {"wasm", "cpu"}
    ways = {r["layer"]: r["what"].split(" traced as ")[1].split(" (")[0] for r in metadata["rewrites"]}
    depthwise, split = "a depthwise convolution", "split → one convolution per group → concatenate"
    assert ways == {"per_channel_x2": depthwise, "per_channel_dilated": depthwise,
                    "per_channel_1d": depthwise,
                    "two_groups": split, "three_groups_1d": split}
    ops = {node["op"] for node in json.loads((out / "model.json").read_text())["modelTopology"]["node"]}
    assert "StatefulPartitionedCall" not in ops and {"DepthwiseConv2dNative", "ConcatV2"} <= ops | {
        "FusedDepthwiseConv2dNative"}


def _conv_stack() -> Any:
    """Three convolutions, the middle one with a BatchNorm TensorFlow folds into it."""
    import keras

    keras.utils.set_random_seed(0)
    x_in = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="first")(x_in)
    x = keras.layers.Conv2D(8, 3, padding="same", name="middle")(x)
    x = keras.layers.Activation("relu", name="act")(keras.layers.BatchNormalization(name="norm")(x))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="last")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(x_in, keras.layers.Dense(3, name="out")(x))


def tamper_weights(monkeypatch: pytest.MonkeyPatch, part: str, factor: float = 1.01) -> None:
    """After conversion, scale every float32 weight whose name holds `part` by `factor`: the TF.js
    model then diverges from Keras at the layer that weight belongs to."""
    import export.pipeline as pipeline

    convert = pipeline.convert_to_graph_model

    def tampered(model: Any, staging: Path, *args: Any, **kwargs: Any) -> Any:
        rewrites = convert(model, staging, *args, **kwargs)
        found = 0
        for group in json.loads((staging / "model.json").read_text())["weightsManifest"]:
            assert len(group["paths"]) == 1, "a test model's weight group fits one shard"
            shard = staging / group["paths"][0]
            data, offset = bytearray(shard.read_bytes()), 0
            for weight in group["weights"]:
                size = int(np.prod(weight["shape"])) * 4
                if part in weight["name"] and weight["dtype"] == "float32":
                    values = np.frombuffer(bytes(data[offset:offset + size]), "<f4") * np.float32(factor)
                    data[offset:offset + size] = values.astype("<f4").tobytes()
                    found += 1
                offset += size
            shard.write_bytes(bytes(data))
        assert found, f"no weight named like {part!r}"
        return rewrites

    monkeypatch.setattr(pipeline, "convert_to_graph_model", tampered)


@pytest.mark.node
def test_failed_proof_names_the_first_diverging_layer(tmp_path: Path, node_ready: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A weight of layer 'last' tampered by 1% after conversion: the refusal names 'last' (its inputs
    agree), the report lies beside the output folder, and nothing is published."""
    from export.errors import VerificationError

    tamper_weights(monkeypatch, "/last_")
    out = tmp_path / "web_model"
    with pytest.raises(VerificationError) as failure:
        export_model(_conv_stack(), out, samples_count=16, browser=False)
    message = str(failure.value)
    assert "first divergence at layer 'last' (Conv2D → TF.js node" in message, message
    assert "its inputs agree to" in message and "nothing published" in message
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["web_model.proof-failure.json"]
    report = json.loads((tmp_path / "web_model.proof-failure.json").read_text())
    first = report["located"]["first_divergence"]
    assert first["layer"] == "last" and 5e-3 < first["relative_diff"] < 2e-2
    assert first["inputs_relative_diff"] < 1e-5
    by_layer = {layer["layer"]: layer for layer in report["located"]["layers"]}
    assert by_layer["norm"]["folded"] == ["middle"]  # the convolution TensorFlow folded the BatchNorm into
    assert report["proof_failures"][0].startswith("node wasm: out:")


@pytest.mark.slow  # Chromium on four backends beside Node's two: about half a minute
@pytest.mark.browser
@pytest.mark.node
def test_grouped_convolutions_are_proven_in_chromium_on_every_backend(tmp_path: Path,
                                                                      node_ready: str) -> None:
    from mnist_tfjs.chromium import find_chromium
    from tests.helpers import require

    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    metadata = export_model(_grouped_convolutions(), tmp_path / "web_model", samples_count=32, browser=True)
    browser = metadata["proof"]["browser"]
    assert set(browser) == {"wasm", "webgl", "webgpu", "cpu"}
    require("skipped" not in browser["webgpu"], "a WebGPU adapter in headless Chromium")
    assert all(result["passed"] and result["samples"] == 32 for result in browser.values()), browser


@pytest.mark.node
def test_a_divergence_inside_a_nested_model_is_named_with_its_sublayer(
        tmp_path: Path, node_ready: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Sequential block inside a model: the locator descends into it and names the Dense within."""
    import keras

    from export.errors import VerificationError

    keras.utils.set_random_seed(0)
    block = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu", name="inner_a"),
                              keras.layers.Dense(8, activation="tanh", name="inner_b")], name="block")
    x_in = keras.Input((6,), name="features")
    hidden = block(keras.layers.Dense(6, name="pre")(x_in))
    model = keras.Model(x_in, keras.layers.Dense(3, name="out")(hidden))
    tamper_weights(monkeypatch, "/inner_b_")
    with pytest.raises(VerificationError) as failure:
        export_model(model, tmp_path / "web_model", samples_count=16, browser=False, backends=["wasm"])
    assert "first divergence at layer 'inner_b' in 'block' (Dense → TF.js node" in str(failure.value)
    report = json.loads((tmp_path / "web_model.proof-failure.json").read_text())
    compared = {(tuple(layer["within"]), layer["layer"]) for layer in report["located"]["layers"]}
    assert {((), "pre"), ((), "block"), (("block",), "inner_a"), (("block",), "inner_b")} <= compared


@pytest.mark.node
def test_casts_to_bool_of_any_non_zero_value_are_proven_on_wasm_and_cpu(tmp_path: Path,
                                                                        node_ready: str) -> None:
    """TF.js' wasm backend casts 256 (int) and 0.5 (float) to false: the export traces casts as x != 0."""
    import keras

    values = keras.Input((8,), name="values")
    keep = keras.Input((8,), dtype="int32", name="keep")
    weights = keras.Input((8,), name="weights")
    kept = keras.ops.where(keras.ops.cast(keep, "bool"), values, 0.0)
    weighted = keras.ops.where(keras.ops.cast(weights, "bool"), kept, -1.0)
    model = keras.Model([values, keep, weights], keras.layers.Dense(2, name="out")(weighted))
    rng = np.random.default_rng(0)
    samples = {"values": rng.normal(size=(16, 8)).astype(np.float32),
               "keep": rng.choice([0, 1, 256, 512, 999], size=(16, 8)).astype(np.int32),
               "weights": rng.choice([0.0, 0.5, -0.25, 256.0], size=(16, 8)).astype(np.float32)}
    metadata = _proven_in_node(model, tmp_path, samples=samples)
    assert _rewrite_what(metadata, "cast").startswith("2 cast(s) to bool")


@pytest.mark.node
def test_a_divergence_inside_a_block_no_compared_layer_shows_is_still_named(
        tmp_path: Path, node_ready: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block that returns two tensors is not compared itself, and the Dropout after it has no node:
    no compared layer diverges, so the locator searches the block and names the Dense within."""
    import keras

    from export.errors import VerificationError

    class TwoStreams(keras.layers.Layer):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.inner = keras.layers.Dense(6, name="inner")

        def call(self, x: Any) -> Any:
            return self.inner(x), x

    keras.utils.set_random_seed(0)
    x_in = keras.Input((6,), name="features")
    content, _ = TwoStreams(name="streams")(x_in)
    model = keras.Model(x_in, keras.layers.Dropout(0.1, name="out")(content))
    tamper_weights(monkeypatch, "/inner_")
    with pytest.raises(VerificationError) as failure:
        export_model(model, tmp_path / "web_model", samples_count=16, browser=False, backends=["wasm"])
    assert "first divergence at layer 'inner' in 'streams' (Dense → TF.js node" in str(failure.value)


@pytest.mark.node
@pytest.mark.filterwarnings("ignore:Layer 'flatten.* was passed an input with a mask")
def test_a_where_of_rank_five_is_traced_at_rank_four_and_proven(tmp_path: Path, node_ready: str) -> None:
    """TF.js' webgl backend selects up to rank 4: a rank-5 where (grouped-query attention's masked
    scores) is traced on operands folded to rank 4, and computes what Keras computes."""
    import keras

    scores = keras.Input((2, 3, 4, 4), name="scores")
    keep = keras.Input((1, 1, 1, 4), dtype="bool", name="keep")
    masked = keras.layers.Softmax(name="attention")(scores, mask=keep)
    model = keras.Model([scores, keep], keras.layers.Dense(2, name="out")(keras.layers.Flatten()(masked)))
    metadata = _proven_in_node(model, tmp_path)
    assert "rank 5 or more traced at rank 4" in _rewrite_what(metadata, "where")


@pytest.mark.node
def test_a_python_loop_over_the_sequence_gets_a_fixed_length_and_is_proven(tmp_path: Path,
                                                                          node_ready: str) -> None:
    """RWKV7 loops `for t in range(T)` over its sequence in Python, Qwen3.5 branches on its chunk
    padding: Keras' predict retraces at each length, but a trace with the sequence axis dynamic fails
    ("'SymbolicTensor' object cannot be interpreted as an integer", which the exporter reported as
    Keras failing on its samples). The axis is fixed at the samples' length instead, and said so."""
    import keras

    from export.specs import DYNAMIC_SIZE, fixed_axes, input_specs

    class Scan(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            total, steps = keras.ops.zeros_like(x[:, 0]), []
            for t in range(keras.ops.shape(x)[1]):
                total = total + x[:, t]
                steps.append(total)
            return keras.ops.stack(steps, axis=1)

        def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
            return input_shape

    sequence = keras.Input((None, 3), name="sequence")
    model = keras.Model(sequence, keras.layers.Dense(2, name="out")(Scan(name="scan")(sequence)))
    assert "SymbolicTensor" in (fixed_axes(model) or "")
    assert input_specs(model)[0].shape == (None, DYNAMIC_SIZE, 3)
    metadata = _proven_in_node(model, tmp_path)
    assert metadata["inputs"][0]["shape"] == [None, DYNAMIC_SIZE, 3]
    _rewrite_what(metadata, "input shape")

    # a model that traces with the axis dynamic keeps it
    dense = keras.Model(sequence, keras.layers.Dense(2, name="out")(sequence))
    assert fixed_axes(dense) is None and input_specs(dense)[0].shape == (None, None, 3)


@pytest.mark.node
def test_chunk_scores_keep_their_shape_through_a_wide_where_and_add_an_eye(tmp_path: Path,
                                                                         node_ready: str) -> None:
    """Qwen3.5's gated delta rule: rank-5 chunk scores masked by a where (traced at rank 4, its static
    shape kept: the rows are then squeezed, which needs it), and an identity matrix added (`tf.eye`
    traces to MatrixDiagV3, which TF.js lacks: traced as a comparison of ranges). Without either
    rewrite the export is refused (Keras "Cannot squeeze axis=-2", or TF.js has no MatrixDiagV3)."""
    import keras

    class ChunkScores(keras.layers.Layer):
        def call(self, scores: Any) -> Any:
            upper = keras.ops.cast(keras.ops.triu(keras.ops.ones((4, 4))), "bool")
            scores = keras.ops.where(upper, keras.ops.zeros_like(scores), scores)
            row = keras.ops.squeeze(keras.ops.matmul(scores[..., 2:3, :2], scores[..., :2, :2]), axis=-2)
            return keras.ops.sum(row, axis=-1)[..., None, None] + scores + keras.ops.eye(4)

    scores = keras.Input((2, 1, 4, 4), name="scores")
    chunked = ChunkScores(name="chunks")(scores)
    model = keras.Model(scores, keras.layers.Dense(2, name="out")(keras.layers.Flatten()(chunked)))
    metadata = _proven_in_node(model, tmp_path)
    classes = {rewrite["class"] for rewrite in metadata["rewrites"]}
    assert {"where", "eye"} <= classes, metadata["rewrites"]


@pytest.mark.node
@pytest.mark.parametrize("length", [12, None])  # known: constant DFT matrices; any (FNet's): graph ops
def test_a_2d_fft_is_traced_as_dft_matrix_products_and_proven(length: int | None, tmp_path: Path,
                                                              node_ready: str) -> None:
    """TF.js has no FFT2D: FNet's token mixing (the real part of a 2-D FFT over sequence and
    features) is traced as products with DFT matrices, and computes what Keras computes."""
    import keras

    class FourierMixing(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            real, _ = keras.ops.fft2((x, keras.ops.zeros_like(x)))
            return real

    tokens = keras.Input((length, 8), name="tokens")
    mixed = FourierMixing(name="mixing")(keras.layers.Dense(8, name="embed")(tokens))
    model = keras.Model(tokens, keras.layers.Dense(3, name="out")(mixed))
    metadata = _proven_in_node(model, tmp_path)
    assert "DFT matrices" in _rewrite_what(metadata, "fft")


@pytest.mark.node
def test_gathers_with_batch_dimensions_are_traced_flat_and_proven(tmp_path: Path, node_ready: str) -> None:
    """TF.js' wasm backend reads out of bounds on a gather with batch dimensions: both kinds
    (keras.ops.take_along_axis, and tf.gather(batch_dims=3) as DeBERTa's attention calls it) are
    traced as one flat gather, and compute what Keras computes. Untraced, this size stops wasm with
    "memory access out of bounds"."""
    import keras
    import tensorflow as tf

    class Picks(keras.layers.Layer):
        def call(self, features: Any, picks: Any) -> Any:
            along = keras.ops.take_along_axis(features, picks, axis=-1)
            return along + tf.gather(features, picks, batch_dims=3)

    features = keras.Input((2, 16, 512), name="features")  # DeBERTa's relative scores, batch_dims=3
    picks = keras.Input((2, 16, 16), dtype="int32", name="picks")
    picked = Picks(name="picks_of")(features, picks)
    model = keras.Model([features, picks], keras.layers.Dense(3, name="out")(picked))
    metadata = _proven_in_node(model, tmp_path)
    assert _rewrite_what(metadata, "gather").startswith("2 gather(s)")


@pytest.mark.node
def test_float_and_bool_one_hots_are_traced_as_int32_and_proven(tmp_path: Path, node_ready: str) -> None:
    """TF.js' wasm `OneHot` writes int32 bits into a float32 one-hot (1 reads 1.4e-45): a top-k
    router as Mixtral's and GPT-OSS' weighs its experts with one (keras.ops.one_hot, float), a label
    smoothing one sets on and off values, and a bool one-hot selects. All three are traced as int32
    one-hots and compute what Keras computes. Untraced, the float ones fail the proof on wasm (max
    |Δ| 1.0 of the output's scale) and the bool one, 4 bytes written per 1-byte element, stops wasm
    with "memory access out of bounds"."""
    import keras
    import tensorflow as tf

    class Router(keras.layers.Layer):
        def call(self, scores: Any) -> Any:
            weights, experts = keras.ops.top_k(keras.ops.softmax(scores), k=2)
            routed = keras.ops.sum(keras.ops.one_hot(experts, 4) * weights[..., None], axis=1)
            smoothed = tf.one_hot(experts[:, 0], 4, on_value=0.9, off_value=-0.05)
            chosen = keras.ops.one_hot(experts[:, 1], 4, dtype="bool")
            return routed + smoothed + keras.ops.where(chosen, scores, 0.0)

    scores = keras.Input((4,), name="scores")
    routed = Router(name="router")(keras.layers.Dense(4, name="gate")(scores))
    model = keras.Model(scores, keras.layers.Dense(3, name="out")(routed))
    metadata = _proven_in_node(model, tmp_path)
    assert _rewrite_what(metadata, "one hot").startswith("3 one-hot(s)")


@pytest.mark.node
def test_band_parts_of_bool_matrices_are_traced_on_int32_and_proven(tmp_path: Path, node_ready: str) -> None:
    """TF.js runs `MatrixBandPart` as a `Select` per matrix, which TF.js' wasm backend gets wrong on
    bools: a sliding-window mask as Qwen3's and Gemma4's (`tf.linalg.band_part` of a bool matrix of
    ones over a sequence of unknown length) is traced on int32 and computes what Keras computes.
    Untraced, it stops wasm with "memory access out of bounds"."""
    import keras
    import tensorflow as tf

    class Window(keras.layers.Layer):
        def call(self, tokens: Any) -> Any:
            # a sequence of unknown length, so the converter cannot fold the masks into constants
            length = keras.ops.shape(tokens)[1]
            ones = keras.ops.ones((length, length), "bool")
            window = tf.linalg.band_part(ones, 2, 2)
            scores = keras.ops.matmul(tokens, keras.ops.transpose(tokens, (0, 2, 1)))
            return keras.ops.matmul(keras.ops.where(window[None], scores, 0.0), tokens)

    tokens = keras.Input((None, 4), name="tokens")
    windowed = Window(name="window")(tokens)
    model = keras.Model(tokens, keras.layers.Dense(3, name="out")(windowed))
    metadata = _proven_in_node(model, tmp_path)
    assert _rewrite_what(metadata, "band part").startswith("1 band part(s)")


@pytest.mark.node
def test_cumulative_sums_along_negative_axes_are_traced_and_proven(tmp_path: Path, node_ready: str) -> None:
    """TF.js' Cumsum and Cumprod kernels take a negative axis as it is (cpu: a wrongly shaped result;
    wasm: "null function or function signature mismatch"): Falcon's `cumsum(mask, axis=-1)` and a
    cumprod along -1 are traced along the axis counted from the front, and compute what Keras
    computes. Untraced, TF.js cannot run the model on either backend."""
    import keras

    class Running(keras.layers.Layer):
        def call(self, values: Any) -> Any:
            return keras.ops.cumsum(values, axis=-1) + keras.ops.cumprod(1.0 + 0.1 * values, axis=-1)

    values = keras.Input((6,), name="values")
    running = Running(name="running")(values)
    model = keras.Model(values, keras.layers.Dense(3, name="out")(running))
    metadata = _proven_in_node(model, tmp_path)
    assert _rewrite_what(metadata, "cumsum").startswith("2 cumsum/cumprod(s)")


@pytest.mark.node
def test_keys_shared_by_the_heads_are_broadcast_before_the_matmul_and_proven(tmp_path: Path,
                                                                             node_ready: str) -> None:
    """Multi-query attention (MobileNetV5's MultiQueryAttention2d) multiplies queries [B, heads, M, K]
    by keys and values shared by the heads, [B, 1, N, K]; TF.js' BatchMatMul reads the operand's batch
    i % B for the product's batch i = b·heads + h (cpu and wasm: sample b's head 1 gets another
    sample's keys). Traced with the keys broadcast to [B, heads, ...], it computes what Keras computes;
    untraced, the proof fails on both backends."""
    import keras

    class SharedKeyAttention(keras.layers.Layer):
        def call(self, queries: Any, keys: Any) -> Any:
            heads = keras.ops.reshape(queries, (-1, 2, 4, 3))
            shared = keras.ops.expand_dims(keys, axis=1)
            weights = keras.ops.softmax(keras.ops.matmul(heads, keras.ops.transpose(shared, (0, 1, 3, 2))))
            return keras.ops.reshape(keras.ops.matmul(weights, shared), (-1, 24))

    queries, keys = keras.Input((8, 3), name="queries"), keras.Input((5, 3), name="keys")
    attended = SharedKeyAttention(name="mqa")(queries, keys)
    model = keras.Model([queries, keys], keras.layers.Dense(3, name="out")(attended))
    metadata = _proven_in_node(model, tmp_path)
    assert _rewrite_what(metadata, "matmul").startswith("2 batched matmul(s)")


@pytest.mark.node
def test_grouped_query_keys_expanded_for_the_groups_are_broadcast_and_proven(tmp_path: Path,
                                                                            node_ready: str) -> None:
    """Grouped-query attention as keras-hub's Gemma4 computes it (no repeat): queries [B, K, G, T, H]
    times keys [B, K, 1, H, S], the group axis broadcast last, after the sample and key-head axes.
    TF.js' BatchMatMul reads the keys' batch i % (B·K) for the product's batch i = (b·K + k)·G + g,
    so most query heads get another head's or sample's keys (Gemma4's proof failed by 1.4x its
    output's scale on wasm and cpu). Traced with the keys and values broadcast to [B, K, G, ...], it
    computes what Keras computes; untraced, the proof fails on both backends."""
    import keras

    class GroupedQueryAttention(keras.layers.Layer):
        def call(self, queries: Any, keys: Any) -> Any:
            # 2 key/value heads of 3, each shared by 2 query heads: (B, K, G, T, H) and (B, K, 1, H, S)
            grouped = keras.ops.transpose(keras.ops.reshape(queries, (-1, 4, 2, 2, 3)), (0, 2, 3, 1, 4))
            shared = keras.ops.expand_dims(
                keras.ops.transpose(keras.ops.reshape(keys, (-1, 5, 2, 3)), (0, 2, 3, 1)), 2)
            weights = keras.ops.softmax(keras.ops.matmul(grouped, shared))
            attended = keras.ops.matmul(weights, keras.ops.swapaxes(shared, -1, -2))
            return keras.ops.reshape(attended, (-1, 48))

    queries, keys = keras.Input((4, 12), name="queries"), keras.Input((5, 6), name="keys")
    attended = GroupedQueryAttention(name="gqa")(queries, keys)
    model = keras.Model([queries, keys], keras.layers.Dense(3, name="out")(attended))
    metadata = _proven_in_node(model, tmp_path)
    assert _rewrite_what(metadata, "matmul").startswith("2 batched matmul(s)")


def _attention_over_padded_queries() -> Any:
    """ESM's attention: `ops.dot_product_attention` with the padding mask over queries, so a padded
    query has every key masked (Keras: uniform weights)."""
    import keras

    keras.utils.set_random_seed(0)
    tokens = keras.Input((6, 8), name="tokens")
    padding_mask = keras.Input((6,), dtype="int32", name="padding_mask")

    class PaddedQueryAttention(keras.layers.Layer):
        def call(self, x: Any, mask: Any) -> Any:
            heads = keras.ops.reshape(x, (-1, 6, 2, 4))
            keep = keras.ops.reshape(keras.ops.not_equal(mask, 0), (-1, 1, 6, 1))
            attended = keras.ops.dot_product_attention(heads, heads, heads, mask=keep)
            return keras.ops.reshape(attended, (-1, 6, 8))

    embedded = keras.layers.Dense(8, name="embed")(tokens)
    attended = PaddedQueryAttention(name="attention")(embedded, padding_mask)
    return keras.Model([tokens, padding_mask], keras.layers.Dense(3, name="out")(attended))


@pytest.mark.slow  # Chromium on four backends beside Node's two: about half a minute
@pytest.mark.browser
@pytest.mark.node
def test_attention_with_every_key_masked_is_proven_on_webgl(tmp_path: Path, node_ready: str) -> None:
    """TF.js' webgl backend starts a max at -1e20: scores masked with Keras' -2.4e38 would weigh each
    key of a padded query 1 instead of 1/6. Traced with -1e9, webgl computes what Keras computes."""
    from mnist_tfjs.chromium import find_chromium
    from tests.helpers import require

    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    metadata = export_model(_attention_over_padded_queries(), tmp_path / "web_model", samples_count=32,
                            browser=True, backends=["wasm"])
    assert metadata["proof"]["browser"]["webgl"]["passed"], metadata["proof"]["browser"]["webgl"]
    _rewrite_what(metadata, "attention mask")


@pytest.mark.node
def test_a_dense_layer_fused_with_tanh_is_split_for_wasm(tmp_path: Path, node_ready: str) -> None:
    """TensorFlow fuses MatMul + bias + Tanh (FNet's and BERT-style poolers); TF.js' wasm backend
    cannot fuse tanh, so the activation is split off and both backends compute what Keras computes."""
    import keras

    keras.utils.set_random_seed(0)
    tokens = keras.Input((4, 12), name="tokens")
    first = keras.layers.Lambda(lambda x: x[:, 0, :], name="first_token")(tokens)  # FNet's pooler input
    biased = {"bias_initializer": "random_normal"}  # a zero bias is folded away, and nothing is fused
    pooled = keras.layers.Dense(8, activation="tanh", name="pooler", **biased)(first)
    model = keras.Model(tokens, keras.layers.Dense(3, name="out", **biased)(pooled))
    metadata = _proven_in_node(model, tmp_path)
    split = {rewrite["what"].split(" fused with ")[1].split(" ")[0] for rewrite in metadata["rewrites"]
             if rewrite["class"] == "fused activation"}
    assert split == {"Tanh"}, metadata["rewrites"]


def _rotary_angles() -> Any:
    """Rotary position embeddings' sines and cosines: angles up to 40 radians, as Gemma's and ESM's."""
    import keras

    keras.utils.set_random_seed(0)
    tokens = keras.Input((16, 8), name="tokens")

    class Rotary(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            positions = keras.ops.arange(16, dtype="float32")[:, None] * keras.ops.linspace(0.1, 2.5, 8)[None]
            return keras.ops.cos(positions + x) + keras.ops.sin(positions - x)

    return keras.Model(tokens, Rotary(name="rotary")(tokens))


@pytest.mark.slow  # Chromium on four backends beside Node's two: about half a minute
@pytest.mark.browser
@pytest.mark.node
def test_sines_of_large_angles_are_proven_on_webgl(tmp_path: Path, node_ready: str) -> None:
    """TF.js' webgl backend computes Sin and Cos with the GPU's approximations (2e-4 off at 15
    radians on SwiftShader); traced as polynomials, webgl computes what Keras computes."""
    from mnist_tfjs.chromium import find_chromium
    from tests.helpers import require

    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    metadata = export_model(_rotary_angles(), tmp_path / "web_model", samples_count=32, browser=True,
                            backends=["wasm"])
    assert metadata["proof"]["browser"]["webgl"]["passed"], metadata["proof"]["browser"]["webgl"]
    _rewrite_what(metadata, "sin/cos")


def _grouped_query_repeat() -> Any:
    """Grouped-query attention's keys: one key/value head repeated for two query heads (Llama's
    `ops.repeat(key, 2, axis=2)`)."""
    import keras

    keras.utils.set_random_seed(0)
    tokens = keras.Input((6, 8), name="tokens")

    class RepeatedHeads(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            heads = keras.ops.reshape(x, (-1, 6, 1, 8))
            return keras.ops.reshape(keras.ops.repeat(heads, 2, axis=2), (-1, 6, 16))

    return keras.Model(tokens, keras.layers.Dense(3, name="out")(RepeatedHeads(name="keys")(tokens)))


@pytest.mark.node
def test_repeated_heads_are_traced_as_a_gather_and_proven(tmp_path: Path, node_ready: str) -> None:
    """tf.repeat traces to a rank-5 Tile that loses TF.js webgpu's device in Llama on a software
    adapter (tests/test_hub.py proves Llama there); traced as a gather, it computes what Keras does."""
    metadata = _proven_in_node(_grouped_query_repeat(), tmp_path)
    _rewrite_what(metadata, "repeat")


@pytest.mark.node
def test_wide_tiles_and_repeats_of_run_time_length_are_traced_as_gathers_and_proven(tmp_path: Path,
                                                                                  node_ready: str) -> None:
    """A rank-5 Tile loses TF.js webgpu's device (tests/test_webgpu.py): a tile of rank 5 along two
    axes (T5Gemma tiles its keys so) becomes a gather per axis, and a repeat along an axis whose length
    only the samples give (RoFormerV2's sines) a gather with computed indices; both compute what Keras
    computes."""
    import keras

    class TiledAndRepeated(keras.layers.Layer):
        def call(self, tokens: Any) -> Any:
            length = keras.ops.shape(tokens)[1]
            tiled = keras.ops.tile(keras.ops.reshape(tokens, (-1, 1, length, 1, 6)), (1, 2, 1, 3, 1))
            repeated = keras.ops.repeat(tokens, 2, axis=1)
            weights = keras.ops.arange(6, dtype="float32")
            return (keras.ops.sum(tiled * weights, axis=(1, 3))
                    + keras.ops.reshape(repeated, (-1, length, 12))[..., ::2] * weights)

    keras.utils.set_random_seed(0)
    tokens = keras.Input((None, 6), name="tokens")
    model = keras.Model(tokens, keras.layers.Dense(3, name="out")(TiledAndRepeated(name="mix")(tokens)))
    metadata = _proven_in_node(model, tmp_path)
    classes = {rewrite["class"] for rewrite in metadata["rewrites"]}
    assert {"tile", "repeat"} <= classes, metadata["rewrites"]


@pytest.mark.node
def test_einsums_with_an_ellipsis_are_traced_as_matmul_and_proven(tmp_path: Path, node_ready: str) -> None:
    """TF.js' wasm backend has no Einsum: two-operand einsums are traced as MatMul, those with an
    ellipsis too (RoFormerV2's position outer product "...,d->...d", a batched "b...h,hd->b...d")."""
    import keras

    keras.utils.set_random_seed(0)
    tokens = keras.Input((5, 4), name="tokens")

    class Einsums(keras.layers.Layer):
        def build(self, shape: Any) -> None:
            self.kernel = self.add_weight(shape=(4, 6), initializer="random_normal")
            self.scales = self.add_weight(shape=(3,), initializer="random_normal")

        def call(self, x: Any) -> Any:
            projected = keras.ops.einsum("b...h,hd->b...d", x, self.kernel)  # (batch, 5, 6)
            outer = keras.ops.einsum("...,d->...d", projected, self.scales)  # (batch, 5, 6, 3)
            return keras.ops.reshape(outer, (-1, 90))

    model = keras.Model(tokens, keras.layers.Dense(2, name="out")(Einsums(name="einsums")(tokens)))
    metadata = _proven_in_node(model, tmp_path)
    assert _rewrite_what(metadata, "einsum").startswith("2 einsum(s)")


def test_an_output_that_follows_the_batch_is_refused_in_one_line(tmp_path: Path) -> None:
    """CLIP's logits score every image of a batch against every text: [batch, batch], no row per
    sample. Refused before any conversion, in one line that says what to export instead."""
    import keras

    features = keras.Input((4,), name="features")
    every_pair = keras.layers.Lambda(lambda x: keras.ops.matmul(x, keras.ops.transpose(x)), name="scores")
    scores = every_pair(features)
    with pytest.raises(ExportError) as refusal:
        export_model(keras.Model(features, scores), tmp_path / "web_model", samples_count=8, browser=False)
    message = str(refusal.value)
    assert "not one row per sample" in message and "(1, 1) for a batch of 1" in message, message
    assert "\n" not in message and not (tmp_path / "web_model").exists()
