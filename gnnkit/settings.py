"""Where gnnkit keeps data: the one place environment variables are read.

``GNNKIT_DATA`` names the data root (raw files, ``<root>/<name>/raw/...``) and
``GNNKIT_CACHE`` the processed-cache directory. Nothing else in the library
reads the environment.
"""
from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` when given, else ``$GNNKIT_DATA``, else the
    repository's ``datasets/`` folder when gnnkit runs from a checkout, else
    ``~/.cache/gnnkit/data``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("GNNKIT_DATA")
    if env:
        return Path(env).expanduser()
    checkout = _REPO / "datasets"
    if checkout.is_dir() and (_REPO / "pyproject.toml").is_file():  # an editable checkout, not an installed wheel
        return checkout
    return Path.home() / ".cache" / "gnnkit" / "data"


def cache_dir() -> Path:
    """The processed-cache directory: ``$GNNKIT_CACHE``, else
    ``~/.cache/gnnkit/processed``."""
    env = os.environ.get("GNNKIT_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "gnnkit" / "processed"
