"""The LiteRT.js target: model.tflite converted for batch 1, proven in headless Chromium through
LiteRT.js by the shared proof runner, left out when it disagrees with Keras (the TF.js model still
published), the runtime advice in metadata.json and the CLI table, and its break-even arithmetic."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.errors import ExportError
from export.litert import TfjsProven
from export.options import LitertJob
from export.runtime_advice import RuntimeFigures, advice, break_even_calls, download_s
from tests.helpers import require
from tests.tiny_export import CLASSIFIERS, INPUT, OUTPUTS, THRESHOLDS

# What the TF.js proof measured, as the pipeline hands it to the LiteRT.js step (export/pipeline.py)
TFJS_PROVEN = TfjsProven({"max_relative_diff": 1e-7, "agreement": 1.0},
                         {"wasm": 0.5, "webgl": 2.0, "cpu": 1.0}, {"wasm": 30, "webgl": 30, "cpu": 30})


@pytest.fixture(scope="module")

def chromium_ready() -> None:
    from mnist_tfjs.chromium import find_chromium
    from mnist_tfjs.paths import NODE_MODULES

    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    require((NODE_MODULES / "@litertjs" / "core").is_dir(), "npm packages (`npm ci`)")


PROVE = LitertJob(wanted=True, verify=True, browser=True, budget_s=None)


def _reference(folder: Path) -> tuple[Any, list[Any], list[Any], Any]:
    """The tiny model, its specs and the Reference of the proof its hand-built export bundles."""
    from export.prove import Reference
    from export.samples import Samples
    from export.specs import input_specs, output_specs
    from tests.tiny_export import tiny_model

    model = tiny_model()
    manifest = json.loads((folder / "proof.json").read_text())
    blob = (folder / "proof.bin").read_bytes()
    arrays = {a["name"]: np.frombuffer(blob[a["offset"]:a["offset"] + a["bytes"]], "<f4").reshape(a["shape"])
              for a in manifest["arrays"]}
    samples = Samples("generic", {INPUT: arrays[INPUT]}, {"source": "generated"})
    expected = {name: arrays[name] for name in OUTPUTS}
    inputs, outputs = input_specs(model), output_specs(model)
    reference = Reference(samples, expected, outputs, {name: name in CLASSIFIERS for name in OUTPUTS},
                          THRESHOLDS)
    return model, inputs, outputs, reference


def _staging(tiny_generic_export: Path, tmp_path: Path) -> Path:
    """A staging folder as the pipeline has it before the LiteRT step: the proven TF.js model."""
    staging = tmp_path / "staging"
    shutil.copytree(tiny_generic_export, staging)
    (staging / "metadata.json").unlink()
    return staging


def _with_shifted_weights(write: Any) -> Any:
    """The real converter, then the "scores" layer's kernel in the written file negated: a valid
    .tflite whose outputs disagree with Keras (the seam is export.litert.write_tflite)."""
    def write_and_damage(model: Any, inputs: Any, outputs: Any, samples: Any, path: Path,
                         *options: Any) -> Any:
        tflite = write(model, inputs, outputs, samples, path, *options)
        kernel = np.ascontiguousarray(model.get_layer("scores").get_weights()[0].T, "<f4")
        data = path.read_bytes()
        at = data.find(kernel.tobytes())
        assert at > 0, "the kernel is stored as kernel.T in the .tflite"
        path.write_bytes(data[:at] + (-kernel).astype("<f4").tobytes() + data[at + kernel.nbytes:])
        return tflite

    return write_and_damage


def test_litert_target_is_proven_with_both_runtimes_timed(chromium_ready: None, tiny_generic_export: Path,
                                                         tmp_path: Path) -> None:
    from export.litert import litert_target
    from mnist_tfjs.js_runtimes import RUNTIME_FILES, VENDOR_FILES
    from mnist_tfjs.npm_packages import node_modules

    staging = _staging(tiny_generic_export, tmp_path)
    model, inputs, outputs, reference = _reference(staging)
    target = litert_target(model, inputs, outputs, reference, staging, PROVE, TFJS_PROVEN)
    block = target.block
    assert block["status"] == "proven" and block["reason"] is None and block["model"] == "model.tflite"
    tflite = staging / "model.tflite"
    assert block["bytes"] == tflite.stat().st_size > 0 and tflite.read_bytes()[4:8] == b"TFL3"
    assert block["batch"] == 1 and block["signature"]
    assert [(e["name"], e["shape"], e["dtype"]) for e in block["inputs"]] == [(INPUT, [1, 6], "float32")]
    assert [(e["name"], e["shape"]) for e in block["outputs"]] == [(name, [1, width])
                                                                     for name, width in OUTPUTS.items()]
    assert sorted(e["index"] for e in block["outputs"]) == [0, 1]
    proof = block["proof"]
    assert proof["passed"] is True
    wasm = proof["browser"]["wasm"]
    assert wasm["passed"] and wasm["failures"] == [] and wasm["samples"] == wasm["of"] == 64
    assert wasm["batch"] == 1 and wasm["batch1_ms"] > 0 and wasm["batch1_calls"] == 30
    assert wasm["chromium"][0].isdigit() and proof["threads"] is True  # the harness page is isolated
    for name, figures in wasm["outputs"].items():
        assert figures["relative_diff"] <= THRESHOLDS["max_relative_diff"] and figures["all_finite"]
        assert figures["agreement"] == (1.0 if name in CLASSIFIERS else None)
    require("webgpu" in proof["browser"], "a WebGPU adapter in headless Chromium")
    webgpu = proof["browser"]["webgpu"]  # LiteRT.js on the GPU (or Chromium's software adapter)
    assert webgpu["passed"] and webgpu["samples"] == 64 and webgpu["repeated"] >= 1
    assert webgpu["adapter"]["vendor"] and webgpu["batch1_ms"] > 0
    assert target.versions["litertjs"]

    runtimes = target.runtimes
    assert runtimes is not None and runtimes["network"]["mbit_per_s"] > 0
    modules = node_modules()
    for name in ("tfjs", "litert"):
        figures = runtimes[name]
        paths = [modules / VENDOR_FILES[package].folder / file for package, file in RUNTIME_FILES[name]]
        assert figures["runtime_bytes"] == sum(p.stat().st_size for p in paths)
        assert 0 < figures["runtime_gzip_bytes"] < figures["runtime_bytes"]
        assert figures["best"] in figures["ms_per_call"]
        assert all(ms > 0 for ms in figures["ms_per_call"].values())
    software = ["webgpu"] if webgpu["adapter"]["software"] else []
    # TF.js as its proof timed it; LiteRT.js' timing on a software adapter is shown, never advised
    assert runtimes["tfjs"]["ms_per_call"] == TFJS_PROVEN.ms_per_call
    assert runtimes["tfjs"]["accuracy"] == TFJS_PROVEN.accuracy
    assert runtimes["litert"]["software_adapter"] == software and runtimes["tfjs"]["software_adapter"] == []
    assert runtimes["litert"]["best"] not in software
    assert runtimes["tfjs"]["model_bytes"] == sum(p.stat().st_size for p in staging.iterdir()
                                                  if p.name == "model.json" or p.name.startswith("group"))
    assert runtimes["litert"]["model_bytes"] == block["bytes"]
    assert runtimes["litert"]["ms_per_call"]["wasm"] == wasm["batch1_ms"]
    assert runtimes["litert"]["calls"]["wasm"] == 30
    assert set(runtimes["litert"]["calls"]) == {"wasm", "webgpu"}
    assert set(runtimes["tfjs"]["calls"]) == set(runtimes["tfjs"]["ms_per_call"])
    assert runtimes["advice"]["text"] and runtimes["advice"]["ship"] in ("tfjs", "litert")


def test_a_tflite_that_disagrees_with_keras_is_refused(chromium_ready: None, tiny_generic_export: Path,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import export.litert
    from export.litert import litert_target

    monkeypatch.setattr(export.litert, "write_tflite", _with_shifted_weights(export.litert.write_tflite))
    staging = _staging(tiny_generic_export, tmp_path)
    model, inputs, outputs, reference = _reference(staging)
    target = litert_target(model, inputs, outputs, reference, staging, PROVE)
    block = target.block
    assert block["status"] == "refused" and block["model"] is None and target.runtimes is None
    assert not (staging / "model.tflite").exists() and (staging / "model.json").is_file()
    assert block["reason"].startswith("disagrees with Keras (LiteRT.js wasm: scores: max |Δ|")
    assert block["bytes"] > 0 and block["proof"]["passed"] is False
    assert block["proof"]["browser"]["wasm"]["passed"] is False


@pytest.mark.parametrize(("wanted", "verify", "browser", "status", "words"), [
    (False, True, True, "off", "--litert"),
    (True, True, False, "unproven", "--no-browser"),
])
def test_no_tflite_is_written_where_it_cannot_be_proven(wanted: bool, verify: bool, browser: bool,
                                                        status: str, words: str, tmp_path: Path) -> None:
    from export.litert import litert_target

    job = LitertJob(wanted=wanted, verify=verify, browser=browser, budget_s=None)
    target = litert_target(object(), [], [], object(), tmp_path, job)  # type: ignore[arg-type]
    assert target.block["status"] == status and words in target.block["reason"]
    assert target.block["model"] is None and target.runtimes is None and not any(tmp_path.iterdir())


def test_litert_asked_for_without_a_browser_is_refused_before_anything_runs(tmp_path: Path) -> None:
    from export.pipeline import ExportOptions, preflight

    model = tmp_path / "m.keras"
    shutil.make_archive(str(tmp_path / "m"), "zip", tmp_path)
    (tmp_path / "m.zip").rename(model)
    with pytest.raises(ExportError, match="--litert needs the browser proof"):
        preflight(model, tmp_path / "out", ExportOptions(litert=True, browser=False))


def _figures(gzip_bytes: int, ms: float) -> RuntimeFigures:
    return RuntimeFigures(gzip_bytes * 3, gzip_bytes - 1000, 5000, 1000, {"wasm": ms, "cpu": ms * 4},
                          {"wasm": 30, "cpu": 3})


def test_break_even_is_the_first_call_count_at_which_the_faster_runtime_costs_less() -> None:
    assert download_s(1_000_000, 8.0) == pytest.approx(1.0)  # 8 Mbit at 8 Mbit/s
    assert break_even_calls(1.0, 0.5) == 2001  # 2,000 calls save exactly 1 s: one more wins
    assert break_even_calls(1.0, 0.3) == 3334
    assert break_even_calls(0.0001, 10.0) == 1
    with pytest.raises(ValueError):
        break_even_calls(1.0, 0.0)
    # LiteRT.js: 1 MB more to download at 8 Mbit/s (1 s), 0.5 ms faster a call.
    verdict = advice({"tfjs": _figures(500_000, 1.0), "litert": _figures(1_500_000, 0.5)}, mbit_per_s=8.0)
    assert verdict["first_answer"] == verdict["ship"] == "tfjs" and verdict["fastest"] == "litert"
    assert verdict["download_gap_s"] == pytest.approx(1.0) and verdict["saved_ms_per_call"] == 0.5
    assert verdict["break_even_calls"] == 2001 and "2,001 calls" in verdict["text"]
    for calls in (2000, 2001):
        cost = {name: download_s(f.download_gzip_bytes, 8.0) * 1000 + calls * f.ms_per_call["wasm"]
                for name, f in {"tfjs": _figures(500_000, 1.0), "litert": _figures(1_500_000, 0.5)}.items()}
        assert (cost["litert"] < cost["tfjs"]) == (calls >= verdict["break_even_calls"])


def test_a_runtime_both_smaller_and_faster_has_no_break_even() -> None:
    verdict = advice({"tfjs": _figures(500_000, 1.0), "litert": _figures(1_500_000, 2.0)}, mbit_per_s=8.0)
    assert verdict["first_answer"] == verdict["fastest"] == verdict["ship"] == "tfjs"
    assert verdict["break_even_calls"] is None and "both the smaller download" in verdict["text"]


def test_the_cli_table_shows_the_litert_verdict_and_the_advice() -> None:
    from export.report import litert_lines

    refused = {"status": "refused", "reason": "disagrees with Keras (LiteRT.js wasm: y: max |Δ| 2e-01)",
               "proof": {"browser": {"wasm": {"passed": False, "failures": ["y: off"], "outputs": {
                   "y": {"max_abs_diff": 0.2, "relative_diff": 0.2, "scale": 1.0, "agreement": None}}}},
                         "skipped": {"webgpu": "no WebGPU adapter"}}}
    text = "\n".join(litert_lines(refused, None))
    assert "LiteRT.js wasm y" in text and "FAIL" in text and "not run: no WebGPU adapter" in text
    assert "model.tflite   not published (refused): disagrees with Keras" in text
    runtimes = {"compression": "gzip -6", "tfjs": _figures(500_000, 1.0).as_json(),
                "litert": _figures(1_500_000, 0.5).as_json(),
                "advice": advice({"tfjs": _figures(500_000, 1.0), "litert": _figures(1_500_000, 0.5)}, 8.0)}
    proven = {"status": "proven", "reason": None, "bytes": 2048, "batch": 1, "proof": {}}
    text = "\n".join(litert_lines(proven, runtimes))
    assert "model.tflite   proven, batch 1, 2,048 bytes" in text
    assert "TF.js          float32, batch 1: wasm 1 ms, cpu 4 ms (medians of 3+ calls)" in text
    assert "LiteRT.js      float32, batch 1: wasm 0.5 ms" in text
    assert "wins from 2,001 calls per page visit" in text


def _cli(args: list[str]) -> tuple[int, str, str]:
    import contextlib
    import io

    from export.__main__ import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(args)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.slow
def test_the_cli_publishes_both_on_request_and_leaves_a_wrong_tflite_out(
        chromium_ready: None, node_ready: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import export.litert
    from mnist_tfjs.files import sha256_file
    from tests.tiny_export import tiny_model

    model = tmp_path / "tiny.keras"
    tiny_model().save(model)
    common = ["--model", str(model), "--samples-count", "32", "--backend", "wasm"]

    code, stdout, _ = _cli([*common, "--out", str(tmp_path / "tfjs")])
    assert code == 0 and not (tmp_path / "tfjs" / "model.tflite").exists()
    assert json.loads((tmp_path / "tfjs" / "metadata.json").read_text())["litert"]["status"] == "off"

    common.append("--litert")
    code, stdout, stderr = _cli([*common, "--out", str(tmp_path / "both")])
    assert code == 0, stderr
    metadata = json.loads((tmp_path / "both" / "metadata.json").read_text())
    assert metadata["litert"]["status"] == "proven" and "model.tflite for LiteRT.js" in stdout
    tflite = tmp_path / "both" / "model.tflite"
    assert metadata["files"]["model.tflite"] == {"bytes": tflite.stat().st_size,
                                                 "sha256": sha256_file(tflite)}
    assert metadata["download_bytes"] == sum(entry["bytes"] for name, entry in metadata["files"].items()
                                             if name == "model.json" or name.startswith("group"))
    assert metadata["versions"]["litertjs"] and metadata["runtimes"]["advice"]["text"] in stdout
    assert "LiteRT.js wasm scores" in stdout and "model.tflite   proven, batch 1" in stdout

    monkeypatch.setattr(export.litert, "write_tflite", _with_shifted_weights(export.litert.write_tflite))
    code, stdout, stderr = _cli([*common, "--out", str(tmp_path / "tfjs-only")])
    assert code == 3, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: model.tflite not published (refused): "
                                                      "disagrees with Keras (LiteRT.js wasm: scores:")
    assert "model.tflite   not published (refused)" in stdout and "LiteRT.js wasm" in stdout
    published = tmp_path / "tfjs-only"
    assert (published / "model.json").is_file() and not (published / "model.tflite").exists()
    metadata = json.loads((published / "metadata.json").read_text())
    assert metadata["proof"]["passed"] is True and metadata["litert"]["status"] == "refused"
    assert metadata["runtimes"] is None and "model.tflite" not in metadata["files"]


def test_only_a_max_diff_failure_asks_for_the_float32_allowance() -> None:
    """LiteRT.js is judged again within float32 rounding only where max |Δ| is all that failed."""
    from export.litert import _only_max_diff_failures

    def result(*rules: str) -> dict[str, Any]:
        return {"passed": not rules, "outputs": {"y": {"failed_rules": list(rules)}}}

    assert _only_max_diff_failures({"wasm": result("max_relative_diff"), "webgpu": result()})
    assert not _only_max_diff_failures({"wasm": result(), "webgpu": result()})  # nothing failed
    assert not _only_max_diff_failures({"wasm": result("max_relative_diff", "min_agreement")})
    assert not _only_max_diff_failures({"wasm": result("max_relative_diff"), "webgpu": result("repeat")})
