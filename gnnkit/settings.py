"""Where gnnkit keeps data: the one place environment variables are read.

``GNNKIT_DATA`` names the data root (raw files, ``<root>/<name>/raw/...``),
``GNNKIT_CACHE`` the processed-cache directory, and torchrun's ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` place a process in a group. Nothing else in the library
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
        return _checked_root(root, "root (--root)")
    env = os.environ.get("GNNKIT_DATA")
    if env:
        return _checked_root(env, "GNNKIT_DATA")
    checkout = _REPO / "datasets"
    if checkout.is_dir() and (_REPO / "pyproject.toml").is_file():  # an editable checkout, not an installed wheel
        return checkout
    return Path.home() / ".cache" / "gnnkit" / "data"


def _checked_root(root: str | os.PathLike, what: str) -> Path:
    """A data root the user named: not an empty string (which would mean the
    current folder), not a file."""
    if not str(root).strip():
        raise ValueError(f"the data root {what} is empty; pass the folder that holds <dataset>/raw/")
    path = Path(root).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"the data root {path} ({what}) is a file, not a folder; pass the folder that holds "
                         f"<dataset>/raw/")
    return path


def cache_dir() -> Path:
    """The processed-cache directory: ``$GNNKIT_CACHE``, else
    ``~/.cache/gnnkit/processed``."""
    env = os.environ.get("GNNKIT_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "gnnkit" / "processed"


def distributed_env() -> tuple[int, int, int] | None:
    """``(RANK, WORLD_SIZE, LOCAL_RANK)`` as ``torchrun`` sets them, or ``None``
    when this process was not launched by it.

    Raises:
        ValueError: a variable is set but is not an integer.
    """
    if "WORLD_SIZE" not in os.environ:
        return None
    values = []
    for name, default in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0")):
        text = os.environ.get(name, default)
        try:
            values.append(int(text))
        except ValueError as err:
            raise ValueError(f"environment variable {name}={text!r} is not an integer; launch with torchrun") from err
    return values[0], values[1], values[2]
