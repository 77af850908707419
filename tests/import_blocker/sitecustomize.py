"""Makes the packages named in $BLOCKED_IMPORTS (comma-separated) impossible to find, as on a machine
where they are not installed: put this folder on PYTHONPATH and Python loads it at start-up, in the
process and in every Python process it starts with the same environment.

Every import finder is wrapped so that it does not see a blocked package: `import tensorflow` raises
ModuleNotFoundError and `importlib.util.find_spec("tensorflow")` returns None and importlib.metadata finds no
installed version, exactly as where the
package is absent (libraries that probe for TensorFlow take their no-TensorFlow path). The tests use
it to prove that training on JAX, and the GPU benchmark, never need TensorFlow."""

from __future__ import annotations

import os
import sys
from importlib.abc import MetaPathFinder

BLOCKED = frozenset(name for name in os.environ.get("BLOCKED_IMPORTS", "").split(",") if name)


class WithoutBlocked(MetaPathFinder):
    """One of Python's import finders, blind to the blocked packages and their submodules."""

    def __init__(self, finder) -> None:
        self.finder = finder

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in BLOCKED:
            return None
        return self.finder.find_spec(fullname, path, target)

    def find_distributions(self, *args, **kwargs):
        """Installed packages' metadata (importlib.metadata), without the blocked ones."""
        found = getattr(self.finder, "find_distributions", None)
        for distribution in found(*args, **kwargs) if found else ():
            if (distribution.metadata["Name"] or "").lower().replace("-", "_") not in BLOCKED:
                yield distribution

    def invalidate_caches(self) -> None:
        if hasattr(self.finder, "invalidate_caches"):
            self.finder.invalidate_caches()


if BLOCKED:
    sys.meta_path[:] = [WithoutBlocked(finder) for finder in sys.meta_path]
