"""Pure functions on edge lists: self-loops, coalescing, symmetrising, degree.

Edges are ``[2, E]`` integer tensors with row 0 the source ``j`` and row 1 the
target ``i`` (messages flow ``j → i``). Every function returns new tensors.
"""
from __future__ import annotations

import torch
from torch import Tensor


def remove_self_loops(edge_index: Tensor, edge_weight: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """Drop every edge ``i → i``."""
    keep = edge_index[0] != edge_index[1]
    return edge_index[:, keep], None if edge_weight is None else edge_weight[keep]


def add_self_loops(
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    num_nodes: int | None = None,
    fill_value: float = 1.0,
) -> tuple[Tensor, Tensor | None]:
    """Append one loop ``i → i`` per node (weight ``fill_value``).

    Existing loops are kept as they are; use ``remove_self_loops`` first to
    replace them.
    """
    n = _num_nodes(edge_index, num_nodes)
    loops = torch.arange(n, device=edge_index.device, dtype=edge_index.dtype).repeat(2, 1)
    out = torch.cat([edge_index, loops], dim=1)
    if edge_weight is None:
        return out, None
    fill = torch.full((n,), fill_value, dtype=edge_weight.dtype, device=edge_weight.device)
    return out, torch.cat([edge_weight, fill])


def coalesce(
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    num_nodes: int | None = None,
    reduce: str = "sum",
) -> tuple[Tensor, Tensor | None]:
    """Sort edges by (source, target) and merge duplicates.

    Duplicate weights are combined with ``reduce`` (``"sum"``, ``"mean"``,
    ``"max"``, ``"min"``).
    """
    from gnnkit.ops.scatter import scatter

    n = _num_nodes(edge_index, num_nodes)
    key = edge_index[0].to(torch.int64) * max(n, 1) + edge_index[1].to(torch.int64)
    unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
    out = torch.stack([unique // max(n, 1), unique % max(n, 1)]).to(edge_index.dtype)
    if edge_weight is None:
        return out, None
    return out, scatter(edge_weight, inverse, unique.numel(), reduce=reduce)


def to_undirected(
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    num_nodes: int | None = None,
    reduce: str = "sum",
) -> tuple[Tensor, Tensor | None]:
    """Add the reverse of every edge and merge duplicates (``coalesce``)."""
    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    weight = None if edge_weight is None else torch.cat([edge_weight, edge_weight])
    return coalesce(both, weight, _num_nodes(edge_index, num_nodes), reduce=reduce)


def degree(index: Tensor, num_nodes: int | None = None, weight: Tensor | None = None, dtype=None) -> Tensor:
    """Number (or total weight) of entries per node in ``index``.

    ``degree(edge_index[1], n)`` is the in-degree, ``degree(edge_index[0], n)``
    the out-degree.
    """
    n = int(index.max()) + 1 if num_nodes is None and index.numel() else (num_nodes or 0)
    if weight is None:
        out = torch.bincount(index.to(torch.int64), minlength=n)
        return out.to(dtype or torch.float32)
    out = torch.zeros(n, dtype=dtype or weight.dtype, device=index.device)
    return out.index_add_(0, index.to(torch.int64), weight.to(out.dtype))


def _num_nodes(edge_index: Tensor, num_nodes: int | None) -> int:
    if num_nodes is not None:
        return int(num_nodes)
    return int(edge_index.max()) + 1 if edge_index.numel() else 0
