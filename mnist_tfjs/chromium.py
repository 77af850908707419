"""Finding and launching headless Chromium through Playwright (Debian's `chromium`; Playwright's own
browser download cannot run here). Playwright is imported by the caller, only when needed."""

from __future__ import annotations

import os
import shutil
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Chromium with its GPU process and WebGPU on: WebGL and WebGPU run on the machine's GPU where there is
# one, else on Chromium's software renderer, SwiftShader (for WebGPU a fallback adapter whose
# `info.architecture` is "swiftshader", offered only to secure origins).
GPU_ARGS = ["--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"]
WEBGPU_CHROMIUM_ARGS = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + GPU_ARGS
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """Path of a Chromium executable: $CHROMIUM_PATH, else Debian's chromium, else None."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if os.path.isfile(explicit) else None
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.isabs(candidate):
            path = candidate if os.path.isfile(candidate) else None
        else:
            path = shutil.which(candidate)
        if path:
            return path
    return None


def launch_chromium(playwright: Any, executable: str | None = None, *, gpu: bool = False) -> Any:
    """Launch headless Chromium through a started Playwright (`sync_playwright().start()`); with `gpu`,
    with WebGL and WebGPU as a visitor's browser has them (WEBGPU_CHROMIUM_ARGS)."""
    path = executable or find_chromium()
    if path is None:
        raise RuntimeError("Chromium not found: install Debian's `chromium` or set CHROMIUM_PATH")
    args = WEBGPU_CHROMIUM_ARGS if gpu else CHROMIUM_ARGS
    return playwright.chromium.launch(executable_path=path, args=args)
