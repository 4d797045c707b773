"""Turning a layer's ``edge_index`` argument into a CSR, once per graph.

A layer is called with the same ``edge_index`` tensor epoch after epoch;
sorting it into a CSR every call would cost more than the product itself.
``AdjacencyCache`` remembers what it derived from the last graph it saw, keyed
on the *identity* and in-place version counter of the ``edge_index`` /
``edge_weight`` tensors (held by weak reference) and on the node count, so a
different or edited graph can never be served a stale result. A layer adds
the options the value depends on (dtype, ``add_self_loops`` ...) to the key.

Under ``torch.compile`` the version counter is a data-dependent value that
would break the graph on every call, so compiled code matches the cache on
the tensors' identity only (the compiled function is specialised on them):
there, edit a graph by making a new ``edge_index`` tensor, not in place, or
pass a ``CSR`` (``graph.csr()``), which is a graph input of its own.

``Block`` is what a layer's per-block computation reads: rows of its graph
operator (all rows for a full forward, a slice of target rows in layer-wise
inference).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Callable, Hashable

import torch
from torch import Tensor

from gnnkit.ops.norm import scale_values
from gnnkit.ops.sparse import CSR, build_csr


def _key(t: Any) -> tuple:
    if t is None:
        return (None,)
    return (weakref.ref(t), t._version) if isinstance(t, Tensor) else (weakref.ref(t),)


def _same(stored: tuple, current: Any) -> bool:
    if current is None:
        return stored == (None,)
    if stored[0] is None or stored[0]() is not current:
        return False
    # Under torch.compile a version counter is a data-dependent value that would break
    # the graph; the compiled code is specialised on the tensor's identity instead.
    return len(stored) == 1 or torch.compiler.is_compiling() or stored[1] == current._version


class AdjacencyCache:
    """Holds one derived value per layer, rebuilt when the graph changes."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._value: Any = None

    def get(self, edge_index: Any, edge_weight: Tensor | None, num_nodes: Hashable, build: Callable[[], Any],
            options: tuple = ()) -> Any:
        """The cached value for this graph and ``options``, or ``build()``.

        ``num_nodes`` is the node count (or a ``(sources, targets)`` pair);
        ``options`` holds every setting the value depends on (a layer's
        ``add_self_loops``, the dtype ...), so changing one rebuilds."""
        if edge_weight is not None and not isinstance(edge_weight, Tensor):
            raise TypeError(f"edge_weight must be a [num_edges] tensor or None, got {type(edge_weight).__name__}"
                            + (" (a layer that takes size=(S, T) takes it by keyword: size=...)"
                               if isinstance(edge_weight, (tuple, list)) else ""))
        if edge_weight is not None and edge_weight.requires_grad:
            return build()  # a value in an autograd graph must not outlive its step
        k = self._key
        if (k is not None and k[0] == num_nodes and k[3] == options and _same(k[1], edge_index)
                and _same(k[2], edge_weight)):
            return self._value
        value = build()
        self._key = (num_nodes, _key(edge_index), _key(edge_weight), options)
        self._value = value
        return value

    def clear(self) -> None:
        self._key = self._value = None

    def __getstate__(self) -> dict:
        # Pickling a layer (torch.save(model)) drops the cache: its key holds weak
        # references to the graph, which cannot be pickled, and a loaded model
        # rebuilds the value on its first call anyway.
        return {"_key": None, "_value": None}


@dataclass(frozen=True)
class Block:
    """Rows of a layer's graph operator: the in-edges of some target nodes.

    The operator is ``out_i = t_i · (Σ_j a_ij · s_j · x_j + loop_i · t_i · x_i)``
    with ``a_ij`` the CSR's values (all ones when ``None``), ``s`` / ``t``
    optional source / target scalings (GCN's ``d^{-1/2}``, kept apart from
    the edge values so that no normalised per-edge weight is stored) and
    ``loop`` an optional implicit self-loop per target. For a target ``i``,
    ``t_i`` is also its scaling as a source (the scalings are per node), so
    the loop's weight is ``t_i² · loop_i``.

    Attributes:
        csr: target-major ``[R, S]`` CSR.
        loop: optional ``[R]`` weight of an implicit loop ``i → i`` per target,
            applied to the target's own features.
        src_scale: optional ``[S]`` scaling of the sources (with ``dst_scale``).
        dst_scale: optional ``[R]`` scaling of the targets.
    """

    csr: CSR
    loop: Tensor | None = None
    src_scale: Tensor | None = None
    dst_scale: Tensor | None = None

    def __post_init__(self) -> None:
        if (self.src_scale is None) != (self.dst_scale is None):
            raise ValueError("Block: give both src_scale and dst_scale, or neither")

    @property
    def scaled(self) -> bool:
        return self.src_scale is not None

    def weighted(self) -> Block:
        """The same operator with the scalings multiplied into the edge and
        loop weights: ``csr.value[k] = t_i a_ij s_j``, ``loop_i = t_i² loop_i``."""
        if not self.scaled:
            return self
        csr = scale_values(self.csr, self.src_scale, self.dst_scale)
        loop = None if self.loop is None else self.loop * self.dst_scale * self.dst_scale
        return Block(csr, loop)


