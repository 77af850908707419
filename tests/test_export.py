"""`python -m export` on MNIST digit models: TF.js parity on real digits, quantization, the proof
bundle, atomic publishing, user errors. (Any-model exports: tests/test_export_models.py.)"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import export.node_proof
import export.pipeline
import export.publish
from export import ExportError, VerificationError, export_model
from export.__main__ import main
from export.node_proof import predict_with_tfjs
from export.rules import MNIST_THRESHOLDS
from export.samples import write_bundle

REPO_ROOT = Path(__file__).resolve().parent.parent
PARITY_DIGITS = 1000
QUANTIZED_DIGITS = 1000

# Keras 3.15 with NumPy 2.1 warns from its own internals on every predict.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _leftovers(out: Path) -> list[str]:
    """Hidden staging/backup folders an export left beside `out`."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _run_main(args: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(args)
    return code, stdout.getvalue(), stderr.getvalue()


def _tfjs_probs(model_dir: Path, images: np.ndarray, probs_like: np.ndarray, tmp: Path,
                backend: str = "wasm") -> np.ndarray:
    """TF.js' probabilities for `images`, through a bundle this test writes itself."""
    tmp.mkdir(parents=True, exist_ok=True)
    write_bundle(tmp, {"image": images.astype(np.float32)}, {"probs": probs_like.astype(np.float32)},
                 {"probs": True}, {}, len(images))
    _, values = predict_with_tfjs(model_dir, tmp, (backend,),
                                  outputs=[("probs", "float32", probs_like.shape)])[backend]
    assert values is not None
    return values["probs"]


