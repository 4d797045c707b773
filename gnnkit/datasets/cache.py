"""Processed-dataset cache: ``Graph`` / ``InteractionDataset`` saved as tensors.

Entries live in ``gnnkit.settings.cache_dir()`` under a key that hashes the
dataset name, the reader options, a format version and the sha256 of every
raw file, so a changed raw file is never served from a stale entry. Entries
are written with ``gnnkit.io.save_verified`` (atomic, with a sha256 of the
payload) and read back with ``gnnkit.io.load_verified``: a corrupted or
truncated entry is rebuilt, and only tensors, numbers, strings and containers
are ever unpickled.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.graph import Graph
from gnnkit.io import load_verified, save_verified
from gnnkit.settings import cache_dir

log = logging.getLogger(__name__)

# Bump when a reader's output changes, so older entries are not reused.
FORMAT_VERSION = 2
KIND = "gnnkit-processed-dataset"

_GRAPH_FIELDS = ("x", "edge_index", "edge_weight", "y", "train_mask", "val_mask", "test_mask")
_REC_FIELDS = ("train_interactions", "test_interactions", "val_interactions", "ratings", "timestamps",
               "user_ids", "item_ids")


def cache_path(name: str, digests: dict[str, str], options: dict[str, Any]) -> Path:
    """Where the processed ``name`` built from raw files with ``digests`` and
    reader ``options`` lives."""
    blob = json.dumps({"v": FORMAT_VERSION, "name": name, "raw": digests, "options": options},
                      sort_keys=True, default=str)
    return cache_dir() / name / f"{hashlib.sha256(blob.encode()).hexdigest()[:24]}.pt"


def graph_state(g: Graph) -> dict:
    state = {k: getattr(g, k) for k in _GRAPH_FIELDS if getattr(g, k) is not None}
    state["num_nodes"] = g.num_nodes
    return state


def graph_from_state(state: dict) -> Graph:
    return Graph(**{k: state.get(k) for k in _GRAPH_FIELDS}, num_nodes=int(state["num_nodes"]))


def interactions_state(ds: InteractionDataset) -> dict:
    state: dict[str, Any] = {k: getattr(ds, k, None) for k in _REC_FIELDS}
    state = {k: v for k, v in state.items() if v is not None}
    state.update(kind="interactions", num_users=ds.num_users, num_items=ds.num_items, name=ds.name)
    if ds.item_titles is not None:
        state["item_titles"] = list(ds.item_titles)
    if ds.social_graph is not None:
        state["social_graph"] = graph_state(ds.social_graph)
    return state


def interactions_from_state(state: dict) -> InteractionDataset:
    fields = {k: state[k] for k in _REC_FIELDS if k in state}
    social = state.get("social_graph")
    return InteractionDataset(
        num_users=int(state["num_users"]), num_items=int(state["num_items"]), name=state.get("name", ""),
        item_titles=state.get("item_titles"), social_graph=None if social is None else graph_from_state(social),
        **fields,
    )


def save(path: Path, obj: Graph | InteractionDataset) -> None:
    """Write ``obj`` to ``path`` atomically."""
    state = interactions_state(obj) if isinstance(obj, InteractionDataset) else {"kind": "graph", **graph_state(obj)}
    save_verified(path, state, kind=KIND)


def load(path: Path) -> Graph | InteractionDataset | None:
    """The cached object at ``path``, or ``None`` when absent or unreadable
    (an unreadable entry is logged and rebuilt by the caller)."""
    if not path.is_file():
        return None
    try:
        state = load_verified(path, kind=KIND)
        if state.get("kind") == "interactions":
            return interactions_from_state(state)
        return graph_from_state(state)
    except Exception as err:  # truncated, tampered or from an incompatible version: rebuild from raw
        log.warning("ignoring unreadable cache entry %s (%s); rebuilding it from the raw files", path, err)
        return None
