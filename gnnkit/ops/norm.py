"""Normalisations: GCN's symmetric normalisation and the neighbourhood softmax."""
from __future__ import annotations

import torch
from torch import Tensor

from gnnkit.ops.scatter import scatter, segment
from gnnkit.ops.csr import CSR


def gcn_norm(
    edge_index: Tensor,
    edge_weight: Tensor | None = None,
    num_nodes: int | None = None,
    add_self_loops: bool = True,
    fill_value: float = 1.0,
    dtype: torch.dtype | None = None,
) -> tuple[Tensor, Tensor]:
    """GCN's symmetric normalisation ``Â = D^{-1/2} (A + I) D^{-1/2}``.

    ``D_ii = Σ_j Â_ij`` is the (weighted) in-degree including the loop. With
    ``add_self_loops`` every node gets a loop of weight ``fill_value`` unless it
    already has one, which then keeps its own weight (several loops: their sum) (Kipf & Welling 2017,
    https://arxiv.org/abs/1609.02907; the convention of PyG's ``gcn_norm``).

    Args:
        dtype: the dtype of the all-ones weights when ``edge_weight`` is
            ``None`` (default float32; pass the features' dtype, e.g. float64).

    Returns:
        ``(edge_index, edge_weight)`` of ``Â``, loops appended at the end.
    """
    n = int(edge_index.max()) + 1 if num_nodes is None and edge_index.numel() else int(num_nodes or 0)
    if not torch.compiler.is_compiling() and edge_index.numel() and int(edge_index.max()) >= n:
        raise ValueError(f"gcn_norm: edge_index refers to node {int(edge_index.max())} but num_nodes is {n}; "
                         f"pass num_nodes > every node id (or leave it out)")
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=dtype or torch.float32, device=edge_index.device)
    if add_self_loops:
        is_loop = edge_index[0] == edge_index[1]
        loop_weight = _loop_weights(edge_index[0], is_loop, edge_weight, n, fill_value)
        loops = torch.arange(n, device=edge_index.device, dtype=edge_index.dtype).repeat(2, 1)
        edge_index = torch.cat([edge_index[:, ~is_loop], loops], dim=1)
        edge_weight = torch.cat([edge_weight[~is_loop], loop_weight])
    deg = scatter(edge_weight, edge_index[1], n, reduce="sum")
    dinv = _inverse_sqrt_degree(deg)
    return edge_index, dinv[edge_index[0]] * edge_weight * dinv[edge_index[1]]


def _inverse_sqrt_degree(deg: Tensor) -> Tensor:
    """``d^{-1/2}`` (0 for degree 0). A negative weighted degree has no real
    square root: a ``ValueError`` naming the node instead of a silent NaN.
    Under ``torch.compile`` the check is left out (it would break the graph
    on every call); run the model once eagerly to have the weights checked."""
    negative = deg < 0
    if not torch.compiler.is_compiling() and bool(negative.any()):
        node = int(negative.nonzero()[0])
        raise ValueError(f"the GCN normalisation needs non-negative weighted degrees, but node {node} has degree "
                         f"{float(deg[node]):.4g} (negative edge weights); use non-negative weights (in Python, a layer "
                         f"with normalize=False also takes them)")
    return deg.pow(-0.5).masked_fill(deg == 0, 0.0)


def _loop_weights(index: Tensor, is_loop: Tensor, weights: Tensor, n: int, fill_value: float) -> Tensor:
    """Self-loop weight per node: the sum of its existing loops, ``fill_value``
    where it has none. Branch-free (no data-dependent shapes), so it traces
    under ``torch.compile``."""
    zero = torch.zeros((), dtype=weights.dtype, device=weights.device)
    total = torch.zeros(n, dtype=weights.dtype, device=weights.device).index_add(0, index, torch.where(is_loop, weights, zero))
    count = torch.zeros(n, dtype=weights.dtype, device=weights.device).index_add(0, index, is_loop.to(weights.dtype))
    return torch.where(count > 0, total, torch.full_like(total, fill_value))