def as_csr(edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int,
           num_targets: int | None = None) -> CSR:
    """The target-major CSR of a layer's graph argument, checked against the node counts.

    ``edge_index`` is a ``[2, E]`` integer tensor (row 0 sources), an already
    built ``CSR``, or a ``torch.sparse`` COO / CSR adjacency of shape
    ``[T, S]`` (targets × sources, PyG's ``adj_t``) whose values are the edge
    weights; ``edge_weight`` (``[E]``, edge order) overrides the CSR's
    values. ``num_nodes`` counts the sources (the rows of ``x``);
    ``num_targets`` the targets of a bipartite graph (default ``num_nodes``).
    """
    num_targets = num_nodes if num_targets is None else num_targets
    if isinstance(edge_index, Tensor) and edge_index.layout != torch.strided:
        edge_index, edge_weight = from_torch_sparse(edge_index, edge_weight, num_nodes, num_targets)
    if isinstance(edge_index, CSR):
        if edge_index.num_rows != num_targets or edge_index.num_cols != num_nodes:
            raise ValueError(
                f"the CSR is {edge_index.num_rows} x {edge_index.num_cols} but x has {num_nodes} rows"
                + ("" if num_targets == num_nodes else f" and x_dst has {num_targets}")
                + "; pass node features with one row per node of the graph (a CSR is targets x sources)"
            )
        if edge_weight is None:
            return edge_index
        if edge_weight.shape != (edge_index.nnz,):
            raise ValueError(f"edge_weight must have shape [{edge_index.nnz}], got {tuple(edge_weight.shape)}")
        return edge_index.with_value(edge_weight.index_select(0, edge_index.perm))
    check_edge_index(edge_index, edge_weight, num_nodes, num_targets)
    return build_csr(edge_index, num_targets, edge_weight, num_cols=num_nodes)


def from_torch_sparse(adj: Tensor, edge_weight: Tensor | None, num_nodes: int,
                      num_targets: int) -> tuple[Tensor, Tensor]:
    """``(edge_index [2, E], edge_weight [E])`` of a ``torch.sparse`` COO or
    CSR adjacency ``[T, S]`` (entry ``(i, j)`` is the edge ``j → i``; its
    value the weight). Duplicate COO entries are summed (coalesced)."""
    if adj.layout not in (torch.sparse_coo, torch.sparse_csr):
        raise ValueError(f"a sparse adjacency must be torch.sparse_coo or torch.sparse_csr, got {adj.layout}; "
                         f"convert it with .to_sparse_coo()")
    if edge_weight is not None:
        raise ValueError("a torch.sparse adjacency carries the edge weights as its values; pass edge_weight=None "
                         "(or pass edge_index [2, E] with edge_weight)")
    if tuple(adj.shape) != (num_targets, num_nodes):
        raise ValueError(f"the sparse adjacency is {tuple(adj.shape)} but the layer needs (targets, sources) = "
                         f"({num_targets}, {num_nodes}); pass it as targets x sources (PyG's adj_t: adj.t())")
    coo = (adj.to_sparse_coo() if adj.layout == torch.sparse_csr else adj).coalesce()
    value = coo.values()
    if value.requires_grad:
        raise ValueError("the sparse adjacency's values require grad; for gradients with respect to the weights "
                         "pass edge_index [2, E] and edge_weight")
    if not value.dtype.is_floating_point:
        value = value.to(torch.get_default_dtype())
    row, col = coo.indices()
    return torch.stack([col, row]), value


