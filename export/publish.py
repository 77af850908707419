"""Atomic publishing: build in a staging folder beside `--out`, then swap it into place.

Crash windows and what covers them:
- during conversion or verification: only the staging folder is written; `--out` is untouched,
  and the next export removes the stale staging folder (its owner process is gone);
- the swap itself: on Linux one `renameat2(RENAME_EXCHANGE)` call exchanges the two folders
  atomically; elsewhere two renames run with Ctrl-C deferred, and if the process dies between
  them the next export puts the previous model back before doing anything else;
- after the swap: the old model sits in a hidden folder beside `--out` and is deleted (again
  by the next export if this one dies first).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_tfjs.export_files import METADATA_JSON, MODEL_JSON, tfjs_download_bytes
from mnist_tfjs.files import sha256_file

from .errors import ExportError


def _hidden(out: Path, kind: str) -> str:
    return f".{out.name}.{kind}-"


def check_out_dir(out: Path, model_path: Path | None) -> None:
    """Refuse an `--out` that is a file, unwritable, holds the source model, or holds unrelated files."""
    out_abs = out.resolve()
    model_abs = model_path.resolve() if model_path is not None else None
    if model_abs is not None and (out_abs == model_abs.parent or model_abs.is_relative_to(out_abs)):
        raise ExportError(f"--out {out} is the folder holding the source model {model_path}; "
                          "publish to another folder (default artifacts/web_model)")
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out} is a file; pass a folder path")
    ancestor = out_abs.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ExportError(f"--out {out} is not writable: {ancestor} is a file, not a folder; "
                          "choose another --out")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ExportError(f"--out {out} is not writable (no permission in {ancestor}); "
                          "choose a folder you can write to")
    if out.is_dir() and any(out.iterdir()) and not ((out / MODEL_JSON).exists()
                                                    or (out / METADATA_JSON).exists()):
        raise ExportError(f"--out {out} already holds files that are not an exported model; "
                          "choose a new or empty folder")


def make_staging(out: Path) -> Path:
    """Create the staging folder beside `out` (same file system, so the swap is a rename)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{_hidden(out, 'staging')}{os.getpid()}-", dir=out.parent))
        staging.chmod(0o755)  # mkdtemp makes it private; the web server must read the published folder
        return staging
    except OSError as exc:
        raise ExportError(f"--out {out} is not writable ({exc.strerror or exc}); "
                          "choose a folder you can write to") from None


def _owner_alive(folder: Path, prefix: str) -> bool:
    pid_text = folder.name[len(prefix):].split("-", 1)[0]
    if not pid_text.isdigit() or os.name == "nt":
        return True  # unknown owner: leave it alone
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(out: Path) -> None:
    """Undo what a killed export left beside `out`: restore a previous model, delete stale folders."""
    if not out.parent.is_dir():
        return
    backups = sorted((p for p in out.parent.glob(_hidden(out, "previous") + "*")
                      if p.is_dir() and not _owner_alive(p, _hidden(out, "previous"))),
                     key=lambda p: p.stat().st_mtime)
    if backups and not out.exists():
        os.rename(backups.pop(), out)  # died between the two renames: put the old model back
    for stale in backups:
        shutil.rmtree(stale, ignore_errors=True)
    for staging in out.parent.glob(_hidden(out, "staging") + "*"):
        if staging.is_dir() and not _owner_alive(staging, _hidden(out, "staging")):
            shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class FileInventory:
    """An export folder's files as metadata.json lists them, and what of them a browser downloads."""

    files: dict[str, dict[str, Any]]  # {file name: {"bytes", "sha256"}}, every file but metadata.json
    download_bytes: int  # model.json and the weight shards it lists


def file_inventory(folder: Path) -> FileInventory:
    """The files in `folder` (but metadata.json, written after) and the TF.js model's download size."""
    files = {p.name: {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
             for p in sorted(folder.iterdir()) if p.is_file() and p.name != METADATA_JSON}
    return FileInventory(files, tfjs_download_bytes(folder))


def write_metadata(folder: Path, metadata: dict[str, Any]) -> None:
    """Write `metadata.json` (indented, UTF-8) into `folder`."""
    text = json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"
    (folder / METADATA_JSON).write_text(text, encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for path in [*folder.iterdir(), folder]:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C / SIGTERM until the block ends (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            signal.raise_signal(received[0])


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux renameat2(RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_into_place(staging: Path, out: Path) -> None:
    """Make the finished `staging` folder become `out`; the previous `out` is deleted afterwards."""
    _fsync_tree(staging)
    old: Path | None = None
    try:
        with _signals_deferred():
            if not out.exists():
                os.rename(staging, out)
            elif _exchange(staging, out):
                old = staging  # now holds the previous model
            else:
                old = out.parent / f"{_hidden(out, 'previous')}{os.getpid()}-{secrets.token_hex(4)}"
                os.rename(out, old)
                try:
                    os.rename(staging, out)
                except OSError:
                    os.rename(old, out)
                    raise
    except OSError as exc:
        raise ExportError(f"cannot move the new model into {out} ({exc.strerror or exc}); "
                          "check the folder's permissions") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
