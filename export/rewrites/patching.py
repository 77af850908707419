"""The one way a tracing rewrite swaps a function: for the length of a `with` block only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def patched(replacement: Any, *attributes: tuple[Any, str]) -> Iterator[None]:
    """`replacement` in place of each `owner.name` of `attributes` while the block runs; each gets its
    own value back afterwards, also when the block raises.

    One function can have several names (`tf.eye` is `tf.linalg.eye`): a rewrite patches every name
    the traced code may call it by.
    """
    originals = [(owner, name, getattr(owner, name)) for owner, name in attributes]
    for owner, name, _ in originals:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)