def softmax(
    src: Tensor,
    index: Tensor | None = None,
    ptr: Tensor | int | None = None,
    num_nodes: int | Tensor | None = None,
    dim: int = 0,
) -> Tensor:
    """Softmax over each node's incoming edges.

    ``out[k] = exp(src[k]) / Σ_{k' : index[k'] = index[k]} exp(src[k'])``,
    computed stably (the group maximum is subtracted first). Give either the
    target ``index`` of every edge, or ``ptr`` (CSR row offsets) for edges
    already grouped by target. The arguments are in PyG's order
    (``src, index, ptr, num_nodes, dim``); gnnkit's former order
    ``softmax(src, index, num_nodes, ptr)`` is recognised by the types
    (an integer count, a tensor of offsets).

    Shapes:
        src ``[..., E, ...]`` (edges along ``dim``) → out of the same shape.
    """
    if isinstance(ptr, int) or isinstance(num_nodes, Tensor):
        ptr, num_nodes = num_nodes, ptr
    if src.dim() == 0:
        raise ValueError("softmax needs src with an edge dimension, got a scalar")
    if dim % src.dim() != 0:
        return softmax(src.movedim(dim, 0), index, ptr, num_nodes).movedim(0, dim)
    if ptr is not None:
        counts = (ptr[1:] - ptr[:-1]).to(torch.int64)
        # A shift does not change a softmax: the max needs no gradient.
        group_max = segment(src.detach(), ptr, reduce="max")
        group_max = torch.repeat_interleave(group_max, counts, dim=0, output_size=src.size(0))
        exp = (src - group_max).exp()
        total = torch.repeat_interleave(segment(exp, ptr, reduce="sum"), counts, dim=0, output_size=src.size(0))
        return exp / total
    if index is None:
        raise ValueError("softmax needs the target index of every edge (index=) or CSR offsets (ptr=)")
    n = num_nodes if num_nodes is not None else (int(index.max()) + 1 if index.numel() else 0)
    group_max = scatter(src.detach(), index, n, reduce="max").index_select(0, index)
    exp = (src - group_max).exp()
    return exp / scatter(exp, index, n, reduce="sum").index_select(0, index)


