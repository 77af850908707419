"""The project's own package: plumbing every part shares and none owns (quiet TensorFlow, atomic
files, versions, paths, Chromium, the MNIST reader).

`train`, `export`, `web` and `benchmarks` import from here, never from each other.
"""
