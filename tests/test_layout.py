"""Who imports whom (mnist_tfjs/__init__.py says it): the product packages never import one another,
nor the measurement and test tooling; benchmarks/ uses only the public names of train, export and web;
nothing imports benchmarks/ but benchmarks/ itself."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator

import pytest

from mnist_tfjs.paths import REPO_ROOT

PRODUCT = ("train", "export", "web")
TOOLING = ("benchmarks", "harness", "tests")


def imports(folder: str) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(file, imported module, names taken from it) for every absolute import under `folder`."""
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = str(path.relative_to(REPO_ROOT))
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield where, node.module, tuple(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield where, alias.name, ()


def top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", [*PRODUCT, "mnist_tfjs"])
def test_product_packages_import_only_themselves_and_the_plumbing(package: str) -> None:
    others = set(PRODUCT + TOOLING) - {package}
    wrong = [(where, module) for where, module, _ in imports(package) if top(module) in others]
    assert wrong == []


def test_benchmarks_use_only_public_names() -> None:
    wrong = []
    for where, module, names in imports("benchmarks"):
        if top(module) not in PRODUCT:
            continue
        public = set(importlib.import_module(top(module)).__all__)
        if module != top(module) or not set(names) <= public:
            wrong.append((where, module, names))
    assert wrong == [], "import the package's __all__ names, not its modules"


@pytest.mark.parametrize("folder", ["tests", "harness", *PRODUCT, "mnist_tfjs"])
def test_nothing_imports_the_benchmarks(folder: str) -> None:
    assert [(where, module) for where, module, _ in imports(folder) if top(module) == "benchmarks"] == []