@pytest.fixture(scope="module")
def digits(mnist_test: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 real MNIST test digits and labels."""
    images, labels = mnist_test
    return images[:PARITY_DIGITS], labels[:PARITY_DIGITS]


@pytest.fixture(scope="module")
def native_all(small_model_probs: np.ndarray) -> np.ndarray:
    """Keras' predictions of `small_model_path` for all 10,000 test digits (the shared fixture)."""
    return small_model_probs


@pytest.fixture(scope="module")
def native_probs(native_all: np.ndarray) -> np.ndarray:
    return native_all[:PARITY_DIGITS]


@pytest.fixture(scope="module")
def full_export(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory,
                node_ready: str) -> tuple[Path, str]:
    """The one export on all 10,000 test digits: the command line's defaults (each backend on as
    many of them as its time budget allows)."""
    out = tmp_path_factory.mktemp("export-full") / "web_model"
    code, stdout, stderr = _run_main(["--model", str(small_model_path), "--out", str(out), "--no-browser"])
    assert code == 0, stderr
    return out, stdout


@pytest.fixture(scope="module")
def quantized(small_model_path: Path, tmp_path_factory: pytest.TempPathFactory,
              node_ready: str) -> dict[str, tuple[Path, str]]:
    """float16 and uint8 exports proven on 1,000 digits (wasm only). Returns {quantize: (folder, stdout)}."""
    exports = {}
    for quantize in ("float16", "uint8"):
        out = tmp_path_factory.mktemp(f"export-{quantize}") / "web_model"
        code, stdout, stderr = _run_main(["--model", str(small_model_path), "--out", str(out),
                                          "--quantize", quantize, "--digits", str(QUANTIZED_DIGITS),
                                          "--backend", "wasm", "--no-browser"])
        assert code == 0, stderr
        exports[quantize] = (out, stdout)
    return exports


# --- parity ----------------------------------------------------------------------------------


@pytest.mark.node
def test_unquantized_tfjs_matches_keras(exported_model_dir: Path, native_probs: np.ndarray,
                                        digits: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    probs = _tfjs_probs(exported_model_dir, digits[0], native_probs, tmp_path)
    assert probs.shape == (PARITY_DIGITS, 10)
    np.testing.assert_array_equal(probs.argmax(axis=1), native_probs.argmax(axis=1))
    max_diff = float(np.abs(probs - native_probs).max())
    assert max_diff <= 1e-4

    metadata = json.loads((exported_model_dir / "metadata.json").read_text())
    assert metadata["verified"] is True and metadata["warning"] is None
    assert metadata["kind"] == "mnist-digits"
    proof = metadata["proof"]
    assert proof["passed"] is True and proof["samples"] == PARITY_DIGITS and proof["source"] == "mnist-test"
    assert set(proof["node"]) == {"wasm", "cpu"}
    for result in proof["node"].values():
        figures = result["outputs"]["probs"]
        assert result["passed"] is True and figures["agreement"] == 1.0
    # the exporter's own wasm figure is the one this test re-measured (backends differ in rounding)
    wasm_diff = proof["node"]["wasm"]["outputs"]["probs"]["max_abs_diff"]
    assert wasm_diff == pytest.approx(max_diff, rel=0.5, abs=1e-7)
    native_accuracy = float((native_probs.argmax(axis=1) == digits[1]).mean())
    assert metadata["mnist"]["accuracy"]["native"] == pytest.approx(native_accuracy)
    assert metadata["mnist"]["accuracy"]["exported"] == pytest.approx(native_accuracy)
    assert len(np.unique(native_probs.argmax(axis=1))) >= 5  # agreement is not about one constant class


@pytest.mark.node
def test_published_folder_is_a_graph_model_with_honest_metadata(exported_model_dir: Path,
                                                                 small_model_path: Path,
                                                                 digits: tuple[np.ndarray, np.ndarray],
                                                                 native_probs: np.ndarray) -> None:
    model_json = json.loads((exported_model_dir / "model.json").read_text())
    assert model_json["format"] == "graph-model"
    assert list(model_json["signature"]["inputs"]) == ["image"]
    assert model_json["signature"]["inputs"]["image"]["dtype"] == "DT_FLOAT"
    assert list(model_json["signature"]["outputs"]) == ["probs"]
    names = {p.name for p in exported_model_dir.iterdir()}
    shards = {path for group in model_json["weightsManifest"] for path in group["paths"]}
    assert names == {"model.json", "metadata.json", "proof.json", "proof.bin", *shards}
    assert not _leftovers(exported_model_dir)

    metadata = json.loads((exported_model_dir / "metadata.json").read_text())
    assert metadata["schema"] == 2 and metadata["format"] == "tfjs-graph-model"
    actual = _hashes(exported_model_dir)
    assert {name: entry["sha256"] for name, entry in metadata["files"].items()} == {
        name: digest for name, digest in actual.items() if name != "metadata.json"}
    sizes = [(exported_model_dir / name).stat().st_size for name in ["model.json", *shards]]
    assert metadata["download_bytes"] == sum(sizes)
    assert metadata["source"]["sha256"] == hashlib.sha256(small_model_path.read_bytes()).hexdigest()
    assert metadata["inputs"] == [{"name": "image", "dtype": "float32", "shape": [None, 28, 28, 1]}]
    assert metadata["outputs"] == [{"name": "probs", "dtype": "float32", "shape": [None, 10],
                                    "classifier": True}]
    assert metadata["rewrites"] == []
    assert metadata["mnist"]["labels"] == [str(d) for d in range(10)]
    assert metadata["mnist"]["preprocessing"]["fit_box"] == 20
    assert metadata["mnist"]["preprocessing"]["field"] == 28
    assert metadata["quantization"] == "none"
    assert metadata["proof"]["thresholds"] == MNIST_THRESHOLDS["none"]
    assert metadata["proof"]["browser"] is None  # the fixture exports without the browser proof
    import keras
    import tensorflow as tf

    assert metadata["versions"]["tensorflow"] == tf.__version__
    assert metadata["versions"]["keras"] == keras.__version__
    assert metadata["versions"]["tensorflowjs_converter"] == "4.22.0"

    # the bundle: the first 256 digits and Keras' probabilities for them, ≤ 1 MB
    bundle = json.loads((exported_model_dir / "proof.json").read_text())
    raw = (exported_model_dir / "proof.bin").read_bytes()
    assert len(raw) <= 1_000_000 and bundle["samples"] == metadata["proof"]["bundled"] == 256
    arrays = {a["name"]: np.frombuffer(raw[a["offset"]:a["offset"] + a["bytes"]], "<f4").reshape(a["shape"])
              for a in bundle["arrays"]}
    np.testing.assert_array_equal(arrays["image"], digits[0][:256])
    np.testing.assert_allclose(arrays["probs"], native_probs[:256], atol=1e-6)


@pytest.mark.slow  # the export at the CLI's defaults: all 10,000 digits, each backend's whole time budget
@pytest.mark.node
def test_trained_model_full_test_set_parity(full_export: tuple[Path, str], native_all: np.ndarray,
                                            mnist_test: tuple[np.ndarray, np.ndarray]) -> None:
    out, stdout = full_export
    metadata = json.loads((out / "metadata.json").read_text())
    accuracy = float((native_all.argmax(axis=1) == mnist_test[1]).mean())
    assert accuracy > 0.9
    assert metadata["proof"]["samples"] == 10_000 and metadata["proof"]["passed"] is True
    assert metadata["proof"]["node"]["wasm"]["samples"] == 10_000  # the fast backend sees every digit
    for backend in ("wasm", "cpu"):
        result = metadata["proof"]["node"][backend]
        count = result["samples"]
        assert result["of"] == 10_000 and result["passed"] is True
        assert count == 10_000 or (result["stopped_by"] == "time budget" and count >= 2)
        assert result["outputs"]["probs"]["agreement"] == 1.0
        assert result["outputs"]["probs"]["max_abs_diff"] <= 1e-4
        native = float((native_all[:count].argmax(axis=1) == mnist_test[1][:count]).mean())
        assert result["accuracy"] == pytest.approx(native)
    assert metadata["mnist"]["accuracy"] == {"digits": 10_000, "native": pytest.approx(accuracy),
                                             "exported": pytest.approx(accuracy)}
    assert "node wasm" in stdout and "node cpu" in stdout and "PASS" in stdout
    assert "next: python -m web" in stdout


@pytest.mark.node
@pytest.mark.parametrize("quantize", ["float16", "uint8"])
def test_quantized_export_within_thresholds(quantize: str, quantized: dict[str, tuple[Path, str]],
                                            exported_model_dir: Path, native_probs: np.ndarray,
                                            digits: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    out, stdout = quantized[quantize]
    probs = _tfjs_probs(out, digits[0], native_probs, tmp_path)
    labels = digits[1]
    native_top, tfjs_top = native_probs.argmax(axis=1), probs.argmax(axis=1)
    change_pp = 100.0 * (int((tfjs_top == labels).sum()) - int((native_top == labels).sum())) / len(labels)
    limits = MNIST_THRESHOLDS[quantize]
    if quantize == "float16":
        assert (native_top == tfjs_top).mean() >= limits["min_agreement"]
        assert abs(change_pp) <= limits["max_accuracy_change_pp"] + 1e-9
    else:
        assert -change_pp <= limits["max_accuracy_drop_pp"] + 1e-9
    assert 0 < float(np.abs(probs - native_probs).max()) < 0.5  # quantized, yet close

    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["quantization"] == quantize and metadata["proof"]["passed"] is True
    assert metadata["proof"]["samples"] == QUANTIZED_DIGITS and list(metadata["proof"]["node"]) == ["wasm"]
    assert metadata["proof"]["thresholds"] == limits
    exported = metadata["mnist"]["accuracy"]["exported"]
    assert exported == pytest.approx(float((tfjs_top == labels).mean()))
    model_json = json.loads((out / "model.json").read_text())
    weights = [w for group in model_json["weightsManifest"] for w in group["weights"]]
    dtypes = {w.get("quantization", {}).get("dtype") for w in weights}
    assert quantize in dtypes
    full = json.loads((exported_model_dir / "metadata.json").read_text())["download_bytes"]
    assert metadata["download_bytes"] < (0.6 if quantize == "float16" else 0.35) * full
    assert "PASS" in stdout and "node wasm" in stdout


# --- verification failures and atomic publishing -----------------------------------------------


@pytest.fixture
def published(exported_model_dir: Path, tmp_path: Path) -> Path:
    """A copy of a good export, standing in for the model the web page currently serves."""
    out = tmp_path / "site" / "web_model"
    shutil.copytree(exported_model_dir, out)
    return out


def _largest_float_weight(model_json: Path) -> tuple[int, int]:
    """Byte range, in the (single) shard, of the largest float32 weight."""
    spans, offset = [], 0
    for group in json.loads(model_json.read_text())["weightsManifest"]:
        for weight in group["weights"]:
            size = int(np.prod(weight["shape"])) * 4
            if weight["dtype"] == "float32":
                spans.append((size, offset))
            offset += size
    size, start = max(spans)
    return start, start + size


def _corrupting(damage: str):
    real = export.pipeline.convert_to_graph_model

    def convert(model, out_dir: Path, quantize: str = "none", verbose: bool = False, **options) -> list:
        rewrites = real(model, out_dir, quantize, verbose, **options)
        shard = next(out_dir.glob("*.bin"))
        data = bytearray(shard.read_bytes())
        if damage == "zeroed":  # the largest float weight: wrong numbers, not a graph that cannot run
            start, end = _largest_float_weight(out_dir / "model.json")
            data[start:end] = bytes(end - start)
        else:
            del data[len(data) // 2:]
        shard.write_bytes(bytes(data))
        return rewrites

    return convert


@pytest.mark.node
@pytest.mark.parametrize("damage", ["zeroed", "truncated"])
def test_corrupt_shard_is_caught_and_nothing_is_published(damage: str, published: Path,
                                                          small_model_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    before = _hashes(published)
    monkeypatch.setattr(export.pipeline, "convert_to_graph_model", _corrupting(damage))
    code, stdout, stderr = _run_main(["--model", str(small_model_path), "--out", str(published),
                                      "--digits", "300", "--backend", "wasm", "--no-browser"])
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert ("parity proof failed" if damage == "zeroed" else "TF.js could not run") in lines[0]
    if damage == "zeroed":
        assert "FAIL" in stdout
    assert _hashes(published) == before
    assert not _leftovers(published)


def test_interrupt_during_conversion_leaves_published_model(published: Path, small_model_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    before = _hashes(published)
    monkeypatch.setattr(export.pipeline, "convert_to_graph_model", interrupted)
    code, _, stderr = _run_main(["--model", str(small_model_path), "--out", str(published),
                                 "--digits", "10", "--no-verify"])
    assert code == 130 and "nothing published" in stderr
    assert _hashes(published) == before
    assert not _leftovers(published)


@pytest.mark.node
def test_no_verify_says_unverified(small_model_path: Path, tmp_path: Path) -> None:
    metadata = export_model(small_model_path, tmp_path / "web_model", verify=False, digits=200, browser=False)
    assert metadata["verified"] is False and metadata["proof"]["node"] is None
    assert metadata["proof"]["passed"] is None
    assert "UNVERIFIED" in metadata["warning"]
    on_disk = json.loads((tmp_path / "web_model" / "metadata.json").read_text())
    assert on_disk["verified"] is False and "UNVERIFIED" in on_disk["warning"]
    assert (tmp_path / "web_model" / "model.json").is_file()


def _folder(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_swap_replaces_the_old_model_completely(tmp_path: Path, exchange: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if not exchange:
        monkeypatch.setattr(export.publish, "_exchange", lambda _a, _b: False)
    out = _folder(tmp_path / "web_model", {"model.json": "old", "old-shard.bin": "x"})
    staging = _folder(tmp_path / ".web_model.staging-1-x", {"model.json": "new", "metadata.json": "{}"})
    export.publish.swap_into_place(staging, out)
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", "model.json"]
    assert (out / "model.json").read_text() == "new"
    assert not _leftovers(out)


def test_recover_restores_a_model_lost_between_two_renames(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "web_model"
    _folder(tmp_path / f".web_model.previous-{dead.pid}-ab12", {"model.json": "old"})
    _folder(tmp_path / f".web_model.staging-{dead.pid}-cd34", {"model.json": "half"})
    _folder(tmp_path / f".web_model.staging-{os.getppid()}-ef56", {"model.json": "live"})
    export.publish.recover(out)
    assert (out / "model.json").read_text() == "old"
    assert _leftovers(out) == [f".web_model.staging-{os.getppid()}-ef56"]  # a live export is left alone


# --- user errors: one line, no traceback, nothing published -----------------------------------


def _save(model, path: Path) -> Path:
    model.save(path)
    return path


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files export must refuse, and digit-shaped models that are not digit classifiers."""
    import keras

    folder = tmp_path_factory.mktemp("bad-models")
    keras.utils.set_random_seed(0)

    def classifier(shape: tuple[int, ...], classes: int, activation: str = "softmax") -> keras.Model:
        return keras.Sequential([keras.Input(shape, name="pixels"), keras.layers.Flatten(),
                                 keras.layers.Dense(classes, activation=activation, name="scores")])

    (folder / "text.keras").write_text("not a model")
    with zipfile.ZipFile(folder / "zip.keras", "w") as archive:
        archive.writestr("readme.txt", "a zip, but no Keras model inside")
    return {
        "text": folder / "text.keras",
        "zip": folder / "zip.keras",
        "logits": _save(classifier((28, 28, 1), 10, activation="linear"), folder / "logits.keras"),
        "five": _save(classifier((28, 28, 1), 5), folder / "five.keras"),
    }


@pytest.mark.parametrize(("case", "expected"), [
    ("missing", "not found"),
    ("folder", "is a folder"),
    ("text", "not a Keras model file"),
    ("zip", "not a loadable Keras model"),
])
def test_bad_model_is_refused(case: str, expected: str, bad_models: dict[str, Path], tmp_path: Path) -> None:
    model = {"missing": tmp_path / "nope.keras", "folder": tmp_path}.get(case) or bad_models[case]
    out = tmp_path / "site" / "web_model"
    code, stdout, stderr = _run_main(["--model", str(model), "--out", str(out), "--no-verify",
                                      "--digits", "50"])
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], stderr
    assert "Traceback" not in stderr + stdout
    assert not out.exists()
    assert not (out.parent.exists() and _leftovers(out))


@pytest.mark.node
@pytest.mark.parametrize("case", ["logits", "five"])
def test_digit_shaped_non_classifier_exports_as_generic(case: str, bad_models: dict[str, Path],
                                                        tmp_path: Path) -> None:
    """28x28x1 in but not 10 probabilities out: a generic model, proven on generated samples."""
    out = tmp_path / "web_model"
    code, stdout, stderr = _run_main(["--model", str(bad_models[case]), "--out", str(out), "--digits", "50",
                                      "--samples-count", "16", "--backend", "wasm", "--no-browser"])
    assert code == 0, stderr
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["kind"] == "generic" and "mnist" not in metadata
    assert metadata["proof"]["source"] == "generated" and metadata["proof"]["samples"] == 16
    assert metadata["outputs"][0]["classifier"] is (case == "five")
    assert "next: python -m web" not in stdout


@pytest.mark.parametrize(("case", "expected"), [
    ("model-folder", "folder holding the source model"),
    ("under-a-file", "is a file, not a folder"),
    ("out-is-file", "is a file"),
    ("foreign-folder", "not an exported model"),
])
def test_bad_out_is_refused(case: str, expected: str, small_model_path: Path, tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x")
    _folder(tmp_path / "photos", {"holiday.jpg": "x"})
    out = {"model-folder": small_model_path.parent, "under-a-file": tmp_path / "plain-file" / "web_model",
           "out-is-file": tmp_path / "plain-file", "foreign-folder": tmp_path / "photos"}[case]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, _, stderr = _run_main(["--model", str(small_model_path), "--out", str(out), "--no-verify"])
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert small_model_path.is_file()


def test_missing_node_says_how_to_install(small_model_path: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExportError, match=r"Node\.js not found.*npm ci") as caught:
        export_model(small_model_path, tmp_path / "web_model", digits=10, browser=False)
    assert not isinstance(caught.value, VerificationError)
    assert not (tmp_path / "web_model").exists()


@pytest.mark.node
def test_missing_npm_packages_say_npm_ci(small_model_path: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    lonely = tmp_path / "elsewhere" / "node_proof.js"  # no node_modules above it
    lonely.parent.mkdir()
    shutil.copy(export.node_proof.SCRIPT, lonely)
    shutil.copy(export.node_proof.SCRIPT.parent / "proof.js", lonely.parent)  # the script's own module
    monkeypatch.setattr(export.node_proof, "SCRIPT", lonely)
    monkeypatch.setattr(export.node_proof, "node_modules", lambda: lonely.parent)  # and none on NODE_PATH
    monkeypatch.chdir(tmp_path)
    code, _, stderr = _run_main(["--model", str(small_model_path), "--out", str(tmp_path / "web_model")])
    assert code == 2
    assert stderr.count("\n") == 1 and "@tensorflow/tfjs" in stderr and "npm ci" in stderr
    assert not (tmp_path / "web_model").exists()


def test_command_line_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "export", "--model", str(tmp_path / "missing.keras"),
                           "--out", str(tmp_path / "web_model")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: model file")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_every_export_option_is_a_flag_with_its_default_and_a_python_keyword(tmp_path: Path) -> None:
    """Options are declared once (export/options.py): the command line's flags and defaults and
    export_model's keywords all come from ExportOptions, so they cannot drift apart."""
    from dataclasses import fields

    from export.__main__ import parse_args
    from export.options import ExportOptions

    assert ExportOptions.from_arguments(parse_args([])) == ExportOptions()
    flags = parse_args(["--samples-count", "7", "--backend", "cpu", "--no-browser", "--litert", "int8",
                        "--allow-float-fallback", "--no-verify", "--quantize", "float16"])
    options = ExportOptions.from_arguments(flags)
    assert (options.samples_count, options.backends, options.browser, options.litert, options.int8,
            options.allow_float_fallback, options.verify, options.quantize) == (
        7, ("cpu",), False, True, True, True, False, "float16")
    helps = {f.name: f.metadata["help"] for f in fields(ExportOptions)}
    assert all(helps.values()), "every option says what it does"
    with pytest.raises(ExportError, match="no option 'sample_count'"):
        export_model("missing.keras", tmp_path / "out", sample_count=3)
