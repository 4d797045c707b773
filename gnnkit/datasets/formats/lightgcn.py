"""LightGCN text formats as an ``InteractionDataset``.

``read_lightgcn``: ``train.txt`` / ``test.txt`` with one line per user,
``user item item ...`` (0-based remapped ids, He et al., SIGIR 2020,
https://github.com/kuandeng/LightGCN): gowalla, yelp2018, amazon-book. The
published split is kept; ``num_users`` / ``num_items`` are the largest id + 1
over both files.

``read_lastfm``: the Last.fm data of LightGCN-PyTorch
(https://github.com/gusye1234/LightGCN-PyTorch, ``data/lastfm``): ``data1.txt``
(train) and ``test1.txt`` as ``user item count``, 1-based, and
``trustnetwork.txt`` (``user user``), exposed as the undirected
``social_graph``.

Every interaction format is deduplicated the same way (``dedup_splits``): a
(user, item) pair counts once per split, and a pair already in the training
split is dropped from the evaluation splits (with a warning), so no pair is
ever both trained on and tested.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gnnkit.datasets.formats._text import Tokens, check_span, exists, read_bytes, rows, tokenize
from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.graph import Graph
from gnnkit.ops.edges import remove_self_loops, to_undirected, unique_pairs

log = logging.getLogger(__name__)


def dedup_splits(splits: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """Each split's distinct ``[n, 2]`` (user, item) rows, in input order,
    with pairs of the first split (train) removed from the others.

    Repeats are logged; a train/test overlap is warned about, since it
    changes a published split. Files sorted by (user, item), as the published
    ones are, are checked in one linear pass.
    """
    names = list(splits)
    keys = _pair_keys([splits[k] for k in names])
    out: dict[str, np.ndarray] = {}
    train_sorted = np.zeros(0, dtype=np.int64)
    for k, name in enumerate(names):
        key = keys[k]
        keep = np.ones(len(key), dtype=bool)
        if len(key) > 1 and not (key[1:] > key[:-1]).all():  # not strictly increasing: sort to find repeats
            uniq, first = np.unique(key, return_index=True)
            keep[:] = False
            keep[first] = True  # the first occurrence of each pair
            log.info("%s: %d repeated (user, item) rows in %s counted once", source, int((~keep).sum()), name)
        else:
            uniq = key
        if k == 0:
            train_sorted = uniq
        elif len(train_sorted):
            pos = np.minimum(np.searchsorted(train_sorted, key), len(train_sorted) - 1)
            overlap = keep & (train_sorted[pos] == key)
            if overlap.any():
                warnings.warn(f"{source}: {int(overlap.sum())} (user, item) pairs of {name} are also in train; "
                              f"dropped from {name} so that no pair is both trained on and tested", stacklevel=3)
                keep &= ~overlap
        out[name] = splits[name] if keep.all() else splits[name][keep]
    return out


def _pair_keys(parts: list[np.ndarray]) -> list[np.ndarray]:
    """One int64 key per (user, item) row, ordered like (user, item): packed
    ``user * num_items + item`` when that fits, else the rank of the pair."""
    both = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
    num_items = int(both[:, 1].max(initial=-1)) + 1
    num_users = int(both[:, 0].max(initial=-1)) + 1
    if num_users * num_items < 2**63:
        key = both[:, 0] * num_items + both[:, 1]
    else:  # ids of 2^32 and beyond: rank the pairs instead of packing them
        t = torch.from_numpy(both)
        key = unique_pairs(t[:, 0], t[:, 1])[2].numpy()
    return np.split(key, np.cumsum([len(p) for p in parts])[:-1])


def read_adjacency_lines(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(users, items)`` from lines ``user item item ...`` (vectorised: the
    first token of each line is the user, the rest its items).

    A file that does not end with a newline is probably cut mid-row (the
    published files all end with one): it is read, with a warning.
    """
    path = Path(path)
    data = read_bytes(path)
    if not data.endswith(b"\n"):
        warnings.warn(f"{path} does not end with a newline: it may be truncated mid-row (a cut download reads "
                      f"as a shorter valid line); compare it with the published file", stacklevel=3)
    tokens = tokenize(data, str(path), comments=b"")
    if len(tokens) == 0:
        raise ValueError(f"{path} has no data lines; expected lines 'user item item ...'")
    values = tokens.to_int(what="id")
    first = np.ones(len(tokens), dtype=bool)
    first[1:] = tokens.line[1:] != tokens.line[:-1]
    line_users = values[first]
    # the user of every token: the value at the start of its line
    owner = line_users[np.cumsum(first) - 1]
    users, items = owner[~first], values[~first]
    dup_lines = tokens.line[first]
    seen, counts = np.unique(line_users, return_counts=True)
    if (counts > 1).any():
        u = int(seen[np.argmax(counts > 1)])
        where = dup_lines[line_users == u]
        raise ValueError(f"{path}, line {int(where[1])}: user {u} already has a line (line {int(where[0])}); "
                         f"merge the two lines into one")
    negative = values < 0
    if negative.any():
        k = int(np.argmax(negative))
        raise ValueError(f"{path}, line {int(tokens.line[k])}: id {int(values[k])} is negative; ids must be >= 0")
    fix = "this format numbers users and items 0..n-1 (remap the raw ids first)"
    check_span(line_users, "user id", fix, source=str(path), line=dup_lines)
    check_span(items, "item id", fix, source=str(path), line=tokens.line[~first])
    return users, items


