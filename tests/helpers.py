"""What several test modules share and pytest does not inject: the CI rule for missing tools, the
module of in-page checks, and an export copied with its metadata changed.

Import from here, never from `tests.conftest` (pytest loads conftest itself; importing it as a
module runs it a second time).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PAGE_CHECKS = Path(__file__).with_name("page_checks.js")  # checks run inside a page (call_in_page)


def require(condition: bool, what: str) -> None:
    """Skip locally when a tool (browser, Node, npm packages) is missing; fail in CI (`CI=true`)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing, and CI must run every test; install it in .ci/run")
    pytest.skip(f"{what} is missing")


def export_with_metadata(export: Path, folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of `export` in `folder` whose metadata.json `change` has edited in place (what an export
    says of a runtime, without exporting again)."""
    shutil.copytree(export, folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    change(metadata)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder
