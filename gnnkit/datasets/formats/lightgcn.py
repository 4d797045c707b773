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
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from gnnkit.datasets.formats._text import Tokens, read_bytes, rows, tokenize
from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.graph import Graph
from gnnkit.ops.edges import remove_self_loops, to_undirected

log = logging.getLogger(__name__)


def read_adjacency_lines(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(users, items)`` from lines ``user item item ...`` (vectorised: the
    first token of each line is the user, the rest its items)."""
    path = Path(path)
    tokens = tokenize(read_bytes(path), str(path), comments=b"")
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
    return users, items


def read_lightgcn(folder: str | Path, *, name: str = "") -> InteractionDataset:
    """Read ``train.txt`` / ``test.txt`` (``user item item ...`` per line).

    Args:
        folder: holds ``train.txt`` and ``test.txt``.
        name: dataset name for reports.
    """
    folder = Path(folder)
    tr_u, tr_i = read_adjacency_lines(folder / "train.txt")
    te_u, te_i = read_adjacency_lines(folder / "test.txt")
    num_users = int(max(tr_u.max(initial=-1), te_u.max(initial=-1))) + 1
    num_items = int(max(tr_i.max(initial=-1), te_i.max(initial=-1))) + 1
    return InteractionDataset(
        num_users=num_users, num_items=num_items,
        train_interactions=torch.from_numpy(np.stack([tr_u, tr_i])),
        test_interactions=torch.from_numpy(np.stack([te_u, te_i])), name=name,
    )


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
    return values - 1, tokens


def read_lastfm(folder: str | Path, *, name: str = "") -> InteractionDataset:
    """Read LightGCN-PyTorch's Last.fm folder (1-based ``user item count``
    rows; ``trustnetwork.txt`` user–user pairs).

    ``num_users`` is the largest user id over the three files, ``num_items``
    the largest item id; the trust network is symmetrised, deduplicated and
    stripped of self-loops.
    """
    folder = Path(folder)
    train, _ = _triples(folder / "data1.txt", (2, 3))
    test, _ = _triples(folder / "test1.txt", (2, 3))
    trust_path = folder / "trustnetwork.txt"
    trust = _triples(trust_path, (2, 2))[0] if trust_path.is_file() else np.zeros((0, 2), dtype=np.int64)
    num_users = int(max(train[:, 0].max(), test[:, 0].max(initial=-1), trust.max(initial=-1))) + 1
    num_items = int(max(train[:, 1].max(), test[:, 1].max(initial=-1))) + 1
    social = None
    if trust_path.is_file():
        ei = torch.from_numpy(trust.T.copy())
        ei, _ = remove_self_loops(ei)
        before = ei.size(1)
        ei, _ = to_undirected(ei, num_nodes=num_users)
        log.debug("%s: %d trust rows -> %d directed edges after symmetrising", trust_path, before, ei.size(1))
        social = Graph(edge_index=ei, num_nodes=num_users)
    return InteractionDataset(
        num_users=num_users, num_items=num_items,
        train_interactions=torch.from_numpy(train.T.copy()), test_interactions=torch.from_numpy(test.T.copy()),
        social_graph=social, name=name,
    )
