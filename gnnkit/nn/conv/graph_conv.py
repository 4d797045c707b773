"""GraphConv: the plain weighted-sum graph convolution."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import check_features
from gnnkit.nn.message_passing import MessagePassing
from gnnkit.ops.sparse import CSR, spmm


class GraphConv(MessagePassing):
    r"""The graph convolution :math:`h_i = \sigma\big(\sum_{j \in N(i)} e_{ij} W h_j + b\big)`.

    ``e_ij = 1`` when no edge weights are given; ``b`` is added to every node,
    isolated ones included. ``W`` is applied before the aggregation when that is
    cheaper (``out_channels < in_channels``), after it otherwise; the result is
    the same.

    Args:
        in_channels: input features per node.
        out_channels: output features per node.
        bias: learn the additive bias ``b`` (default ``True``).
        activation: ``σ``, a callable applied last (default ``None``: identity).

    Shapes:
        x ``[N, in_channels]``, edge_index ``[2, E]`` (or a ``CSR``),
        edge_weight ``[E]`` → ``[N, out_channels]``.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 activation: Callable[[Tensor], Tensor] | None = None) -> None:
        super().__init__(aggr="sum")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.activation = activation

    def forward(self, x: Tensor, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_features(x, self.in_channels, "GraphConv")
        adj = self.adjacency(edge_index, edge_weight, x.size(0))
        if self.out_channels < self.in_channels:
            out = spmm(adj, self.lin(x))
        else:
            out = self.lin(spmm(adj, x))
        if self.bias is not None:
            out = out + self.bias
        return out if self.activation is None else self.activation(out)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"
