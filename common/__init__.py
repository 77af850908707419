"""Plumbing every package shares and none owns: quiet TensorFlow, atomic files, versions, paths.

`train`, `export`, `web` and `benchmarks` import from here, never from each other, for these.
"""
