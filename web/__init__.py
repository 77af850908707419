"""The draw-a-digit web app: `create_app()` builds it, `python -m web` serves it."""

from .app import DEFAULT_MODEL_DIR, create_app

__all__ = ["DEFAULT_MODEL_DIR", "create_app"]
