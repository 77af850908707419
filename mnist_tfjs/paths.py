"""Where the source tree is (the repository root, and its node_modules after `npm ci`), and where a
wheel keeps the npm manifests. Imports nothing but pathlib: setup.py reads it at build time.

Only meaningful in a clone; in an installed wheel REPO_ROOT is site-packages. Product code asks
`mnist_tfjs.npm_packages.node_modules()` for the npm packages, which falls back to a user cache.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where the commands put what they make, relative to the working folder, so that an installed
# `mnist-tfjs serve` finds what `mnist-tfjs export` wrote, which found what `mnist-tfjs train` wrote.
ARTIFACTS = Path("artifacts")
TRAINED_MODEL = ARTIFACTS / "model.keras"
WEB_MODEL = ARTIFACTS / "web_model"
NODE_MODULES = REPO_ROOT / "node_modules"
# The npm manifests a wheel carries (copied by setup.py's build_py) to install the npm packages from.
NPM_FILES = ("package.json", "package-lock.json")
PACKAGED_NPM_DIR = Path(__file__).resolve().parent / "npm"
