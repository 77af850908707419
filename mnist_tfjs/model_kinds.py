"""The kinds of model an export holds, and the digit model's input and test set that the MNIST
kind promises: `export` writes them into metadata.json, `web` picks its page and checks its input by
them (web/static/digit-contract.js mirrors the image shape).
"""

from __future__ import annotations

MNIST_KIND = "mnist-digits"  # a digit classifier on 28x28x1 images: the draw-a-digit page
MNIST_IMAGE_SHAPE = (28, 28, 1)  # one digit: rows, columns, channels
MNIST_CLASSES = 10
GENERIC_KIND = "generic"  # any other model: the model page
MNIST_TEST_DIGITS = 10_000  # the MNIST test set, every digit of which a digit model's proof reads