def check_edge_index(edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int,
                     num_targets: int | None = None) -> None:
    """Raise ``ValueError`` for a malformed edge list or one that refers to
    nodes beyond ``x``'s rows (``x_dst``'s rows for targets of a bipartite graph)."""
    if isinstance(edge_index, tuple) and len(edge_index) == 2 and isinstance(edge_index[0], Tensor):
        raise ValueError("edge_index is a pair: gnnkit.ops' to_undirected, coalesce and add_self_loops return "
                         "(edge_index, edge_weight); unpack it: edge_index, edge_weight = to_undirected(...)")
    if not isinstance(edge_index, Tensor):
        raise ValueError(f"edge_index must be a [2, E] integer torch tensor, got {type(edge_index).__name__}; pass "
                         f"torch.as_tensor(edge_index)")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        hint = "; it looks transposed: pass edge_index.t()" if edge_index.dim() == 2 and edge_index.size(1) == 2 else ""
        raise ValueError(f"edge_index must be a [2, E] integer tensor, got shape {tuple(edge_index.shape)}{hint}")
    if edge_index.dtype.is_floating_point or edge_index.dtype == torch.bool:
        raise ValueError(f"edge_index must be an integer tensor, got {edge_index.dtype}")
    if edge_index.numel():
        square = num_targets is None or num_targets == num_nodes
        for row, count, what in ((0, num_nodes, "x"), (1, num_nodes if square else num_targets, "x" if square else "x_dst")):
            lo, hi = int(edge_index[row].min()), int(edge_index[row].max())
            if lo < 0 or hi >= count:
                raise ValueError(
                    f"edge_index refers to node {lo if lo < 0 else hi} but {what} has {count} rows; {what} needs "
                    f"one row per node (0 <= id < {count})"
                )
    if edge_weight is not None and edge_weight.shape != (edge_index.size(1),):
        raise ValueError(f"edge_weight must have shape [E] = [{edge_index.size(1)}], got {tuple(edge_weight.shape)}")


def check_float(x: Tensor, layer: str) -> None:
    """Features must be floating point: integer ones would be summed and
    scaled in integer arithmetic (truncated) or fail inside a product."""
    if not x.is_floating_point():
        raise ValueError(f"{layer}: x must be a floating-point tensor, got {x.dtype}; pass x.float()")


def check_channels(in_channels: int | tuple[int, int], out_channels: int, layer: str) -> tuple[int, int]:
    """``(in_src, in_dst)`` of a layer's ``in_channels`` (an int, or a pair for
    bipartite input), checked with ``out_channels``: counts >= 0. PyG's lazy
    ``-1`` (sizes inferred at the first call) is not supported: a clear error."""
    pair = tuple(in_channels) if isinstance(in_channels, (tuple, list)) else (in_channels, in_channels)
    for name, n in (("in_channels", pair[0] if len(pair) == 2 else None), ("in_channels", pair[-1]),
                    ("out_channels", out_channels)):
        if len(pair) != 2 or isinstance(n, bool) or not isinstance(n, int) or n < 0:
            shown = in_channels if name == "in_channels" else out_channels
            lazy = " (lazy -1, inferred at the first call, is not supported: give the feature count)" \
                if shown == -1 or (isinstance(shown, (tuple, list)) and -1 in shown) else ""
            raise ValueError(f"{layer}: {name} must be a count >= 0" + (" or a pair (in_src, in_dst)"
                             if name == "in_channels" else "") + f", got {shown!r}{lazy}")
    return int(pair[0]), int(pair[1])


def check_features(x: Tensor | CSR | tuple, in_channels: int | tuple[int, int], layer: str) -> None:
    """Raise ``ValueError`` when ``x`` is not ``[N, in_channels]`` (dense, or a
    CSR of features), or a bipartite ``(x_src, x_dst)`` is not
    ``([S, in_src], [T, in_dst])``."""
    if isinstance(x, tuple):
        if len(x) != 2:
            raise ValueError(f"{layer}: a bipartite input is a pair (x_src, x_dst), got {len(x)} tensors")
        ins = in_channels if isinstance(in_channels, tuple) else (in_channels, in_channels)
        if x[0] is None:
            raise ValueError(f"{layer}: x_src is None; the sources need features (only x_dst may be None)")
        for part, width in zip(x, ins):
            if part is not None:  # (x_src, None): targets without features
                check_features(part, width, layer)
        return
    if isinstance(in_channels, tuple):
        if in_channels[0] != in_channels[1]:
            raise ValueError(f"{layer}: the layer was built for bipartite input {in_channels}; pass (x_src, x_dst)")
        in_channels = in_channels[0]
    if isinstance(x, CSR):
        width = x.num_cols
    elif isinstance(x, Tensor) and x.dim() == 2:
        check_float(x, layer)
        width = x.size(1)
    else:
        raise ValueError(f"{layer}: x must be a [num_nodes, {in_channels}] tensor, got {getattr(x, 'shape', type(x))}")
    if width != in_channels:
        raise ValueError(
            f"{layer}: x has {width} features per node but the layer was built with in_channels={in_channels}"
        )
