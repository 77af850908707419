"""The code base stays lint clean: `ruff` for the Python (rules in pyproject.toml), ESLint for the
JavaScript (eslint.config.js)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mnist_tfjs.paths import NODE_MODULES, REPO_ROOT
from tests.helpers import require


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_eslint_clean() -> None:
    eslint = NODE_MODULES / ".bin" / "eslint"
    require(shutil.which("node") is not None and eslint.is_file(), "ESLint (Node.js and `npm ci`)")
    result = subprocess.run([str(eslint), "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
