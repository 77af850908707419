"""The apps benchmark section works: its smoke model goes through `python -m export` at the
defaults, and the row it reports holds what the table needs, with figures that make sense.

Timings are not asserted (the machine may be shared); the memory sampler is checked for seeing the
export's child processes, which a sampler of the Python process alone would miss.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnist_tfjs.chromium import find_chromium
from tests.helpers import require

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


@pytest.mark.slow  # a whole `python -m export` with its Node and Chromium proofs, about a minute
@pytest.mark.browser
@pytest.mark.node
def test_smoke_section_exports_and_reports_a_sane_row(node_ready: str, tmp_path: Path) -> None:
    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    from benchmarks import apps
    from benchmarks.app_models import SMOKE_APPS
    from benchmarks.common import Bench
    from benchmarks.report import render_markdown

    work = tmp_path / "work"
    work.mkdir()
    figures = apps.run(Bench(smoke=True, out=tmp_path, work=work, model=None))

    assert figures["models"] == len(SMOKE_APPS) == 1 and figures["passed"] == 1
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
    assert list(work.iterdir()) == [work / "apps"] and not any((work / "apps").glob("*.keras"))

    results = {"date": "2025-01-01T00:00:00Z", "smoke": True, "sections": {"apps": figures},
               "machine": {"cpu": "Test CPU", "logical_cpus": 2, "memory_gib": 8, "os": "Linux",
                           "python": "3.11", "tensorflow": "2.19", "tfjs": "4.22.0"}}
    markdown = render_markdown(results)
    assert "#### Application-size networks through the exporter" in markdown
    assert f"| {row['model']} | " in markdown and "| **PASS** |" in markdown


def test_catalogue_lists_every_application_up_to_30m_parameters_and_refuses_others(tmp_path: Path) -> None:
    import keras

    from benchmarks.__main__ import main
    from benchmarks.app_models import CATALOGUE_GOAL_S, CATALOGUE_NAMES, catalogue

    assert len(CATALOGUE_NAMES) == 23 and all(hasattr(keras.applications, name) for name in CATALOGUE_NAMES)
    rows = catalogue(("ConvNeXtTiny", "MobileNetV3Large"))
    assert [app.name for app in rows] == ["ConvNeXtTiny", "MobileNetV3Large"]
    assert all(app.goal_s == CATALOGUE_GOAL_S for app in rows)
    with pytest.raises(ValueError, match="not in the catalogue: VGG16"):
        catalogue(("VGG16",))
    assert main(["--only", "apps", "--catalogue", "VGG16", "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())


def test_a_failed_row_carries_the_first_divergence_from_the_report_beside_the_folder(tmp_path: Path) -> None:
    from benchmarks.apps import first_divergence

    folder = tmp_path / "net-web"
    assert first_divergence(folder) is None
    first = {"layer": "block5a_se_expand", "layer_class": "Conv2D", "relative_diff": 7.3e-4}
    (tmp_path / "net-web.proof-failure.json").write_text(
        json.dumps({"proof_failures": ["node wasm: ..."], "located": {"first_divergence": first},
                    "locate_error": None}))
    assert first_divergence(folder) == first
