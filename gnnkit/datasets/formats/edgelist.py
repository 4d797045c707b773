"""Edge lists (SNAP style) as a ``Graph``.

One edge per line, ``src dst [weight]``, fields separated by whitespace or
commas; lines starting with ``#`` or ``%`` are comments. A pandas DataFrame or
a 2-D numpy array with two or three columns works the same way.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gnnkit.datasets.formats._text import check_span, column, read_table
from gnnkit.graph import Graph
from gnnkit.ops.edges import coalesce, remove_self_loops, symmetrize

log = logging.getLogger(__name__)


def _from_table(source: Any) -> tuple[np.ndarray, np.ndarray | None, str, np.ndarray | None]:
    if hasattr(source, "to_numpy") and hasattr(source, "columns"):  # a pandas DataFrame, without importing pandas
        table, what = source.to_numpy(), "DataFrame"
    else:
        table, what = np.asarray(source), "array"
    if table.ndim != 2 or table.shape[1] not in (2, 3):
        raise ValueError(f"edge table ({what}) has shape {table.shape}; expected [E, 2] (src, dst) or [E, 3] "
                         f"(src, dst, weight)")
    ids = table[:, :2]
    if not np.issubdtype(ids.dtype, np.integer):
        as_int = ids.astype(np.float64).astype(np.int64)
        if not np.array_equal(as_int, ids.astype(np.float64)):
            raise ValueError(f"edge table ({what}): node ids must be integers; map names to 0..n-1 first")
        ids = as_int
    weight = table[:, 2].astype(np.float32) if table.shape[1] == 3 else None
    return ids.astype(np.int64), weight, what, None


def _from_file(path: Path, comments: str, relabel: bool) -> tuple[np.ndarray, np.ndarray | None, str, np.ndarray]:
    _, tok, width = read_table(path, 2, 3, comments=comments.encode())
    with open(path, "rb") as fh:  # read_table has checked it is a readable file
        if fh.read(20).lstrip(b"\xef\xbb\xbf").lower().startswith(b"%%matrixmarket"):
            # its size line would read as an edge, its 1-based ids as a node 0 that does not exist
            raise ValueError(f"{path} is a Matrix Market file, not an edge list: read it with scipy.io.mmread(path) "
                             f"and pass the matrix to gnnkit.Graph.from_scipy")
    ids = np.stack([column(tok, width, k).to_int(what="node id") for k in (0, 1)], axis=1)
    weight = (column(tok, width, 2).to_float(what="edge weight", limit=float(np.finfo(np.float32).max))
              .astype(np.float32) if width == 3 else None)
    neg = ids < 0
    if neg.any() and not relabel:  # (relabelled, a negative id is one more name of a node)
        r = int(np.argmax(neg.any(1)))
        raise ValueError(f"{path}, line {int(column(tok, width, 0).line[r])}: node id {int(ids[r].min())} is "
                         f"negative; ids must be >= 0 (or pass relabel=True)")
    return ids, weight, str(path), column(tok, width, 0).line


def read_edge_list(source: Any, *, undirected: bool = False, num_nodes: int | None = None, relabel: bool = False,
                   self_loops: bool = True, comments: str = "#%") -> Graph:
    """Read an edge list into a ``Graph``.

    Args:
        source: path to a text file (``src dst [weight]`` per line), or a
            pandas DataFrame / 2-D numpy array with 2 or 3 columns.
        undirected: add the reverse of every edge that lacks it (default ``False``: keep
            the edges as given, row 0 source, row 1 target).
        num_nodes: node count (default: largest id + 1, or the number of
            distinct ids with ``relabel``).
        relabel: map the distinct ids, in increasing order, to ``0..n-1``
            (for SNAP files whose ids are sparse); the original ids are
            ``torch.unique(...)`` of the input.
        self_loops: keep ``i → i`` edges (default) or drop them.
        comments: characters that start a comment line.

    Duplicate edges are merged (weights summed) and counted in a debug log;
    with ``undirected`` an edge gets its reverse when the file lacks it: an
    edge listed both ways, or a self-loop, keeps its weight (not doubled).

    Raises:
        ValueError: a malformed row (named by line), a negative id, or, without
            ``num_nodes`` / ``relabel``, an id far beyond the number of distinct
            ids (``8589934592`` in a file of ten edges), which would allocate
            that many nodes.
    """
    if isinstance(source, (str, Path)):
        ids, weight, where, line = _from_file(Path(source), comments, relabel)
    else:
        ids, weight, where, line = _from_table(source)
    if ids.shape[0] == 0:
        raise ValueError(f"{where} has no edges; expected rows 'src dst [weight]'")
    if relabel:
        _, flat = np.unique(ids, return_inverse=True)
        ids = flat.reshape(ids.shape)
    elif (ids < 0).any():
        raise ValueError(f"{where}: node id {int(ids.min())} is negative; ids must be >= 0 (or pass relabel=True)")
    elif num_nodes is None:
        check_span(ids.reshape(-1), "node id", "pass relabel=True to number the distinct ids 0..n-1, or num_nodes= "
                   "when the graph really has that many nodes", source=where,
                   line=None if line is None else np.repeat(line, 2))
    n = int(ids.max()) + 1 if num_nodes is None else int(num_nodes)
    if ids.max() >= n:
        raise ValueError(f"{where}: node id {int(ids.max())} is out of range for num_nodes={n}; "
                         f"pass a larger num_nodes or relabel=True")
    ei = torch.from_numpy(np.ascontiguousarray(ids.T))
    w = None if weight is None else torch.from_numpy(weight)
    if not self_loops:
        ei, w = remove_self_loops(ei, w)
    before = ei.size(1)
    if undirected:
        ei, w = symmetrize(ei, w, num_nodes=n)
    else:
        ei, w = coalesce(ei, w, num_nodes=n)
    log.debug("%s: %d edge rows -> %d edges after merging duplicates", where, before, ei.size(1))
    return Graph(edge_index=ei, edge_weight=w, num_nodes=n)
