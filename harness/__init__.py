"""What the tests and the benchmarks both use, and the product never does: the model zoo
(`zoo_models`), the stroke tracer that turns MNIST digits into pen strokes (`strokes`), and the
driver of the real page in headless Chromium (`page_driver`, with the helpers of `page_tools.js`).

Nothing in `train`, `export`, `web` or `mnist_tfjs` imports it; `benchmarks` and `tests` do.
"""
