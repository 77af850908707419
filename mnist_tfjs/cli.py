"""`mnist-tfjs`: the installed command. Each subcommand is one of the repository's
`python -m train|export|web` commands, run with the rest of the command line."""

from __future__ import annotations

import argparse
import importlib
import sys

from mnist_tfjs.versions import package_version

# name: (module whose main(argv) runs it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("mnist_tfjs.train.__main__", "train an MNIST classifier with Keras (python -m train)"),
    "export": ("mnist_tfjs.export.__main__", "convert a Keras model to TF.js and prove it computes the same "
                                  "(python -m export)"),
    "serve": ("mnist_tfjs.web.__main__", "serve the draw-a-digit page or the model page (python -m web)"),
}


def _parser() -> argparse.ArgumentParser:
    """The top-level parser; it only lists the subcommands, whose own --help shows their options."""
    parser = argparse.ArgumentParser(
        prog="mnist-tfjs",
        description="Train an MNIST network with Keras, export any Keras model to TensorFlow.js with a "
                    "parity proof, and serve it in the browser.",
        epilog="`mnist-tfjs COMMAND --help` shows a command's options.",
    )
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {package_version('mnist-tfjs') or 'unknown (not installed)'}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        commands.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: hand everything after the subcommand to its own `main(argv)`; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        return module.main(argv[1:])
    _parser().parse_args(argv)  # --help, --version or a usage error: each exits
    return 2


if __name__ == "__main__":
    sys.exit(main())
