"""The apps benchmark section works (run as a user runs it, `python -m benchmarks --smoke --only apps`):
its smoke model goes through `python -m export` at the defaults, and the row it reports holds what the
table needs, with figures that make sense.

Timings are not asserted (the machine may be shared); the memory sampler is checked for seeing the
export's child processes, which a sampler of the Python process alone would miss.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mnist_tfjs.chromium import find_chromium
from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


@pytest.mark.slow  # a whole `python -m export` with its Node and Chromium proofs, about a minute
@pytest.mark.browser
@pytest.mark.node
def test_smoke_section_exports_and_reports_a_sane_row(node_ready: str, tmp_path: Path) -> None:
    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    # the suite's temporary folder, which must hold no model file afterwards; a short path (Chromium's
    # sockets live there too, and a Unix socket path has at most 107 characters)
    work = Path(tempfile.mkdtemp(prefix="apps-"))
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--only", "apps", "--out", str(tmp_path)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False,
                            env={**os.environ, "TMPDIR": str(work)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads((tmp_path / "benchmarks.json").read_text())["sections"]["apps"]

    assert figures["models"] == 1, figures  # --smoke: one small network
    assert figures["passed"] == 1, figures["rows"][0].get("error")
    row = figures["rows"][0]
    assert row["exit_code"] == 0 and row["verdict"] == "PASS" and row["error"] is None, row
    # every backend of the Node and Chromium proofs compared some samples, at most all of them
    assert {"node wasm", "node cpu", "browser wasm"} <= set(row["samples"]), row["samples"]
    total = row["proof"]["samples"]
    for backend, count in row["samples"].items():
        assert isinstance(count, int) and 0 < count <= total, (backend, count)
    # the sampler saw the tree: Python plus Node.js (and Chromium), not just the export process
    assert row["most_processes"] >= 3 and row["memory_samples"] >= 5
    assert 0 < row["peak_process_bytes"] < row["peak_tree_bytes"] < 24e9
    assert 0 < row["peak_tree_pss_bytes"] <= row["peak_tree_bytes"]
    # published: shards hold the float32 weights
    assert row["shards"] >= 1 and 0 < row["largest_shard_bytes"] <= row["download_bytes"]
    assert row["download_bytes"] >= 3 * row["parameters"]  # float32, BatchNorm folded into the convolutions
    assert row["export_s"] >= row["exporter_reported_s"] > 0
    assert row["meets_goal"] == (not row["goal_misses"])
    # TF.js webgpu proved it too; LiteRT.js is the catalogues' (--litert), not the defaults'
    require(row["webgpu"]["TF.js"] != "no adapter", "a WebGPU adapter in headless Chromium")
    assert row["webgpu"]["TF.js"].startswith("PASS (") and row["webgpu"]["LiteRT.js"] is None, row["webgpu"]
    assert not list(work.rglob("*.keras")), "no model file is left behind"
    shutil.rmtree(work, ignore_errors=True)

    markdown = (tmp_path / "benchmarks.md").read_text()
    assert "#### Application-size networks through the exporter" in markdown
    assert f"| {row['model']} | " in markdown and "| **PASS** |" in markdown


def test_catalogue_names_every_application_up_to_30m_parameters_and_refuses_others(tmp_path: Path) -> None:
    """`--catalogue` with a name outside it is a one-line error listing the catalogue (exit 2, nothing
    written), and every name it lists is a keras.applications architecture of at most 30M parameters."""
    import keras

    result = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "apps", "--catalogue", "VGG16",
                             "--out", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "VGG16 not in the catalogue" in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())
    names = result.stderr.rsplit("choose from ", 1)[1].strip().split(",")
    expected = {"Xception", "ResNet50", "ResNet50V2", "InceptionV3", "MobileNet", "MobileNetV2",
                "MobileNetV3Small", "MobileNetV3Large", "DenseNet121", "DenseNet169", "DenseNet201",
                "NASNetMobile", *(f"EfficientNetB{i}" for i in range(5)),
                *(f"EfficientNetV2B{i}" for i in range(4)), "EfficientNetV2S", "ConvNeXtTiny"}
    assert set(names) == expected and all(hasattr(keras.applications, name) for name in names)


@pytest.mark.slow  # one keras-hub backbone through the export command with its Chromium proof (smoke budgets)
@pytest.mark.node
def test_the_hub_catalogue_exports_a_backbone_and_rows_one_that_does_not_build(tmp_path: Path,
                                                                                node_ready: str) -> None:
    import importlib.util

    require(importlib.util.find_spec("keras_hub") is not None, "keras-hub (the test extra)")
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--only", "apps", "--hub",
               "BertBackbone,FeaturePyramidBackbone", "--out", str(tmp_path)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads((tmp_path / "benchmarks.json").read_text())["sections"]["apps"]
    rows = {row["model"]: row for row in figures["rows"]}
    assert figures["hub"] and rows["BertBackbone"]["verdict"] == "PASS"
    assert 0 < rows["BertBackbone"]["parameters"] <= 10_000_000
    unbuilt = rows["FeaturePyramidBackbone"]
    assert unbuilt["verdict"] == "not built" and "abstract base class" in unbuilt["error"]
    # --litert: both WebGPU runtimes prove each backbone of the catalogue
    require(rows["BertBackbone"]["webgpu"]["TF.js"] != "no adapter", "a WebGPU adapter in headless Chromium")
    assert rows["BertBackbone"]["litert"] == "proven", rows["BertBackbone"]["webgpu"]
    webgpu = rows["BertBackbone"]["webgpu"]  # LiteRT.js' WebGPU delegate may not compile it: said so
    assert webgpu["TF.js"].startswith("PASS (") and (webgpu["LiteRT.js"] == "cannot run"
                                                     or webgpu["LiteRT.js"].startswith("PASS (")), webgpu
