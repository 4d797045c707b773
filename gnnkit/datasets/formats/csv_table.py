"""A user's own graph from CSV files: edges, and optionally labels and features.

``edges``: ``src,dst[,weight]`` rows; ``labels``: ``id,label`` rows;
``features``: ``id,f_0,f_1,...`` rows (dense). Node ids are integers
``0..N-1``; a header line is detected and skipped. Nodes without a label get
``y = -1``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gnnkit.datasets.formats._text import check_ids, check_span, check_unique, column, read_table
from gnnkit.datasets.formats.edgelist import read_edge_list
from gnnkit.graph import Graph


def from_csv(edges: str | Path, labels: str | Path | None = None, features: str | Path | None = None, *,
             undirected: bool = True, num_nodes: int | None = None) -> Graph:
    """Build a ``Graph`` from CSV files.

    Args:
        edges: path of ``src,dst[,weight]`` rows.
        labels: optional path of ``id,label`` rows (integer labels; each id once).
        features: optional path of ``id,f_0,...,f_{F-1}`` rows (each id once).
        undirected: add reverse edges (default ``True``).
        num_nodes: node count; default the largest id in any file + 1.
    """
    label_tab = feat_tab = None
    n = num_nodes
    if labels is not None:
        _, tok, width = read_table(labels, 2)
        label_tab = (column(tok, width, 0), column(tok, width, 0).to_int(what="node id"),
                     column(tok, width, 1).to_int(what="label"))
    if features is not None:
        _, tok, width = read_table(features, 2, 1_000_000)
        ids_tok = column(tok, width, 0)
        values = tok.values.reshape(-1, width)[:, 1:]
        feat_tab = (ids_tok, ids_tok.to_int(what="node id"),
                    type(tok)(values.reshape(-1), np.repeat(ids_tok.line, width - 1), tok.source))
    g = read_edge_list(Path(edges), undirected=undirected, num_nodes=num_nodes)
    for tab in (label_tab, feat_tab):
        if tab is not None and n is None:  # before sizing y / x by the largest id
            check_span(tab[1], "node id", "node ids must be 0..N-1, or pass num_nodes=", source=tab[0].source,
                       line=tab[0].line)
    if label_tab is not None:
        tok, _, lab = label_tab
        if (lab < -1).any():
            k = int(np.argmax(lab < -1))
            raise ValueError(f"{tok.source}, line {int(tok.line[k])}: label {int(lab[k])} is negative; labels are "
                             f"class ids 0..C-1 (or -1 for an unlabelled node)")
        check_span(lab, "label", "labels must be class ids 0..C-1", source=tok.source, line=tok.line, floor=1 << 16)
    if n is None:
        n = max([g.num_nodes] + [int(t[1].max()) + 1 for t in (label_tab, feat_tab) if t is not None])
    elif g.num_nodes > n:
        raise ValueError(f"{edges} uses node id {g.num_nodes - 1}, out of range for num_nodes={n}")
    y = x = None
    if label_tab is not None:
        tok, ids, lab = label_tab
        check_unique(ids, tok, "node id")
        check_ids(ids, tok, n, "node id", "pass a larger num_nodes or fix the labels file")
        y = torch.full((n,), -1, dtype=torch.long)
        y[torch.from_numpy(ids)] = torch.from_numpy(lab)
    if feat_tab is not None:
        tok, ids, values = feat_tab
        check_unique(ids, tok, "node id")
        check_ids(ids, tok, n, "node id", "pass a larger num_nodes or fix the features file")
        x = torch.zeros(n, values.values.size // max(ids.size, 1))
        f32 = float(np.finfo(np.float32).max)  # x is float32: a larger value would become inf
        x[torch.from_numpy(ids)] = torch.from_numpy(values.to_float(what="feature", limit=f32).reshape(ids.size, -1)
                                                    .astype(np.float32))
    return Graph(x=x, edge_index=g.edge_index, edge_weight=g.edge_weight, y=y, num_nodes=n)
