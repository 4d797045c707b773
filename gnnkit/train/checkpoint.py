"""Checkpoints: atomic save, safe load.

``save_checkpoint`` writes to a temporary file in the target directory, flushes
it to disk and renames it over the destination, so an interrupted run leaves
either the previous checkpoint or the new one, never a truncated file.
``load_checkpoint`` uses ``torch.load(weights_only=True)``: tensors, numbers,
strings and containers only; a file that needs arbitrary code to unpickle is
refused with a ``ValueError``.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Save a checkpoint dictionary atomically with ``torch.save``.

    Keep ``state`` to tensors, numbers, strings, lists and dicts (convert
    dataclasses with ``dataclasses.asdict``) so that it loads with
    ``weights_only=True``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by ``save_checkpoint``, safely.

    Raises:
        ValueError: the file is missing, truncated, or holds objects that
            only an unrestricted unpickler could build.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist; pass the path a training run wrote with --checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"refusing to load checkpoint {path}: it holds objects outside the safe set "
            f"(tensors, numbers, strings, containers) ({err}). Only load checkpoints you trust, "
            f"and save them with gnnkit.train.checkpoint.save_checkpoint."
        ) from err
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(f"checkpoint {path} is unreadable or truncated ({err}); rerun training to rewrite it") from err
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path} holds a {type(state).__name__}, expected a dict written by save_checkpoint")
    return state