def self_loop_weights(csr: CSR, fill_value: float = 1.0, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """Split a square target-major CSR into its off-diagonal values and a
    self-loop weight per node.

    ``loop[i]`` is the sum of ``i``'s existing loops, or ``fill_value`` where it
    has none (PyG's ``add_remaining_self_loops``); the returned values have
    the loop entries set to 0, so the structure is unchanged.

    Args:
        csr: ``[N, N]`` adjacency.
        fill_value: weight of the loop added to a node without one (default 1).
        dtype: dtype of the all-ones values when ``csr.value`` is ``None``
            (default float32).

    Returns:
        ``(value [nnz], loop [N])``.
    """
    value = _values(csr, dtype)
    row, col = csr.row(), csr.col.to(torch.int64)
    is_loop = row == col
    loop = _loop_weights(row, is_loop, value, csr.num_rows, fill_value)
    return value.masked_fill(is_loop, 0.0), loop


def _values(csr: CSR, dtype: torch.dtype | None) -> Tensor:
    if csr.value is None:
        return torch.ones(csr.nnz, dtype=dtype or torch.float32, device=csr.device)
    return csr.value if dtype is None else csr.value.to(torch.promote_types(csr.value.dtype, dtype))


def split_self_loops(csr: CSR, add_self_loops: bool = True, fill_value: float = 1.0,
                     dtype: torch.dtype | None = None) -> tuple[CSR, Tensor | None]:
    """``(A, loop)``: a square CSR as its off-diagonal part and a self-loop
    weight per node, the layers' form of ``A + L``.

    With ``add_self_loops``, ``loop[i]`` is the sum of ``i``'s existing loops
    or ``fill_value`` where it has none (as ``self_loop_weights``), and the
    loop entries are removed from the structure (once per graph, cached by
    ``CSR.off_diagonal``) instead of zeroed, so an unweighted CSR stays
    unweighted and nothing edge-sized is computed per call. Without it the
    CSR is returned as it is (values promoted to ``dtype``) and ``loop`` is
    ``None``.
    """
    dtype = dtype or (csr.value.dtype if csr.value is not None else torch.float32)
    if not add_self_loops:
        return (csr if csr.value is None else csr.with_value(_values(csr, dtype))), None
    loops = csr.self_loops()
    adj = csr.off_diagonal()
    if adj.value is not None:
        adj = adj.with_value(_values(adj, dtype))
    value_dtype = dtype if adj.value is None else adj.value.dtype
    loop = torch.full((csr.num_rows,), fill_value, dtype=value_dtype, device=csr.device)
    if loops is None:
        return adj, loop
    node = csr.col.index_select(0, loops).to(torch.int64)
    weight = torch.ones(loops.numel(), dtype=value_dtype, device=csr.device) if csr.value is None \
        else csr.value.index_select(0, loops).to(value_dtype)
    # Existing loops keep their own weight (several: their sum) instead of the fill value.
    loop = loop.index_fill(0, node, 0.0).index_add(0, node, weight)
    return adj, loop


def gcn_norm_factors(csr: CSR, add_self_loops: bool = True, fill_value: float = 1.0,
                     dtype: torch.dtype | None = None) -> tuple[CSR, Tensor | None, Tensor]:
    """GCN's normalisation in separable form: ``Â = D^{-1/2} (A + L) D^{-1/2}``
    as the off-diagonal ``A``, the loop diagonal ``L`` and ``d^{-1/2}``.

    The product ``Â X`` is then a row scaling, a product with ``A`` *as
    given* (unweighted stays unweighted), a diagonal, and another row scaling:
    ``Â X = s ⊙ (A (s ⊙ X) + L ⊙ (s ⊙ X))`` with ``s = d^{-1/2}``, so no
    normalised per-edge weight is computed or stored (DGL's ``norm='both'``).
    ``d_i = Σ_j A_ij + L_i`` is the weighted in-degree with the loop. Existing
    loops keep their own weight (moved into ``L``, their entries zeroed);
    nodes without one get ``fill_value`` when ``add_self_loops``.

    Args:
        csr: ``[N, N]`` target-major adjacency ``A_ij = e_ij``.
        add_self_loops: use ``A + I`` (default ``True``); when ``False``,
            existing loops stay in ``A`` and ``L`` is ``None``.
        fill_value: weight of an added loop (default 1; 2 is GCN's "improved").
        dtype: dtype of the degrees (and of the values, which are promoted
            to it); default float32.

    Returns:
        ``(csr, loop, dinv)``: the adjacency without its loops (values
        ``None`` when ``csr`` had none and no loop had to be removed),
        ``loop [N]`` or ``None``, and ``dinv [N] = d^{-1/2}`` (0 where ``d = 0``).
    """
    dtype = dtype or (csr.value.dtype if csr.value is not None else torch.float32)
    adj, loop = split_self_loops(csr, add_self_loops, fill_value, dtype)
    if adj.value is None:
        deg = adj.degree().to(dtype)
    else:
        deg = segment(adj.value, adj.rowptr, reduce="sum")
    if loop is not None:
        deg = deg + loop
    return adj, loop, _inverse_sqrt_degree(deg)


def scale_values(csr: CSR, src_scale: Tensor, dst_scale: Tensor, dtype: torch.dtype | None = None) -> CSR:
    """``csr`` with values ``dst_scale[i] · a_ij · src_scale[j]`` (``a_ij = 1``
    when it has none): the separable factors multiplied out."""
    value = dst_scale.index_select(0, csr.row()) * src_scale.index_select(0, csr.col.to(torch.int64))
    if csr.value is not None:
        value = value * csr.value
    return csr.with_value(value if dtype is None else value.to(dtype))


def gcn_norm_csr(csr: CSR, add_self_loops: bool = True, fill_value: float = 1.0, normalize: bool = True,
                 dtype: torch.dtype | None = None) -> tuple[CSR, Tensor | None]:
    """``gcn_norm`` on a target-major CSR, without changing its structure.

    The self-loop term is returned as a separate diagonal, so the normalised
    product is ``spmm(norm, x) + diag[:, None] * x`` and no loop entries have
    to be inserted into the CSR. Existing loops keep their own weight (they are
    moved into ``diag``); without ``add_self_loops`` ``diag`` is ``None`` and
    existing loops stay in the CSR. The layers use the separable form
    (``gcn_norm_factors``) instead, which stores no per-edge weight.

    Args:
        csr: ``[N, N]`` adjacency ``A_ij = e_ij``.
        add_self_loops: use ``A + I`` (default ``True``).
        fill_value: weight of an added loop (default 1; 2 is GCN's "improved").
        normalize: apply ``D^{-1/2} · D^{-1/2}`` (default ``True``); when
            ``False`` only the loops are split off.
        dtype: compute in this dtype when the CSR has no values (default
            float32); values are promoted to it otherwise.

    Returns:
        ``(norm_csr, diag)``: ``norm_csr.value[k] = d_i^{-1/2} e_ij d_j^{-1/2}``,
        ``diag[i] = d_i^{-1} · loop_i``.
    """
    if not normalize:
        if add_self_loops:
            value, diag = self_loop_weights(csr, fill_value, dtype)
        else:
            value, diag = _values(csr, dtype), None
        return csr.with_value(value), diag
    adj, loop, dinv = gcn_norm_factors(csr, add_self_loops, fill_value, dtype)
    norm = scale_values(adj, dinv, dinv)
    return norm, (None if loop is None else dinv * dinv * loop)

