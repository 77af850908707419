"""Training half of mnist-tfjs: MNIST data, model builders, presets and the `python -m train` CLI."""
