"""Where gnnkit keeps data: the one place environment variables are read.

``GNNKIT_DATA`` names the data root (raw files, ``<root>/<name>/raw/...``),
``GNNKIT_CACHE`` the processed-cache directory, ``GNNKIT_RETAIN_MEMORY=0``
keeps the ``gnnkit`` command from ``retain_freed_memory``, and torchrun's
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` place a process in a group.
Nothing else in the library reads the environment.
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
        return _checked_root(root, "root= (--root)")
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
        raise ValueError(f"the data root given by {what} is empty; pass the folder that holds <dataset>/raw/")
    path = Path(root).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"the data root {path} (from {what}) is a file, not a folder; pass the folder that holds "
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


def retain_freed_memory() -> bool:
    """Keep memory freed by torch inside the process for its next allocation.

    glibc hands every block over 32 MiB back to the operating system when it
    is freed, so a training step whose tensors are that large (a graph of a
    few hundred thousand nodes) page-faults all of them in again at every
    step. This asks glibc (``mallopt``) to serve such blocks from its heap
    and to keep freed memory (up to 2 GiB at the top of the heap): one GCN
    epoch on 800,000 nodes and 16M edges ran 1.33x faster on one thread and
    1.43x on two (docs/performance.md, "Memory kept for reuse"), at the
    price of a resident set that stays near its peak (+15-17 % peak there).

    Process-wide and not undone: the ``gnnkit`` command calls it (unless
    ``GNNKIT_RETAIN_MEMORY=0``); in Python it is an opt-in, as is
    preloading jemalloc or tcmalloc (PyTorch's CPU performance advice).
    Returns whether it applied: ``False`` off glibc (macOS, Windows, musl).
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # glibc's <malloc.h>
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2**31 - 1))


def retain_memory_wanted() -> bool:
    """Whether the ``gnnkit`` command should call ``retain_freed_memory``:
    not when ``GNNKIT_RETAIN_MEMORY`` is ``0``, ``false``, ``no`` or ``off``."""
    return os.environ.get("GNNKIT_RETAIN_MEMORY", "1").strip().lower() not in ("0", "false", "no", "off")
