"""Installed versions of the Python and npm packages that shaped a result."""

from __future__ import annotations

import json
from importlib import metadata

from mnist_tfjs.npm_packages import installed_node_modules


def package_version(dist: str) -> str | None:
    """The installed version of a Python distribution, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def npm_version(package: str) -> str | None:
    """The version of an npm package in node_modules, or None; never installs the npm packages."""
    folder = installed_node_modules()
    if folder is None:
        return None
    try:
        return json.loads((folder / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
