"""The project's own package: plumbing every part shares and none owns (quiet TensorFlow, atomic
files, versions, paths, Chromium, the MNIST reader, the npm packages), and the names that export and
web share without importing each other (model_kinds, export_files, js_runtimes).

Installed, it is the project's only top-level package: `mnist_tfjs.train`, `mnist_tfjs.export` and
`mnist_tfjs.web` are the repository's train/, export/ and web/ (run from a clone as `python -m train`,
`python -m export`, `python -m web`). Who imports whom:

- train, export and web import this plumbing and never one another;
- benchmarks/ and harness/ (measurement and test tooling, never installed) import the public names
  of train, export and web (their `__all__`) and the plumbing; nothing imports benchmarks/;
- tests/ import anything but benchmarks/ (the benchmark suite is tested through its command line).
"""
