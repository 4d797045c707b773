"""Turning a layer's ``edge_index`` argument into a CSR, once per graph.

A layer is called with the same ``edge_index`` tensor epoch after epoch;
sorting it into a CSR every call would cost more than the product itself.
``AdjacencyCache`` remembers what it derived from the last graph it saw, keyed
on the *identity* and in-place version counter of the ``edge_index`` /
``edge_weight`` tensors (held by weak reference) and on the node count, so a
different or edited graph can never be served a stale result.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import torch
from torch import Tensor

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
    return len(stored) == 1 or stored[1] == current._version


class AdjacencyCache:
    """Holds one derived value per layer, rebuilt when the graph changes."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._value: Any = None

    def get(self, edge_index: Any, edge_weight: Tensor | None, num_nodes: int, build: Callable[[], Any]) -> Any:
        if edge_weight is not None and edge_weight.requires_grad:
            return build()  # a value in an autograd graph must not outlive its step
        k = self._key
        if k is not None and k[0] == num_nodes and _same(k[1], edge_index) and _same(k[2], edge_weight):
            return self._value
        value = build()
        self._key = (num_nodes, _key(edge_index), _key(edge_weight))
        self._value = value
        return value

    def clear(self) -> None:
        self._key = self._value = None


def as_csr(edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int) -> CSR:
    """The target-major CSR of a layer's graph argument, checked against ``num_nodes``.

    ``edge_index`` is a ``[2, E]`` integer tensor (row 0 sources) or an already
    built ``CSR``; ``edge_weight`` (``[E]``) overrides the CSR's values.
    """
    if isinstance(edge_index, CSR):
        if edge_index.num_rows != num_nodes or edge_index.num_cols != num_nodes:
            raise ValueError(
                f"the CSR is {edge_index.num_rows} x {edge_index.num_cols} but x has {num_nodes} rows; "
                f"pass node features with one row per node of the graph"
            )
        if edge_weight is None:
            return edge_index
        if edge_weight.shape != (edge_index.nnz,):
            raise ValueError(f"edge_weight must have shape [{edge_index.nnz}], got {tuple(edge_weight.shape)}")
        return edge_index.with_value(edge_weight.index_select(0, edge_index.perm))
    check_edge_index(edge_index, edge_weight, num_nodes)
    return build_csr(edge_index, num_nodes, edge_weight)


def check_edge_index(edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int) -> None:
    """Raise ``ValueError`` for a malformed edge list or one that refers to
    nodes beyond ``x``'s rows."""
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must be a [2, E] integer tensor, got {getattr(edge_index, 'shape', type(edge_index))}")
    if edge_index.dtype.is_floating_point or edge_index.dtype == torch.bool:
        raise ValueError(f"edge_index must be an integer tensor, got {edge_index.dtype}")
    if edge_index.numel():
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= num_nodes:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"edge_index refers to node {bad} but x has {num_nodes} rows; x needs one row per node "
                f"(0 <= id < {num_nodes})"
            )
    if edge_weight is not None and edge_weight.shape != (edge_index.size(1),):
        raise ValueError(f"edge_weight must have shape [E] = [{edge_index.size(1)}], got {tuple(edge_weight.shape)}")


def check_features(x: Tensor | CSR, in_channels: int, layer: str) -> None:
    """Raise ``ValueError`` when ``x`` is not ``[N, in_channels]`` (dense, or a CSR of features)."""
    if isinstance(x, CSR):
        width = x.num_cols
    elif isinstance(x, Tensor) and x.dim() == 2:
        width = x.size(1)
    else:
        raise ValueError(f"{layer}: x must be a [num_nodes, {in_channels}] tensor, got {getattr(x, 'shape', type(x))}")
    if width != in_channels:
        raise ValueError(
            f"{layer}: x has {width} features per node but the layer was built with in_channels={in_channels}"
        )
