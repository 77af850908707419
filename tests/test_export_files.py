"""The export's file names have one home (mnist_tfjs/export_files.py); the pages' copy
(web/static/export-files.js) and the Node scripts' (export/node_proof.js, which export/locate.js and
benchmarks/zoo_routes.js read bundles through) must say the same, and both homes must name what an
export holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mnist_tfjs import export_files
from mnist_tfjs.paths import REPO_ROOT

JS_TWIN = REPO_ROOT / "web" / "static" / "export-files.js"
NODE_COPY = REPO_ROOT / "export" / "node_proof.js"
NODE_NAMES = ("MODEL_JSON", "PROOF_JSON", "PROOF_BIN")  # what the Node scripts read


def js_constants(path: Path = JS_TWIN, prefix: str = "export ") -> dict[str, str]:
    """`<prefix>const NAME = 'value';` of a JS file, as {NAME: value}."""
    text = path.read_text(encoding="utf-8")
    pattern = rf"^{prefix}const ([A-Z0-9_]+) = '([^']*)';"
    return dict(re.findall(pattern, text, flags=re.MULTILINE))


def python_constants() -> dict[str, str]:
    """The Python home's file names, as {NAME: value}."""
    names = {name: value for name, value in vars(export_files).items()
             if name.isupper() and isinstance(value, str)}
    assert sorted(names.values()) == sorted(export_files.NAMED_FILES), "NAMED_FILES lists every name"
    return names


def test_js_twin_names_the_same_files() -> None:
    assert js_constants() == python_constants()


def test_node_scripts_name_the_same_files() -> None:
    names = python_constants()
    node = {name: value for name, value in js_constants(NODE_COPY, "").items() if name in names}
    assert node == {name: names[name] for name in NODE_NAMES}


def test_download_is_model_json_and_its_shards(tmp_path: Path) -> None:
    (tmp_path / export_files.MODEL_JSON).write_text(json.dumps({"weightsManifest": [
        {"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"]}]}), encoding="utf-8")
    (tmp_path / "group1-shard1of2.bin").write_bytes(b"a" * 10)
    (tmp_path / "group1-shard2of2.bin").write_bytes(b"b" * 5)
    for other in (export_files.PROOF_JSON, export_files.PROOF_BIN, export_files.LITERT_MODEL):
        (tmp_path / other).write_bytes(b"c" * 1000)  # beside the model, never downloaded by the page
    assert export_files.tfjs_model_files(tmp_path) == [export_files.MODEL_JSON, "group1-shard1of2.bin",
                                                       "group1-shard2of2.bin"]
    model_json_bytes = (tmp_path / export_files.MODEL_JSON).stat().st_size
    assert export_files.tfjs_download_bytes(tmp_path) == model_json_bytes + 15
