"""The ``gnnkit`` command line: parses arguments and calls the library.

Each sub-command lives in its own module with ``register(subparsers)``; the
module's handler receives the parsed arguments. No logic lives here.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules that add sub-commands, in the order --help lists them.
_COMMANDS = (
    "gnnkit.cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gnnkit",
        description="gnnkit: graph neural networks for PyTorch. Run `gnnkit COMMAND --help` for a command's options.",
    )
    from gnnkit import __version__

    parser.add_argument("--version", action="version", version=f"gnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValueError as err:  # bad input: one clear line, not a traceback
        print(f"gnnkit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
