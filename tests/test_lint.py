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


def _javascript_lines(text: str) -> int:
    """How many lines of `text` read as JavaScript statements (an arrow, or a line ending in ; { or })."""
    return sum(1 for line in text.splitlines()
               if "=>" in line or line.rstrip().endswith((";", "{", "});", "};")))


def test_no_javascript_longer_than_five_lines_in_python_strings() -> None:
    """JavaScript lives in .js files, where ESLint reads it; a Python string holds at most a short call."""
    import ast

    found = []
    for path in sorted(REPO_ROOT.glob("**/*.py")):
        if {".venv", "node_modules", "build"} & set(path.relative_to(REPO_ROOT).parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if id(node) in docstrings:
                continue
            if isinstance(node, ast.JoinedStr):
                text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            if text.count("\n") >= 5 and _javascript_lines(text) >= 2:
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert found == [], f"JavaScript in Python strings (move it into a .js file): {found}"
