"""WebGPU in the exporter's proof: the zoo's fast models and the digit model, proven on TF.js webgpu
and LiteRT.js webgpu in headless Chromium (on the machine's GPU, or on Chromium's software adapter
where it has none), each with its repeat pass and its adapter named. Under CI=true a browser
without a WebGPU adapter fails these tests instead of skipping them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export import export_model
from export.__main__ import main
from harness.zoo_models import ZOO
from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require

ZOO_OK = [name for name, entry in ZOO.items() if entry.fast and entry.expect == "ok"]
SAMPLES = 16
# What the WebGPU runtimes cannot run on Chromium's software adapter: the proof says so, and the pages
# do not offer them for these models. LiteRT.js 2.5.3's WebGPU delegate fails to compile the zoo's
# recurrent models (its wasm build proves them). TF.js webgpu runs every zoo model: UpSampling2D's
# repeat, a rank-5 Tile that lost its device, is traced as a gather.
LITERT_WEBGPU_CANNOT_RUN = {"embedding_lstm", "lstm_sequence", "simple_rnn", "bidirectional_gru",
                            "masked_gru", "lstm_variable_length"}

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword")]


@pytest.fixture(scope="module")
def webgpu_ready() -> None:
    from mnist_tfjs.chromium import find_chromium

    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    require((REPO_ROOT / "node_modules" / "@tensorflow" / "tfjs-backend-webgpu").is_dir(),
            "npm packages (`npm ci`)")


def _proven_on_webgpu(result: dict[str, Any]) -> dict[str, Any]:
    """The WebGPU RESULT, once the browser is known to have an adapter; it passed and repeated."""
    require("skipped" not in result, f"a WebGPU adapter in headless Chromium ({result.get('skipped')})")
    assert result["passed"] is True, result["failures"]
    assert result["repeated"] >= 1 and result["samples"] >= 1
    assert result["adapter"]["vendor"] and isinstance(result["adapter"]["software"], bool)
    for figures in result["outputs"].values():
        assert figures["repeat_diff"] <= 1e-6 and figures["all_finite"]
    return result


def _bundled_inputs(folder: Path) -> dict[str, np.ndarray]:
    """The proof bundle's input arrays, {input name: array}."""
    manifest = json.loads((folder / "proof.json").read_text())
    blob = (folder / "proof.bin").read_bytes()
    return {a["name"]: np.frombuffer(blob[a["offset"]:a["offset"] + a["bytes"]], "<" + a["dtype"][0] + "4")
            .reshape(a["shape"]).astype(a["dtype"]) for a in manifest["arrays"] if a["role"] == "input"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO_OK)
def test_zoo_model_is_proven_on_tfjs_webgpu_and_litert_webgpu(name: str, tmp_path: Path, webgpu_ready: None,
                                                              node_ready: str) -> None:
    from export.chromium_proof import prove_in_chromium
    from export.litert_proof import litert_proof
    from export.specs import input_specs, output_specs
    from export.tflite import TfliteUnavailable, write_tflite

    model = ZOO[name].build()
    out = tmp_path / "web_model"  # converted with its proof bundle; Node's proof is the zoo test's
    export_model(model, out, samples_count=SAMPLES, verify=False)
    tfjs = prove_in_chromium(out, backends=("webgpu",))["webgpu"]
    assert _proven_on_webgpu(tfjs)["of"] == SAMPLES

    try:
        write_tflite(model, input_specs(model), output_specs(model), _bundled_inputs(out),
                     out / "model.tflite")
    except TfliteUnavailable as exc:  # the zoo's loops that TFLite keeps as while ops
        assert "while" in str(exc).lower() or "tensorlist" in str(exc).lower(), exc
        return
    run = litert_proof(out, accelerators=("webgpu",), time_calls=0)
    require("webgpu" not in run.skipped, "a WebGPU adapter in headless Chromium")
    assert run.errors == {}, run.errors
    if name in LITERT_WEBGPU_CANNOT_RUN:  # said so, and never offered there (see export/litert.py)
        assert run.unavailable["webgpu"] and "webgpu" not in run.results, run.unavailable
        return
    assert run.unavailable == {}, run.unavailable
    _proven_on_webgpu(run.results["webgpu"])


@pytest.mark.slow
def test_digit_model_is_proven_on_both_webgpu_runtimes_and_its_int8_model_too(
        small_model_path: Path, tmp_path: Path, webgpu_ready: None, node_ready: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "web_model"
    code = main(["--model", str(small_model_path), "--out", str(out), "--digits", "1000", "--backend", "wasm",
                 "--litert", "int8"])
    table = capsys.readouterr().out
    assert code == 0, table
    metadata = json.loads((out / "metadata.json").read_text())
    tfjs = _proven_on_webgpu(metadata["proof"]["browser"]["webgpu"])
    litert = _proven_on_webgpu(metadata["litert"]["proof"]["browser"]["webgpu"])
    int8 = metadata["litert_int8"]["proof"]["browser"]["webgpu"]
    assert int8["passed"] is True and int8["repeated"] >= 1 and int8["adapter"] == litert["adapter"]
    for result in (tfjs, litert):
        assert result["outputs"]["probs"]["agreement"] >= 0.9995
    assert "browser webgpu" in table and "LiteRT.js webgpu" in table and "WebGPU adapter:" in table
    runtimes = metadata["runtimes"]
    if tfjs["adapter"]["software"]:  # timings shown and labelled, never the advice's
        assert "(software adapter)" in table
        for name in ("litert", "litert_int8"):
            assert runtimes[name]["software_adapter"] == ["webgpu"] and runtimes[name]["best"] != "webgpu"
        assert "webgpu" not in runtimes["tfjs"]["ms_per_call"]  # timed on a GPU only


def _conv_stack() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    x_in = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="first")(x_in)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="last")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(x_in, keras.layers.Dense(3, name="out")(x))


