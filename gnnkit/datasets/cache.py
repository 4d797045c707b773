"""Processed-dataset cache: ``Graph`` / ``InteractionDataset`` saved as tensors.

Entries live in ``gnnkit.settings.cache_dir()`` under a key that hashes the
dataset name, the reader options, a format version and the sha256 of every
catalogued raw file. Each entry also records every file its reader actually
read (name, size, sha256) and every optional file it looked for and did not
find; a hit is served only while all of them are unchanged, so adding,
removing or editing, say, a ``features.csv`` beside a MUSAE graph rebuilds it. Entries
are written with ``gnnkit.io.save_verified`` (atomic, with a sha256 of the
payload) and read back with ``gnnkit.io.load_verified``: a corrupted or
truncated entry is rebuilt, and only tensors, numbers, strings and containers
are ever unpickled.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.datasets.knowledge_graph import KnowledgeGraph
from gnnkit.graph import Graph
from gnnkit.io import load_verified, save_verified, sha256_file
from gnnkit.settings import cache_dir

log = logging.getLogger(__name__)

# Bump when a reader's output changes, so older entries are not reused.
FORMAT_VERSION = 5  # 5: LightGCN-format item ids with gaps renumbered
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
    if g.x is not None and _mostly_zero(g.x):  # bag-of-words features: store the non-zeros only
        index = g.x.nonzero().T
        state["x"] = {"index": index.to(torch.int32) if max(g.x.shape) < 2**31 else index,
                      "values": g.x[index[0], index[1]], "shape": list(g.x.shape)}
    return _narrow(state)


def _narrow(state: dict) -> dict:
    """Store int64 tensors whose values fit as int32 (half the bytes to read
    and to hash on every hit); ``_widen`` restores them."""
    narrowed = []
    for k, v in state.items():
        if isinstance(v, torch.Tensor) and v.dtype == torch.int64 and v.numel() \
                and -2**31 <= int(v.min()) and int(v.max()) < 2**31:
            state[k] = v.to(torch.int32)
            narrowed.append(k)
    state["int64"] = narrowed
    return state


def _widen(state: dict) -> dict:
    for k in state.get("int64", []):
        state[k] = state[k].to(torch.int64)
    return state


def _mostly_zero(x: torch.Tensor) -> bool:
    return x.dim() == 2 and x.is_floating_point() and x.numel() > 1 << 16 and int(x.count_nonzero()) < x.numel() // 8


def graph_from_state(state: dict) -> Graph:
    fields = {k: state.get(k) for k in _GRAPH_FIELDS}
    fields.update({k: v.to(torch.int64) for k, v in fields.items() if k in state.get("int64", [])})
    if isinstance(fields["x"], dict):
        sparse = fields["x"]
        x = torch.zeros(sparse["shape"], dtype=sparse["values"].dtype)
        x[sparse["index"][0].long(), sparse["index"][1].long()] = sparse["values"]
        fields["x"] = x
    return Graph(**fields, num_nodes=int(state["num_nodes"]))


def interactions_state(ds: InteractionDataset) -> dict:
    state: dict[str, Any] = {k: getattr(ds, k, None) for k in _REC_FIELDS}
    state = {k: v for k, v in state.items() if v is not None}
    state.update(kind="interactions", num_users=ds.num_users, num_items=ds.num_items, name=ds.name)
    if ds.item_titles is not None:
        state["item_titles"] = list(ds.item_titles)
    if ds.social_graph is not None:
        state["social_graph"] = graph_state(ds.social_graph)
    return _narrow(state)


def interactions_from_state(state: dict) -> InteractionDataset:
    state = _widen(dict(state))
    fields = {k: state[k] for k in _REC_FIELDS if k in state}
    social = state.get("social_graph")
    return InteractionDataset(
        num_users=int(state["num_users"]), num_items=int(state["num_items"]), name=state.get("name", ""),
        item_titles=state.get("item_titles"), social_graph=None if social is None else graph_from_state(social),
        **fields,
    )


Inputs = dict[str, list | None]  # file name under raw/ -> [size, sha256], or None: looked for, absent


def relative_inputs(inputs: dict[str, tuple[int, str] | None], raw: Path) -> Inputs:
    """``track_inputs()``'s record with paths made relative to ``raw``."""
    return {os.path.relpath(p, raw): None if v is None else list(v) for p, v in inputs.items()}


def inputs_unchanged(inputs: Inputs, raw: Path, known: dict[str, str] | None = None) -> str | None:
    """``None`` when every recorded input is as recorded, else what changed.
    ``known`` maps names to digests already computed (the catalog files)."""
    for name, record in inputs.items():
        path = raw / name
        if record is None:
            if path.is_file():
                return f"{name} was added"
            continue
        try:
            size = path.stat().st_size
        except OSError:
            return f"{name} was removed"
        if size != record[0]:
            return f"{name} changed size"
        digest = (known or {}).get(name) or sha256_file(path)
        if digest != record[1]:
            return f"{name} changed"
    return None


def save(path: Path, obj: Graph | InteractionDataset, inputs: Inputs | None = None) -> None:
    """Write ``obj`` to ``path`` atomically, with the ``inputs`` it was read from.

    Raises:
        OSError: the cache directory is full or not writable.
    """
    if isinstance(obj, KnowledgeGraph):
        state = obj.state()
    else:
        state = interactions_state(obj) if isinstance(obj, InteractionDataset) else {"kind": "graph", **graph_state(obj)}
    state["inputs"] = inputs or {}
    save_verified(path, state, kind=KIND)


def load(path: Path, raw: Path | None = None, known: dict[str, str] | None = None) -> Graph | InteractionDataset | None:
    """The cached object at ``path``, or ``None`` when absent, unreadable, or
    built from inputs under ``raw`` that have changed since (logged; the
    caller rebuilds it)."""
    try:
        if not path.is_file():  # (stat raises too: a cache folder without search permission)
            return None
        state = load_verified(path, kind=KIND)
        if raw is not None:
            changed = inputs_unchanged(state.get("inputs", {}), raw, known)
            if changed is not None:
                log.info("cache entry %s is stale (%s); rebuilding it from the raw files", path, changed)
                return None
        if state.get("kind") == "interactions":
            return interactions_from_state(state)
        if state.get("kind") == "knowledge_graph":
            return KnowledgeGraph.from_state(state)
        return graph_from_state(state)
    except Exception as err:  # truncated, tampered or from an incompatible version: rebuild from raw
        log.warning("ignoring unreadable cache entry %s (%s); rebuilding it from the raw files", path, err)
        return None
