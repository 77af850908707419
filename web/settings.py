"""What one app instance serves (the export folder, the native model, the npm packages' folder), kept
on the app and read back by the blueprints through `settings()`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from flask import Flask, current_app

from mnist_tfjs.npm_packages import node_modules

from .native import NativeModel

EXTENSION = "mnist_tfjs"  # the app.extensions key


@dataclass(frozen=True)
class WebSettings:
    """What one app instance serves."""

    model_dir: Path
    native: NativeModel | None
    node_modules_given: Path | None = None

    @cached_property
    def node_modules(self) -> Path:
        """The node_modules folder with TF.js and LiteRT.js: the one given to create_app, else the
        project's (mnist_tfjs.npm_packages.node_modules()).

        Resolved on first use, because resolving may install the packages from npm: an app that
        never serves /vendor/ (most tests) never needs it. NpmPackagesMissing says how to get it.
        """
        return self.node_modules_given or node_modules()


def attach(app: Flask, settings: WebSettings) -> None:
    """Keep `settings` on `app` for `settings()`."""
    app.extensions[EXTENSION] = settings


def settings(app: Flask | None = None) -> WebSettings:
    """The settings of `app`, or of the app handling the current request."""
    return (app or current_app).extensions[EXTENSION]
