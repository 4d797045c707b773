"""Checkpoint files: verified save and load (moved to ``gnnkit.io``).

``save_checkpoint``/``load_checkpoint`` keep their names for existing code;
they are ``gnnkit.io.save_verified``/``load_verified``: an atomic write with a
sha256 digest of the payload, checked on load, and ``torch.load`` restricted
to tensors, numbers, strings and containers.
"""
from __future__ import annotations

import os
from typing import Any

from gnnkit.io import atomic_write_bytes, load_verified, save_verified

_KIND = "gnnkit.checkpoint"


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Save a dict atomically with a digest (``gnnkit.io.save_verified``)."""
    save_verified(path, state, kind=_KIND)


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load any checkpoint gnnkit wrote (engine checkpoints included), verified.

    Raises:
        ValueError: the file is missing, corrupted, truncated, or holds objects
            that only an unrestricted unpickler could build.
    """
    return load_verified(path, map_location=map_location)


__all__ = ["atomic_write_bytes", "load_checkpoint", "save_checkpoint"]
