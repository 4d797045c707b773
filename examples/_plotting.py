"""The examples' one optional dependency: matplotlib draws their figures.

``pyplot()`` gives ``matplotlib.pyplot`` on the headless Agg backend (figures
go to files only), or, when matplotlib is not installed, prints one line
saying which extra to install and gives ``None``: the example then does all
its other work (training, tables, JSON) and skips the figures.
``class_labels()`` names a dataset's classes on a figure. ``positive_int``
and ``run`` give the examples the command line's manners: a count below 1
and a bad input are one ``error:`` line (exit status 2), not a traceback.
"""
from __future__ import annotations

import sys

HINT = ('matplotlib is not installed, so no figures are drawn: pip install "gnnkit[plot]" '
        '(or, in a checkout, .venv/bin/pip install -e ".[plot]")')


def positive_int(text: str) -> int:
    """argparse ``type`` for a count (epochs, sizes, users): an integer >= 1."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def run(main) -> int:
    """``main()`` with bad input (a ``ValueError`` or ``OSError``, e.g. a
    dataset of the wrong kind or an output path that is a file) said in one
    line and exit status 2."""
    import os

    try:
        return int(main() or 0)
    except (ValueError, OSError) as err:
        print(f"{os.path.basename(sys.argv[0])}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2


def pyplot():
    """``matplotlib.pyplot`` (Agg backend), or ``None`` after printing ``HINT`` to stderr."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        print(HINT, file=sys.stderr)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def class_labels(dataset: str, num_classes: int) -> list[str]:
    """How figures name the classes: the catalog's names where the source has them
    (Cora, CiteSeer, karate), else ``class 0``, ``class 1`` ..."""
    from gnnkit.datasets.catalog import get, names

    known = get(dataset).class_names if dataset in names() else ()
    if len(known) != num_classes:
        return [f"class {c}" for c in range(num_classes)]
    return [name.replace("_", " ") for name in known]


def figures(plt, names: list[str]) -> str:
    """How a summary names the figures: the files, or why there are none."""
    return ", ".join(names) if plt is not None else "no figures (matplotlib is not installed)"
