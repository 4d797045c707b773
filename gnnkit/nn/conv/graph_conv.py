"""GraphConv: the plain weighted-sum graph convolution."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.adjacency import Block, check_features
from gnnkit.nn.message_passing import MessagePassing, split_input
from gnnkit.ops.sparse import CSR


class GraphConv(MessagePassing):
    r"""The graph convolution :math:`h_i = \sigma\big(W \bigoplus_{j \in N(i)} e_{ij} x_j + b\big)`.

    ``⊕`` is ``aggr`` (a sum by default); ``e_ij = 1`` when no edge weights
    are given; ``b`` is added to every node, isolated ones included. As
    message passing: ``message(x_j, e_ij) = e_ij x_j`` on the input features,
    ``aggregate`` with ``aggr``, ``update`` (identity), then ``W · + b`` and
    ``σ``. When the three steps are the defaults and the aggregation is a sum
    or mean, ``W`` is applied before the aggregation if that is cheaper
    (``out_channels < in_channels``); the result is the same.

    Args:
        in_channels: input features per node.
        out_channels: output features per node.
        bias: learn the additive bias ``b`` (default ``True``).
        activation: ``σ``, a callable applied last (default ``None``: identity).
        aggr: ``"sum"`` (default; ``"add"`` accepted), ``"mean"``, ``"max"`` or ``"min"``.

    Shapes:
        x ``[N, in_channels]`` or bipartite ``([S, in_channels], [T, *])``,
        edge_index ``[2, E]`` (or a ``[T, S]`` ``CSR``), edge_weight ``[E]``
        → ``[N, out_channels]`` (``[T, out_channels]``).
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 activation: Callable[[Tensor], Tensor] | None = None, aggr: str = "sum") -> None:
        super().__init__(aggr=aggr)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.activation = activation

    def _transform_first(self) -> bool:
        # W commutes with a weighted sum or mean only; a custom step sees the input features.
        return self._fused() and not self.overrides("update") and self.out_channels < self.in_channels

    def transform(self, x: Tensor) -> tuple[Tensor]:
        """``(W x,)`` when ``W`` goes first, else ``(x,)``."""
        return (F.linear(x, self.lin.weight),) if self._transform_first() else (x,)

    def forward_block(self, block: Block, src: tuple[Tensor], dst: tuple[Tensor]) -> Tensor:
        out = self.propagate((src[0], dst[0]), block.csr)
        if not self._transform_first():
            out = self.lin(out)
        if self.bias is not None:
            out = out + self.bias
        return out if self.activation is None else self.activation(out)

    def forward(self, x: Tensor | tuple[Tensor, Tensor], edge_index: Tensor | CSR,
                edge_weight: Tensor | None = None) -> Tensor:
        check_features(x[0] if isinstance(x, tuple) else x, self.in_channels, "GraphConv")
        x_src, x_dst, size = split_input(x)
        src = self.transform(x_src)
        dst = src if x_dst is None else (x_dst,)  # read only by update(), which W-first excludes
        return self.forward_block(self.prepare(edge_index, edge_weight, size, x_src.dtype), src, dst)

    def __repr__(self) -> str:
        aggr = "" if self.aggr == "sum" else f", aggr={self.aggr!r}"
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}{aggr})"
