"""The one build step pyproject.toml cannot declare: the wheel carries the repository's package.json
and package-lock.json in mnist_tfjs/npm/, from which `mnist_tfjs.npm_packages` installs the TF.js runtime
on first use (node_modules itself, ~360 MB, is too big for a wheel). Copied at build time, so the
repository holds each file once."""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent))  # PEP 517 builds do not put the tree on the path
from mnist_tfjs.paths import NPM_FILES  # a module of constants: pathlib only

PACKAGED_NPM_DIR = Path("mnist_tfjs", "npm")  # relative to the build folder


class BuildPyWithNpmFiles(build_py):
    """build_py, plus the npm manifests copied into the built mnist_tfjs package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them from the repository root
            return
        target = Path(self.build_lib) / PACKAGED_NPM_DIR
        self.mkpath(str(target))
        for name in NPM_FILES:
            self.copy_file(name, str(target / name))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        extra = [] if self.editable_mode else [str(Path(self.build_lib) / PACKAGED_NPM_DIR / name)
                                               for name in NPM_FILES]
        return [*super().get_outputs(include_bytecode), *extra]


setup(cmdclass={"build_py": BuildPyWithNpmFiles})
