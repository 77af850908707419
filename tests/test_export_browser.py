"""`export.chromium_proof.prove_in_chromium`: the bundled proof in headless Chromium on wasm, webgl,
webgpu, cpu."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from export.errors import ExportError
from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require
from tests.tiny_export import CLASSIFIERS, OUTPUTS, THRESHOLDS


@pytest.fixture(scope="module")
def generic_export(request: pytest.FixtureRequest) -> Path:
    """The shared tiny generic export, once Chromium and the npm packages are known to be there."""
    from mnist_tfjs.chromium import find_chromium

    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    require((REPO_ROOT / "node_modules" / "@tensorflow" / "tfjs").is_dir(), "npm packages (`npm ci`)")
    return request.getfixturevalue("tiny_generic_export")


def _expected(folder: Path) -> dict[str, np.ndarray]:
    manifest = json.loads((folder / "proof.json").read_text())
    blob = (folder / "proof.bin").read_bytes()
    return {a["name"]: np.frombuffer(blob[a["offset"]:a["offset"] + a["bytes"]], "<f4").reshape(a["shape"])
            for a in manifest["arrays"] if a["role"] == "expected"}


def test_proof_passes_on_every_browser_backend(generic_export: Path) -> None:
    from export.chromium_proof import Pacing, prove_in_chromium

    results = prove_in_chromium(generic_export, pacing=Pacing(timed=True))
    assert list(results) == ["wasm", "webgl", "webgpu", "cpu"]
    require("skipped" not in results["webgpu"], "a WebGPU adapter in headless Chromium")
    adapter = results["webgpu"]["adapter"]
    assert adapter["vendor"] and isinstance(adapter["software"], bool)
    assert adapter["software"] == (adapter["architecture"] == "swiftshader")
    expected = _expected(generic_export)
    for backend, result in results.items():
        assert result["passed"] is True, (backend, result["failures"])
        assert result["failures"] == []
        assert result["samples"] == 64 and result["chromium"][0].isdigit() and result["tfjs"]
        assert result["ms_per_call"] > 0
        assert result["repeated"] >= 1  # the first calls made again gave the same outputs
        assert set(result["outputs"]) == set(OUTPUTS)
        for name, figures in result["outputs"].items():
            scale = max(float(np.abs(expected[name]).max()), 1e-12)
            assert figures["scale"] == pytest.approx(scale, rel=1e-6)
            assert figures["relative_diff"] <= THRESHOLDS["max_relative_diff"]
            assert figures["all_finite"] is True
            assert figures["agreement"] == (1.0 if name in CLASSIFIERS else None)
            assert figures["repeat_diff"] <= 1e-6
        # each backend then timed at batch 1, but not TF.js webgpu on a software adapter
        if backend == "webgpu" and adapter["software"]:
            assert "batch1_ms" not in result
        else:
            assert result["batch1_ms"] > 0 and 3 <= result["batch1_calls"] <= 30


def test_perturbed_expected_outputs_fail_the_proof(generic_export: Path, tmp_path: Path) -> None:
    from export.chromium_proof import prove_in_chromium

    folder = tmp_path / "perturbed"
    shutil.copytree(generic_export, folder)
    manifest = json.loads((folder / "proof.json").read_text())
    blob = bytearray((folder / "proof.bin").read_bytes())
    value = next(a for a in manifest["arrays"] if a["name"] == "value")
    wrong = np.frombuffer(blob[value["offset"]:value["offset"] + value["bytes"]], "<f4") + np.float32(0.01)
    blob[value["offset"]:value["offset"] + value["bytes"]] = wrong.astype("<f4").tobytes()
    (folder / "proof.bin").write_bytes(bytes(blob))

    result = prove_in_chromium(folder, backends=("cpu",))["cpu"]
    assert result["passed"] is False
    assert result["outputs"]["value"]["max_abs_diff"] == pytest.approx(0.01, rel=1e-3)
    assert result["outputs"]["scores"]["relative_diff"] <= THRESHOLDS["max_relative_diff"]
    assert len(result["failures"]) == 1 and result["failures"][0].startswith("value: ")


def test_classifiers_can_be_named_when_there_is_no_metadata(generic_export: Path, tmp_path: Path) -> None:
    from export.chromium_proof import prove_in_chromium

    folder = tmp_path / "staging"
    shutil.copytree(generic_export, folder)
    (folder / "metadata.json").unlink()  # the exporter runs the proof before it writes metadata.json
    unnamed = prove_in_chromium(folder, backends=("cpu",))["cpu"]
    assert unnamed["outputs"]["scores"]["agreement"] is None
    named = prove_in_chromium(folder, backends=("cpu",), classifiers=["scores"])["cpu"]
    assert named["outputs"]["scores"]["agreement"] == 1.0 and named["passed"] is True


def test_missing_chromium_is_one_export_error(generic_export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import export.chromium_page
    from export.chromium_proof import prove_in_chromium

    monkeypatch.setattr(export.chromium_page, "find_chromium", lambda: None)
    with pytest.raises(ExportError, match="Chromium not found"):
        prove_in_chromium(generic_export)


def test_missing_bundle_and_unknown_backend_are_export_errors(generic_export: Path, tmp_path: Path) -> None:
    from export.chromium_proof import prove_in_chromium

    with pytest.raises(ExportError, match="unknown browser backend"):
        prove_in_chromium(generic_export, backends=("tpu",))
    folder = tmp_path / "no-proof"
    shutil.copytree(generic_export, folder)
    (folder / "proof.bin").unlink()
    with pytest.raises(ExportError, match=r"no proof\.bin"):
        prove_in_chromium(folder)


def test_a_backend_that_cannot_run_the_model_is_an_export_error(generic_export: Path, tmp_path: Path) -> None:
    from export.chromium_proof import prove_in_chromium

    folder = tmp_path / "broken"
    shutil.copytree(generic_export, folder)
    shard = next(folder.glob("group1-shard*.bin"))
    shard.write_bytes(shard.read_bytes()[:8])  # truncated weights: the model cannot load
    with pytest.raises(ExportError, match="cpu: "):
        prove_in_chromium(folder, backends=("cpu",))


def test_the_proof_origin_answers_range_requests_in_slices(tmp_path: Path) -> None:
    """A large .tflite reaches the page in ranges: one DevTools message holding a whole ResNet50
    (94 MB) closes the page."""
    from export.chromium_page import _ranged

    path = tmp_path / "model.tflite"
    path.write_bytes(bytes(range(256)) * 4)  # 1,024 bytes
    assert _ranged(path, None) == (200, {}, path.read_bytes())
    status, headers, body = _ranged(path, "bytes=1000-1999")
    assert (status, headers) == (206, {"Content-Range": "bytes 1000-1023/1024"})
    assert body == path.read_bytes()[1000:]
    assert _ranged(path, "bytes=0-9")[2] == bytes(range(10))
