"""Pure functions on edge lists: self-loops, coalescing, symmetrising, degree.

Edges are ``[2, E]`` integer tensors with row 0 the source ``j`` and row 1 the
target ``i`` (messages flow ``j → i``). Every function returns new tensors.
"""
from __future__ import annotations

import torch
from torch import Tensor


def check_edge_list(edge_index: Tensor, edge_weight: Tensor | None = None, fn: str = "edge_index") -> None:
    """``ValueError`` (prefixed with ``fn``) unless ``edge_index`` is a
    ``[2, E]`` tensor of integer ids >= 0 and ``edge_weight`` (if any) has
    ``E`` rows. (A float id would be truncated to another node, a negative
    one would match none.)"""
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"{fn}: edge_index must be a [2, E] tensor, got "
                         f"{tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__}")
    if edge_index.is_floating_point() or edge_index.is_complex() or edge_index.dtype == torch.bool:
        raise ValueError(f"{fn}: edge_index must hold integer node ids, got {edge_index.dtype}")
    if edge_index.numel() and int(edge_index.min()) < 0:
        raise ValueError(f"{fn}: edge_index holds node id {int(edge_index.min())}; ids must be >= 0")
    if edge_weight is not None and (edge_weight.dim() == 0 or edge_weight.size(0) != edge_index.size(1)):
        raise ValueError(f"{fn}: edge_weight must have one row per edge, {edge_index.size(1)}, got shape "
                         f"{tuple(edge_weight.shape)}")