def read_lightgcn(folder: str | Path, *, name: str = "") -> InteractionDataset:
    """Read ``train.txt`` / ``test.txt`` (``user item item ...`` per line).

    Repeated items on a user's line count once, and a test pair that is also
    a training pair is dropped from test (``dedup_splits``). Item ids are
    used as they are when they run ``0 .. n-1`` (the format's convention,
    Gowalla's); with gaps they are renumbered and the file ids kept as
    ``item_ids`` (the ids ``gnnkit recommend`` prints), so that no item id
    that no file mentions is ranked or recommended. A missing user id is a
    user without interactions, never ranked (``cold_users``).

    Args:
        folder: holds ``train.txt`` and ``test.txt``.
        name: dataset name for reports.
    """
    folder = Path(folder)
    tr_u, tr_i = read_adjacency_lines(folder / "train.txt")
    te_u, te_i = read_adjacency_lines(folder / "test.txt")
    (tr_i, te_i), item_ids = _renumber(tr_i, te_i)  # (a user id without a line is a user without items: kept)
    num_users = int(max(tr_u.max(initial=-1), te_u.max(initial=-1))) + 1
    num_items = int(max(tr_i.max(initial=-1), te_i.max(initial=-1))) + 1
    splits = dedup_splits({"train": np.stack([tr_u, tr_i], 1), "test": np.stack([te_u, te_i], 1)}, str(folder))
    return InteractionDataset(
        num_users=num_users, num_items=num_items,
        train_interactions=torch.from_numpy(np.ascontiguousarray(splits["train"].T)),
        test_interactions=torch.from_numpy(np.ascontiguousarray(splits["test"].T)), name=name,
        item_ids=item_ids,
    )


def _renumber(*parts: np.ndarray) -> tuple[list[np.ndarray], Tensor | None]:
    """Ids numbered ``0 .. n-1`` as they are (the format's convention), or,
    when some id below the largest occurs in no file, renumbered densely in
    the ids' order with the file ids returned: an item id nothing mentions
    would otherwise be an item nobody has, ranked and recommended like the
    others."""
    ids = np.unique(np.concatenate(parts)) if any(p.size for p in parts) else np.zeros(0, dtype=np.int64)
    if ids.size == 0 or int(ids[-1]) + 1 == ids.size:
        return list(parts), None
    return [np.searchsorted(ids, p) for p in parts], torch.from_numpy(ids.astype(np.int64))


def _triples(path: Path, ncols: tuple[int, int]) -> tuple[np.ndarray, Tokens]:
    tokens = tokenize(read_bytes(path), str(path), comments=b"#")
    _, _, width = rows(tokens, *ncols)
    ids = Tokens(tokens.values.reshape(-1, width)[:, :2].reshape(-1),
                 np.repeat(tokens.line.reshape(-1, width)[:, 0], 2), tokens.source)
    values = ids.to_int(what="id").reshape(-1, 2)
    if (values < 1).any():
        k = int(np.argmax((values < 1).any(1)))
        raise ValueError(f"{path}, line {int(ids.line[2 * k])}: id {int(values[k].min())} is not 1-based; "
                         f"this format numbers users and items from 1")
    check_span(values.reshape(-1), "id", "this format numbers users and items 1..n", source=str(path), line=ids.line)
    return values - 1, tokens


def read_lastfm(folder: str | Path, *, name: str = "") -> InteractionDataset:
    """Read LightGCN-PyTorch's Last.fm folder (1-based ``user item count``
    rows; ``trustnetwork.txt`` user–user pairs).

    ``num_users`` is the largest user id over the three files, ``num_items``
    the largest item id; user ``u`` and item ``i`` are the files' ids
    ``u + 1`` and ``i + 1`` (``user_ids`` / ``item_ids``); interactions are
    deduplicated like the LightGCN format (``dedup_splits``); the trust
    network is symmetrised, deduplicated and stripped of self-loops.
    """
    folder = Path(folder)
    train, _ = _triples(folder / "data1.txt", (2, 3))
    test, _ = _triples(folder / "test1.txt", (2, 3))
    trust_path = folder / "trustnetwork.txt"
    has_trust = exists(trust_path)
    trust = _triples(trust_path, (2, 2))[0] if has_trust else np.zeros((0, 2), dtype=np.int64)
    num_users = int(max(train[:, 0].max(), test[:, 0].max(initial=-1), trust.max(initial=-1))) + 1
    num_items = int(max(train[:, 1].max(), test[:, 1].max(initial=-1))) + 1
    splits = dedup_splits({"train": train, "test": test}, str(folder))
    social = None
    if has_trust:
        ei = torch.from_numpy(trust.T.copy())
        ei, _ = remove_self_loops(ei)
        before = ei.size(1)
        ei, _ = to_undirected(ei, num_nodes=num_users)
        log.debug("%s: %d trust rows -> %d directed edges after symmetrising", trust_path, before, ei.size(1))
        social = Graph(edge_index=ei, num_nodes=num_users)
    return InteractionDataset(
        num_users=num_users, num_items=num_items,
        train_interactions=torch.from_numpy(splits["train"].T.copy()),
        test_interactions=torch.from_numpy(splits["test"].T.copy()),
        social_graph=social, name=name,
        # the files number from 1: keep their ids, so that user 1 of data1.txt is `--user 1`
        user_ids=torch.arange(1, num_users + 1), item_ids=torch.arange(1, num_items + 1),
    )
