"""The names of the files in an export folder, the one place they are written: `export` writes by
them, `web` serves by them, the benchmarks read by them. web/static/export-files.js is the pages'
copy, checked against this one by tests/test_export_files.py, as is export/node_proof.js' (a
CommonJS script, which cannot import the pages' ES module).
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_JSON = "model.json"  # the TF.js graph model: its graph and the weight shards it lists
METADATA_JSON = "metadata.json"  # what the export is and what its proof found (docs/export-format.md)
LITERT_MODEL = "model.tflite"  # the LiteRT.js target beside model.json (metadata.json's `litert` block)
LITERT_INT8_MODEL = "model.int8.tflite"  # its full-integer twin (metadata.json's `litert_int8` block)
PROOF_JSON = "proof.json"  # the proof samples' manifest, which the model page re-checks
PROOF_BIN = "proof.bin"  # the proof samples' arrays, raw little-endian, as proof.json lists them
# Every file an export holds by a fixed name; its weight shards are named by the TF.js converter
# (group<i>-shard<j>of<n>.bin) and listed in model.json.
NAMED_FILES = (MODEL_JSON, METADATA_JSON, LITERT_MODEL, LITERT_INT8_MODEL, PROOF_JSON, PROOF_BIN)


def weight_shards(folder: Path) -> list[str]:
    """The weight shards model.json in `folder` lists (its weightsManifest), as names in `folder`."""
    manifest = json.loads((folder / MODEL_JSON).read_text(encoding="utf-8"))
    return [path for group in manifest.get("weightsManifest") or [] for path in group.get("paths", [])]


def tfjs_model_files(folder: Path) -> list[str]:
    """model.json and its weight shards: what a browser downloads to run the TF.js model in `folder`
    (not the proof bundle, which only the model page's check fetches, nor the .tflite files)."""
    return [MODEL_JSON, *weight_shards(folder)]


def tfjs_download_bytes(folder: Path) -> int:
    """Bytes a browser downloads to run the TF.js model in `folder` (`tfjs_model_files`)."""
    return sum((folder / name).stat().st_size for name in tfjs_model_files(folder))