def remove_self_loops(edge_index: Tensor, edge_weight: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """Drop every edge ``i → i``."""
    check_edge_list(edge_index, edge_weight, "remove_self_loops")
    keep = edge_index[0] != edge_index[1]
    return edge_index[:, keep], None if edge_weight is None else edge_weight[keep]


def add_self_loops(
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    num_nodes: int | None = None,
    fill_value: float | Tensor | str | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Append one loop ``i → i`` per node, after the existing edges.

    Existing loops are kept as they are; use ``remove_self_loops`` first to
    replace them.

    Args:
        edge_index: ``[2, E]`` edges.
        edge_weight: ``[E]`` or ``[E, *]`` weights / attributes, or ``None``.
        num_nodes: an ``int`` (default ``edge_index.max() + 1``). Note the
            order: PyG's ``add_self_loops`` takes ``fill_value`` third, so pass
            both by keyword when porting PyG code.
        fill_value: the loops' weight: a number (default 1), a tensor
            broadcast to ``[N, *]``, or ``"sum"`` / ``"add"`` / ``"mean"`` /
            ``"max"`` / ``"min"`` of the weights of the edges into each node
            (0 for a node with none), as PyG's.
    """
    check_edge_list(edge_index, edge_weight, "add_self_loops")
    try:
        n = _num_nodes(edge_index, num_nodes)
    except TypeError as err:
        raise TypeError(f"add_self_loops: {err}. Its order is (edge_index, edge_weight, num_nodes, fill_value); "
                        f"PyG's takes fill_value third: pass fill_value= and num_nodes= by keyword") from None
    loops = torch.arange(n, device=edge_index.device, dtype=edge_index.dtype).repeat(2, 1)
    out = torch.cat([edge_index, loops], dim=1)
    if edge_weight is None:
        return out, None
    return out, torch.cat([edge_weight, _loop_fill(edge_index, edge_weight, n, fill_value)])


def _loop_fill(edge_index: Tensor, edge_weight: Tensor, n: int, fill_value: float | Tensor | str | None) -> Tensor:
    shape = (n, *edge_weight.shape[1:])
    if fill_value is None:
        fill_value = 1.0
    if isinstance(fill_value, str):
        from gnnkit.ops.scatter import scatter

        if fill_value not in ("sum", "add", "mean", "max", "min"):
            raise ValueError(f"add_self_loops: fill_value {fill_value!r} is not a reduction; use 'sum', 'add', "
                             f"'mean', 'max' or 'min', a number or a tensor")
        if edge_index.numel() and int(edge_index[1].max()) >= n:
            raise ValueError(f"add_self_loops: edge_index refers to node {int(edge_index[1].max())} but num_nodes = "
                             f"{n}; pass the right num_nodes")
        fill = scatter(edge_weight, edge_index[1].to(torch.int64), n, reduce=fill_value)
        # a mean of integer weights stays a float (PyG's), every other reduction keeps the weights' dtype
        return fill if fill_value == "mean" else fill.to(edge_weight.dtype)
    if isinstance(fill_value, Tensor):
        try:
            return fill_value.to(device=edge_weight.device, dtype=edge_weight.dtype).expand(shape).clone()
        except RuntimeError as err:
            raise ValueError(f"add_self_loops: a fill_value of shape {tuple(fill_value.shape)} does not broadcast "
                             f"to the loops' weights {shape}") from err
    if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float)):
        raise TypeError(f"add_self_loops: fill_value must be a number, a tensor or a reduction name, got "
                        f"{type(fill_value).__name__}")
    return torch.full(shape, fill_value, dtype=edge_weight.dtype, device=edge_weight.device)


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

    check_edge_list(edge_index, edge_weight, "coalesce")
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
    check_edge_list(edge_index, edge_weight, "to_undirected")
    loop = edge_index[0] == edge_index[1]
    reverse = edge_index[:, ~loop].flip(0)
    both = torch.cat([edge_index, reverse], dim=1)
    weight = None if edge_weight is None else torch.cat([edge_weight, edge_weight[~loop]])
    return coalesce(both, weight, _num_nodes(edge_index, num_nodes), reduce=reduce)


def symmetrize(edge_index: Tensor, edge_weight: Tensor | None = None,
               num_nodes: int | None = None) -> tuple[Tensor, Tensor | None]:
    """The undirected graph of an edge list that gives each edge once or both ways.

    Duplicates are merged first (weights summed, as ``coalesce``); then every
    edge whose reverse is missing gets it, with its weight. An edge given
    both ways keeps each direction's own weight, so ``0 1 1.0`` and
    ``1 0 1.0`` stay 1.0 (``to_undirected`` would sum them to 2.0, as PyG's);
    when the two weights differ, a warning names one such pair.
    """
    check_edge_list(edge_index, edge_weight, "symmetrize")
    n = _num_nodes(edge_index, num_nodes)
    ei, w = coalesce(edge_index, edge_weight, n)
    both = torch.cat([ei, ei.flip(0)], dim=1)
    if w is None:
        return coalesce(both, None, n)
    src, dst, inverse = unique_pairs(both[0], both[1], n)
    k, m = ei.size(1), src.numel()
    # each output pair has at most one given entry (rows :k, coalesced) and one mirrored (rows k:); placed,
    # not summed, so a NaN or inf weight stays on its own direction
    as_given = w.new_zeros((m, *w.shape[1:]))
    as_given[inverse[:k]] = w
    from_reverse = w.new_zeros((m, *w.shape[1:]))
    from_reverse[inverse[k:]] = w
    is_given = torch.zeros(m, dtype=torch.bool, device=w.device)
    is_given[inverse[:k]] = True
    has_reverse = torch.zeros(m, dtype=torch.bool, device=w.device)
    has_reverse[inverse[k:]] = True
    pick = is_given.view(-1, *([1] * (w.dim() - 1)))
    out = torch.where(pick, as_given, from_reverse)
    differ = is_given & has_reverse & (src != dst)
    differ &= (as_given != from_reverse).reshape(m, -1).any(1)
    if bool(differ.any()):
        import warnings

        i = int(differ.nonzero()[0])
        shown = (lambda t: f"{float(t):g}" if t.numel() == 1 else str(t.tolist()))
        warnings.warn(f"{int(differ.sum()) // 2} edge(s) are listed both ways with different weights (e.g. "
                      f"{int(src[i])} -> {int(dst[i])}: {shown(as_given[i])}, back: {shown(from_reverse[i])}); "
                      f"each direction keeps its own weight", UserWarning, stacklevel=2)
    return torch.stack([src, dst]).to(edge_index.dtype), out


def degree(index: Tensor, num_nodes: int | None = None, weight: Tensor | None = None, dtype=None) -> Tensor:
    """Number (or total weight) of entries per node in ``index``.

    ``degree(edge_index[1], n)`` is the in-degree, ``degree(edge_index[0], n)``
    the out-degree. PyG's ``degree(index, n, dtype)`` (a dtype third) works too.

    Raises:
        ValueError: an entry of ``index`` is negative or not below ``num_nodes``.
    """
    if isinstance(weight, torch.dtype):  # PyG's degree(index, num_nodes, dtype)
        weight, dtype = None, weight
    if not isinstance(index, Tensor) or index.dim() != 1 or index.is_floating_point() or index.dtype == torch.bool:
        raise ValueError(f"degree: index must be a 1-D integer tensor (a row of edge_index), got "
                         f"{tuple(index.shape) if isinstance(index, Tensor) else type(index).__name__}"
                         + (f" {index.dtype}" if isinstance(index, Tensor) else ""))
    if weight is not None and (not isinstance(weight, Tensor) or weight.shape[:1] != index.shape):
        raise ValueError(f"degree: weight must be a tensor with one entry per index, {index.numel()}, got "
                         f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
    n = _num_nodes(index.view(1, -1), num_nodes)
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n):
        raise ValueError(f"degree: index holds ids from {int(index.min())} to {int(index.max())}, expected "
                         f"0 <= id < num_nodes = {n}; pass the right num_nodes")
    if weight is None:
        out = torch.bincount(index.to(torch.int64), minlength=n)
        return out.to(dtype or torch.float32)
    out = torch.zeros(n, dtype=dtype or weight.dtype, device=index.device)
    return out.index_add_(0, index.to(torch.int64), weight.to(out.dtype))


def _num_nodes(edge_index: Tensor, num_nodes: int | None) -> int:
    if num_nodes is not None:
        if isinstance(num_nodes, Tensor) and num_nodes.numel() == 1 and not num_nodes.is_floating_point():
            num_nodes = int(num_nodes)
        if isinstance(num_nodes, bool) or not hasattr(num_nodes, "__index__"):
            raise TypeError(f"num_nodes must be an int, got {type(num_nodes).__name__} {num_nodes!r}")
        if int(num_nodes) < 0:
            raise ValueError(f"num_nodes must be >= 0, got {int(num_nodes)}")
        return int(num_nodes)
    return int(edge_index.max()) + 1 if edge_index.numel() else 0
