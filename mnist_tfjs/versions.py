"""Installed versions of the Python and npm packages that shaped a result."""

from __future__ import annotations

import json
from importlib import metadata

from mnist_tfjs.paths import NODE_MODULES


def package_version(dist: str) -> str | None:
    """The installed version of a Python distribution, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def npm_version(package: str) -> str | None:
    """The version of an npm package installed in the repository's node_modules, or None."""
    try:
        return json.loads((NODE_MODULES / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