def _scale_weights(folder: Path, part: str, factor: float) -> None:
    """Multiply the float32 weights named like `part` in the published shards by `factor`."""
    for group in json.loads((folder / "model.json").read_text())["weightsManifest"]:
        shard = folder / group["paths"][0]
        data, offset = bytearray(shard.read_bytes()), 0
        for weight in group["weights"]:
            size = int(np.prod(weight["shape"])) * 4
            if part in weight["name"]:
                values = np.frombuffer(bytes(data[offset:offset + size]), "<f4") * np.float32(factor)
                data[offset:offset + size] = values.astype("<f4").tobytes()
            offset += size
        shard.write_bytes(bytes(data))


@pytest.mark.slow
def test_a_divergence_on_webgpu_is_located_on_webgpu_in_chromium(tmp_path: Path, webgpu_ready: None,
                                                                 node_ready: str) -> None:
    """A browser WebGPU failure is located with WebGPU's own intermediate tensors, fetched in Chromium:
    a weight of layer 'last' off by 1% is named, its inputs agreeing."""
    from export.locate import FailedProof, explain_failure
    from export.reference import keras_outputs
    from export.specs import input_specs, output_specs

    model = _conv_stack()
    out = tmp_path / "web_model"
    export_model(model, out, samples_count=8, backends=("wasm",), browser=False)
    _scale_weights(out, "/last_", 1.01)
    arrays = _bundled_inputs(out)
    expected = keras_outputs(model, input_specs(model), output_specs(model), arrays)
    failed = FailedProof(["browser webgpu: out: max |Δ| 1e-2 of the output's scale > 1e-4"],
                         ("browser", "webgpu"), 1e-4)
    clause = explain_failure(model, out, tmp_path / "refused", arrays, expected, failed)
    report = json.loads((tmp_path / "refused.proof-failure.json").read_text())
    require(report["locate_error"] is None or "adapter" not in report["locate_error"],
            "a WebGPU adapter in headless Chromium")
    assert "first divergence at layer 'last'" in clause and "on browser webgpu" in clause, report
    assert report["located"]["backend"] == "browser webgpu"
    assert report["located"]["first_divergence"]["inputs_relative_diff"] < 1e-4


def _grouped_query_block() -> Any:
    """The attention patterns of keras-hub's Gemma family that each lost TF.js webgpu's device on
    Chromium's software adapter ("A valid external Instance reference no longer exists"): scores
    [B, 1, 2, T, T] masked by a [B, 1, 1, 1, T] mask (Gemma: a rank-5 where whose broadcast was a
    rank-5 Tile), keys transposed and shared by the two query heads (Gemma4: a product reading a
    rank-5 Tile), values tiled at rank 5 (T5Gemma's `ops.tile`), and a repeat along an axis of run-time
    length (RoFormerV2's sines)."""
    import keras

    class GroupedQuery(keras.layers.Layer):
        def call(self, tokens: Any, mask: Any) -> Any:
            length = keras.ops.shape(tokens)[1]
            queries = keras.ops.transpose(keras.ops.reshape(tokens, (-1, length, 1, 2, 4)), (0, 2, 3, 1, 4))
            keys = keras.ops.transpose(keras.ops.reshape(tokens[..., :4], (-1, length, 1, 4)), (0, 2, 3, 1))
            scores = keras.ops.matmul(queries, keys[:, :, None])
            keep = keras.ops.cast(mask, "bool")[:, None, None, None, :]
            weights = keras.layers.Softmax(name="scores")(scores, mask=keep)
            values = keras.ops.reshape(tokens[..., :4], (-1, 1, 1, length, 4))
            values = keras.ops.tile(values, (1, 1, 2, 1, 1))
            attended = keras.ops.sum(keras.ops.matmul(weights, values), axis=(1, 2))
            doubled = keras.ops.repeat(keras.ops.reshape(tokens, (-1, length, 2, 4)), 2, axis=1)
            return attended + keras.ops.mean(keras.ops.reshape(doubled, (-1, 2, length, 8)), axis=1)[..., :4]

    keras.utils.set_random_seed(0)
    tokens = keras.Input((None, 8), name="tokens")
    mask = keras.Input((None,), dtype="int32", name="padding_mask")
    attended = GroupedQuery(name="attention")(tokens, mask)
    return keras.Model([tokens, mask], keras.layers.Dense(3, name="out")(attended))


@pytest.mark.slow
def test_grouped_query_attention_as_the_gemma_family_computes_it_is_proven_on_tfjs_webgpu(
        tmp_path: Path, webgpu_ready: None, node_ready: str) -> None:
    """Each pattern of `_grouped_query_block` alone made TF.js webgpu "cannot run" on Chromium's
    software adapter; traced without a Tile of rank 5, the block is proven there."""
    from export.chromium_proof import prove_in_chromium

    out = tmp_path / "web_model"
    metadata = export_model(_grouped_query_block(), out, samples_count=SAMPLES, browser=False)
    classes = {rewrite["class"] for rewrite in metadata["rewrites"]}
    assert {"where", "matmul", "tile", "repeat"} <= classes, metadata["rewrites"]
    result = prove_in_chromium(out, backends=("webgpu",))["webgpu"]
    assert "unavailable" not in result, result["unavailable"]
    assert _proven_on_webgpu(result)["of"] == SAMPLES
