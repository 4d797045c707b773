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


# Largest n for which u * n + v (u, v < n) fits in int64.
_PACK_LIMIT = 3_037_000_499


def unique_pairs(a: Tensor, b: Tensor, num_b: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Distinct ``(a, b)`` pairs in lexicographic order, and where each input went.

    Packs each pair into one int64 key ``a * num_b + b`` when that cannot
    overflow, and otherwise sorts by ``b`` then (stably) by ``a``, so ids of
    2^32 and beyond come out exact instead of wrapping.

    Args:
        a, b: ``[E]`` non-negative integer tensors.
        num_b: an upper bound on ``b`` (exclusive); default ``b.max() + 1``.

    Returns:
        ``(unique_a, unique_b, inverse)`` with ``inverse[e]`` the position of
        pair ``e`` in the output.
    """
    a, b = a.to(torch.int64), b.to(torch.int64)
    if a.numel() == 0:
        return a, b, torch.zeros(0, dtype=torch.int64, device=a.device)
    span_b = max(int(num_b) if num_b is not None else int(b.max()) + 1, 1)
    span_a = int(a.max()) + 1
    if span_b <= _PACK_LIMIT and span_a <= (2**63 - 1) // span_b:  # a * span_b + b fits in int64
        key, inverse = torch.unique(a * span_b + b, sorted=True, return_inverse=True)
        return key // span_b, key % span_b, inverse
    perm = torch.argsort(b, stable=True)
    perm = perm[torch.argsort(a[perm], stable=True)]
    sa, sb = a[perm], b[perm]
    first = torch.ones(sa.numel(), dtype=torch.bool, device=a.device)
    first[1:] = (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.cumsum(first, 0) - 1
    return sa[first], sb[first], inverse


def coalesce(
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    num_nodes: int | None = None,
    reduce: str = "sum",
) -> tuple[Tensor, Tensor | None]:
    """Sort edges by (source, target) and merge duplicates.

    Duplicate weights are combined with ``reduce`` (``"sum"``, ``"mean"``,
    ``"max"``, ``"min"``). Exact for any int64 ids (see ``unique_pairs``).

    Raises:
        ValueError: an id is negative or not below ``num_nodes``.
    """
    from gnnkit.ops.scatter import scatter

    n = _num_nodes(edge_index, num_nodes)
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= max(n, 1)):
        raise ValueError(f"coalesce: edge_index holds ids from {int(edge_index.min())} to {int(edge_index.max())}, "
                         f"expected 0 <= id < num_nodes = {n}; pass the right num_nodes")
    src, dst, inverse = unique_pairs(edge_index[0], edge_index[1], n)
    out = torch.stack([src, dst]).to(edge_index.dtype)
    if edge_weight is None:
        return out, None
    return out, scatter(edge_weight, inverse, src.numel(), reduce=reduce)


def to_undirected(
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    num_nodes: int | None = None,
    reduce: str = "sum",
) -> tuple[Tensor, Tensor | None]:
    """Add the reverse of every edge and merge duplicates (``coalesce``).

    A self-loop ``i → i`` is its own reverse, so it is not added twice: a
    weighted loop keeps its weight.
    """
    loop = edge_index[0] == edge_index[1]
    reverse = edge_index[:, ~loop].flip(0)
    both = torch.cat([edge_index, reverse], dim=1)
    weight = None if edge_weight is None else torch.cat([edge_weight, edge_weight[~loop]])
    return coalesce(both, weight, _num_nodes(edge_index, num_nodes), reduce=reduce)


def degree(index: Tensor, num_nodes: int | None = None, weight: Tensor | None = None, dtype=None) -> Tensor:
    """Number (or total weight) of entries per node in ``index``.

    ``degree(edge_index[1], n)`` is the in-degree, ``degree(edge_index[0], n)``
    the out-degree. PyG's ``degree(index, n, dtype)`` (a dtype third) works too.
    """
    if isinstance(weight, torch.dtype):  # PyG's degree(index, num_nodes, dtype)
        weight, dtype = None, weight
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
