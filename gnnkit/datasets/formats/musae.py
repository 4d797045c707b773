"""MUSAE social graphs (facebook, lastfm-asia, twitch, github, wikipedia, deezer).

Files (Rozemberczki et al., https://github.com/benedekrozemberczki/karateclub,
``dataset/node_level/<name>``): ``edges.csv`` (``id_1,id_2``), ``target.csv``
(``id,target``: one row per node, ids ``0..N-1``) and optionally
``features.csv`` (``node_id,feature_id,value``) or ``features.json``
(``{"node": [feature ids]}``, binary). Edges are undirected: both directions,
duplicates merged (counted in a debug log), self-loops dropped. Without a
features file ``x`` is ``None``.

The features are binary and under 1 % dense. ``read_musae_features`` returns
them as a sparse ``CSR`` ``[N, F]`` (row = node) at any size; ``read_musae``
puts them in ``Graph.x`` densely only while that takes at most
``DENSE_LIMIT`` entries (128 MiB of float32), and otherwise leaves ``x``
``None`` with a warning pointing to ``read_musae_features``.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from gnnkit.datasets.formats._text import check_ids, check_span, check_unique, column, exists, read_bytes, read_table
from gnnkit.graph import Graph
from gnnkit.ops.edges import remove_self_loops, to_undirected
from gnnkit.ops.sparse import CSR, build_csr

log = logging.getLogger(__name__)

DENSE_LIMIT = 1 << 25  # entries of a dense x read_musae builds (128 MiB of float32)


def read_musae(folder: str | Path) -> Graph:
    """Read a MUSAE folder into an undirected ``Graph``.

    Shapes:
        x ``[N, F]`` float32 dense (or ``None``), y ``[N]`` long (float when
        the targets are not integers), edge_index ``[2, E]``.
    """
    folder = Path(folder)
    names, tok, width = read_table(folder / "target.csv", 2, 64)
    id_col = names.index("id") if names and "id" in names else 0
    y_col = names.index("target") if names and "target" in names else width - 1
    ids = column(tok, width, id_col).to_int(what="node id")
    n = ids.size
    check_unique(ids, column(tok, width, id_col), "node id")
    check_ids(ids, column(tok, width, id_col), n, "node id", f"target.csv must number its {n} nodes 0..{n - 1}")
    target = column(tok, width, y_col).to_float(what="target", limit=2.0**53)  # (inf or 1e300: no class id)
    y = np.zeros(n, dtype=target.dtype)
    y[ids] = target
    integral = bool(np.all(y == np.rint(y)))
    if integral:  # class ids: a stray huge one would size the model's output layer
        check_span(target.astype(np.int64), "target", "targets are class ids 0..C-1", source=tok.source,
                   line=column(tok, width, y_col).line, floor=1 << 16)
    y_t = torch.from_numpy(y.astype(np.int64)) if integral else torch.from_numpy(y.astype(np.float32))

    _, etok, ewidth = read_table(folder / "edges.csv", 2)
    ei = np.stack([column(etok, ewidth, k).to_int(what="node id") for k in (0, 1)])
    for k in (0, 1):
        check_ids(ei[k], column(etok, ewidth, k), n, "node id", "every edge endpoint must be listed in target.csv")
    ei_t, _ = remove_self_loops(torch.from_numpy(ei))
    rows = ei_t.size(1)
    ei_t, _ = to_undirected(ei_t, num_nodes=n)
    log.debug("%s: %d edge rows (%d self-loops dropped) -> %d directed edges, duplicates merged",
              folder / "edges.csv", ei.shape[1], ei.shape[1] - rows, ei_t.size(1))
    return Graph(x=_features(folder, n), edge_index=ei_t, y=y_t, num_nodes=n)


def _num_nodes(folder: Path) -> int:
    names, tok, width = read_table(folder / "target.csv", 2, 64)
    id_col = names.index("id") if names and "id" in names else 0
    return int(column(tok, width, id_col).to_int(what="node id").size)


def read_musae_features(folder: str | Path, num_nodes: int | None = None) -> CSR | None:
    """The node features of a MUSAE folder as a sparse ``CSR`` (row = node,
    column = feature id, the file's values), or ``None`` without a features file.

    Args:
        folder: holds ``features.csv`` or ``features.json`` (and ``target.csv``).
        num_nodes: rows of the matrix (default: the rows of ``target.csv``).

    Shapes:
        ``[num_nodes, max feature id + 1]``, ``nnz`` = feature entries.
    """
    folder = Path(folder)
    n = _num_nodes(folder) if num_nodes is None else int(num_nodes)
    entries = _feature_entries(folder, n)
    if entries is None:
        return None
    node, feat, value, _ = entries
    return build_csr(torch.stack([torch.from_numpy(feat), torch.from_numpy(node)]), n,
                     torch.from_numpy(value.astype(np.float32)), num_cols=int(feat.max()) + 1)


def _features(folder: Path, n: int) -> torch.Tensor | None:
    entries = _feature_entries(folder, n)
    if entries is None:
        return None
    node, feat, value, source = entries
    width = int(feat.max()) + 1
    if n * width > DENSE_LIMIT:
        log.warning("%s: %d x %d features (%.2f %% non-zero) are too large to hold dense in Graph.x "
                    "(limit %d entries); x is None. Read them sparse with "
                    "gnnkit.datasets.formats.musae.read_musae_features(%r)", source, n, width,
                    100 * len(node) / max(n * width, 1), DENSE_LIMIT, str(folder))
        return None
    x = np.zeros((n, width), dtype=np.float32)
    x[node, feat] = value
    return torch.from_numpy(x)


def _feature_entries(folder: Path, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str] | None:
    """``(node, feature, value, source)`` of the features file, checked, or ``None``."""
    csv_path, json_path = folder / "features.csv", folder / "features.json"
    if exists(csv_path):
        _, tok, width = read_table(csv_path, 3)
        node_tok, feat_tok = column(tok, width, 0), column(tok, width, 1)
        node = node_tok.to_int(what="node id")
        feat = feat_tok.to_int(what="feature id")
        value = column(tok, width, 2).to_float(what="feature value")
        check_ids(node, node_tok, n, "node id", "features.csv may only describe nodes of target.csv")
        _check_features(feat, str(csv_path), feat_tok.line)
        return node.astype(np.int64), feat.astype(np.int64), value, str(csv_path)
    if exists(json_path):
        arr = _json_pairs(json_path, n)
        if arr is None:
            return None
        _check_features(arr[:, 1], str(json_path), None)
        return arr[:, 0], arr[:, 1], np.ones(len(arr)), str(json_path)
    return None


def _json_pairs(json_path: Path, n: int) -> np.ndarray | None:
    """``[K, 2]`` (node, feature id) pairs of a ``features.json``, node ids checked."""
    def unique_keys(items: list) -> dict:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            twice = next(k for k in keys if keys.count(k) > 1)
            raise ValueError(f"{json_path}: node {twice!r} is listed twice; give each node one list")
        return dict(items)

    try:
        table = json.loads(read_bytes(json_path).decode("utf-8"), object_pairs_hook=unique_keys)
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError both
        if "is listed twice" in str(err):
            raise
        raise ValueError(f"{json_path} is not valid JSON ({err}); re-download it") from err
    if not isinstance(table, dict):
        raise ValueError(f"{json_path} holds a {type(table).__name__}, expected an object "
                         f'{{"node id": [feature ids]}}')
    pairs = []
    for key, feats in table.items():
        node = int(key) if key.isdigit() and key.isascii() else None
        if node is None or str(node) != key:  # "00", "+1", " 1" would silently merge into another node's row
            raise ValueError(f"{json_path}: node id {key!r} is not a plain integer (node and feature ids must be "
                             f"integers, written 0, 1, 2, ...)")
        if not isinstance(feats, list):
            raise ValueError(f"{json_path}: node {key} maps to {type(feats).__name__}, expected a list of feature ids")
        for f in feats:
            if type(f) is not int:  # not 1.5, 2.9999 or true: they would be truncated to another feature
                raise ValueError(f"{json_path}: node {key} lists feature id {f!r}, which is not an integer (node "
                                 f'and feature ids must be integers, as in {{"0": [1, 5]}})')
            pairs.append((node, f))
    if not pairs:
        return None
    arr = np.array(pairs, dtype=np.int64)
    bad = (arr[:, 0] < 0) | (arr[:, 0] >= n)
    if bad.any():
        raise ValueError(f"{json_path}: node id {int(arr[np.argmax(bad), 0])} is out of range 0..{n - 1} "
                         f"(the nodes of target.csv)")
    return arr


def _check_features(feat: np.ndarray, source: str, line: np.ndarray | None) -> None:
    """Feature ids must be ``0..F-1`` with ``F`` not absurdly beyond the ids present."""
    at = (lambda k: f"{source}, line {int(line[k])}") if line is not None else (lambda k: source)  # noqa: E731
    if (feat < 0).any():  # a negative id would index from the end and set the wrong column
        k = int(np.argmax(feat < 0))
        raise ValueError(f"{at(k)}: feature id {int(feat[k])} is negative; feature ids are 0..F-1")
    check_span(feat, "feature id", "feature ids must number the features 0..F-1", source=source, line=line,
               floor=1 << 12)
