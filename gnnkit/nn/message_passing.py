"""A small message-passing base: message → aggregate → update.

``propagate`` computes ``update(aggregate(message(x_j, e_ij)), x)`` over the
edges ``j → i``. Subclasses override any of the three steps with explicit
arguments; nothing is inferred from argument names. A layer that keeps the
default ``message`` (``e_ij · x_j``) with a ``"sum"`` or ``"mean"``
aggregation never builds the ``[E, F]`` message tensor: ``propagate`` takes the
fused sparse product ``spmm`` instead.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, as_csr
from gnnkit.ops.scatter import scatter
from gnnkit.ops.sparse import CSR, spmm


class MessagePassing(nn.Module):
    """Base for layers of the form ``h_i = update(⊕_{j∈N(i)} message(x_j, e_ij), x_i)``.

    Args:
        aggr: ``"sum"`` (default), ``"mean"``, ``"max"`` or ``"min"``.
    """

    def __init__(self, aggr: str = "sum") -> None:
        super().__init__()
        if aggr not in ("sum", "mean", "max", "min"):
            raise ValueError(f"aggr must be 'sum', 'mean', 'max' or 'min', got {aggr!r}")
        self.aggr = aggr
        self._adjacency = AdjacencyCache()

    def message(self, x_j: Tensor, edge_weight: Tensor | None) -> Tensor:
        """Message along edge ``j → i``: ``e_ij · x_j`` (``x_j`` when unweighted)."""
        if edge_weight is None:
            return x_j
        return x_j * edge_weight.view(-1, *([1] * (x_j.dim() - 1)))

    def aggregate(self, messages: Tensor, index: Tensor, num_nodes: int) -> Tensor:
        """Combine the messages arriving at each target ``index`` with ``self.aggr``."""
        return scatter(messages, index, num_nodes, reduce=self.aggr)

    def update(self, aggr: Tensor, x: Tensor) -> Tensor:
        """Node update after aggregation; the identity by default."""
        return aggr

    def _fused(self) -> bool:
        return type(self).message is MessagePassing.message and self.aggr in ("sum", "mean")

    def adjacency(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int) -> CSR:
        """The graph as a target-major CSR, cached per graph (see ``AdjacencyCache``)."""
        return self._adjacency.get(edge_index, edge_weight, num_nodes, lambda: as_csr(edge_index, edge_weight, num_nodes))

    def propagate(self, x: Tensor, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        """Run message → aggregate → update over the graph; ``x`` is ``[N, *]``."""
        num_nodes = x.size(0)
        csr = self.adjacency(edge_index, edge_weight, num_nodes)
        if self._fused():
            if self.aggr == "mean":
                inv_deg = csr.degree().clamp(min=1).to(x.dtype).reciprocal()
                value = inv_deg.index_select(0, csr.row()) if csr.value is None else csr.value * inv_deg.index_select(0, csr.row())
                csr = csr.with_value(value)
            flat = x.reshape(num_nodes, -1)
            aggr = spmm(csr, flat).view((num_nodes,) + tuple(x.shape[1:]))
        else:
            x_j = x.index_select(0, csr.col.to(torch.int64))
            aggr = self.aggregate(self.message(x_j, csr.value), csr.row(), num_nodes)
        return self.update(aggr, x)
