"""The benchmark suite: training, export, browser, drawing robustness and server figures.

`python -m benchmarks` (or `make bench`) runs every section, prints the figures as they come and
writes `docs/results/benchmarks.json`, `docs/results/benchmarks.md` and the plots. See
`python -m benchmarks --help`.
"""
