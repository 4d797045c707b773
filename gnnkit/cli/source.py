"""Where a checkpoint's data came from, so that ``predict`` and ``recommend``
need no ``--root`` or ``--dataset`` the training run already had.

``gnnkit train TASK --checkpoint PATH`` adds a ``"source"`` entry to the
finished checkpoint: the ``--dataset`` value, the data root it was read from
(absolute), and for recommendation the dataset's own user and item ids.
Checkpoints without one (written by the Python API, or by an older gnnkit)
still work: the commands then fall back to ``--root`` / ``$GNNKIT_DATA``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

ROOT_HELP = ("data root holding NAME/raw/ (default: the root the checkpoint was trained from, else "
             "$GNNKIT_DATA or the default data folder)")


def record_source(checkpoint: str | None, dataset: str, root: str | None, **extra: Any) -> None:
    """Add ``{"dataset", "root", **extra}`` as ``"source"`` to the checkpoint
    at ``checkpoint`` (nothing when ``None`` or not written, e.g. on a rank
    other than 0 under ``torchrun``), keeping its digest valid.

    Args:
        checkpoint: the ``--checkpoint`` path of a finished run.
        dataset: the ``--dataset`` value (a catalog name, a folder or a file).
        root: the ``--root`` value (``None``: ``$GNNKIT_DATA`` or the default).
        **extra: more entries (tensors, numbers, strings, containers).
    """
    from gnnkit.io import exclusive_lock, load_verified, save_verified
    from gnnkit.settings import data_root, distributed_env

    env = distributed_env()
    if env is not None and env[0] != 0:  # under torchrun rank 0 alone writes the checkpoint
        return
    if checkpoint is None or not Path(checkpoint).is_file():
        return
    folder = data_root(root)
    with exclusive_lock(checkpoint):  # a run that starts writing it now gets an error, not a mix
        state = load_verified(checkpoint)
        # a root that does not exist (a built-in dataset needs none) is not worth remembering
        state["source"] = {"dataset": dataset, "root": str(folder.resolve()) if folder.is_dir() else None, **extra}
        save_verified(checkpoint, state, kind=f"gnnkit.{state['task']}")


def dataset_and_root(ckpt: dict[str, Any], path: str, args: argparse.Namespace,
                     recorded_name: str | None) -> tuple[str, str | None]:
    """``(dataset, root)`` for a command reading the checkpoint at ``path``:
    ``--dataset`` / ``--root`` when given, else what the checkpoint recorded.

    Raises:
        ValueError: no dataset is given or recorded, or the recorded root no
            longer exists (the message names it and says to pass ``--root``).
    """
    source = ckpt.get("source") or {}
    name = getattr(args, "dataset", None) or source.get("dataset") or recorded_name
    if not name:
        raise ValueError(f"checkpoint {path} does not record its dataset; pass --dataset NAME")
    root = source.get("root")
    if args.root is not None or root is None or _needs_no_root(str(name)):
        return str(name), args.root
    if not Path(root).is_dir():
        raise ValueError(f"checkpoint {path} was trained on data under {root}, which no longer exists; pass "
                         f"--root DIR with the folder that now holds {name}/raw/")
    return str(name), root


def canonical_dataset(name: str, root: str | None) -> str:
    """``--dataset`` as a later command run from another folder finds it: a
    folder or file given by a relative path (not a catalog name, not under
    the data root) is made absolute; anything else is kept as given."""
    from gnnkit.datasets.catalog import names
    from gnnkit.settings import data_root

    if name in names() or (data_root(root) / name).exists() or not Path(name).exists():
        return name
    return str(Path(name).resolve())


def _needs_no_root(name: str) -> bool:
    """A catalogued dataset with no files (karate), or a dataset given by its absolute path."""
    from gnnkit.datasets.catalog import get, names

    return (name in names() and not get(name).files) or Path(name).is_absolute()


__all__ = ["ROOT_HELP", "canonical_dataset", "dataset_and_root", "record_source"]
