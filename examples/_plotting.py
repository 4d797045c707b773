"""The examples' one optional dependency: matplotlib draws their figures.

``pyplot()`` gives ``matplotlib.pyplot`` on the headless Agg backend (figures
go to files only), or, when matplotlib is not installed, prints one line
saying which extra to install and gives ``None``: the example then does all
its other work (training, tables, JSON) and skips the figures.
"""
from __future__ import annotations

import sys

HINT = ('matplotlib is not installed, so no figures are drawn: pip install "gnnkit[plot]" '
        '(or, in a checkout, .venv/bin/pip install -e ".[plot]")')


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


def figures(plt, names: list[str]) -> str:
    """How a summary names the figures: the files, or why there are none."""
    return ", ".join(names) if plt is not None else "no figures (matplotlib is not installed)"
