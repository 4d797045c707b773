"""GINEConv: the GIN layer with edge features (Hu et al., ICLR 2020)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import Block
from gnnkit.nn.conv.gin_conv import GINConv
from gnnkit.nn.message_passing import split_input, weight_or_size
from gnnkit.ops.sparse import CSR


class GINEConv(GINConv):
    r"""GIN with edge features, https://arxiv.org/abs/1905.12265 (PyG's ``GINEConv``).

    .. math::
        h_i' = \mathrm{nn}\Big((1 + \varepsilon)\, x_i + \sum_{j \in N(i)}
        \mathrm{ReLU}(x_j + W_e e_{ji})\Big)

    ``W_e`` (``lin``) exists only with ``edge_dim``; without it the edge
    features must have as many columns as ``x``. As message passing: the
    message ``ReLU(x_j + W_e e_ji)`` per edge, the sum, and ``nn`` as in
    ``GINConv``.

    Args:
        nn: the network applied last, ``[*, F] → [*, F']``; with ``edge_dim``
            its input width ``F`` is read from ``nn`` (or its first module).
        eps: ``ε`` (default 0).
        train_eps: learn ``ε`` (default ``False``).
        edge_dim: width ``D`` of the edge features, mapped to ``F`` by a
            linear layer (default ``None``: ``D = F``, used as they are).

    Shapes:
        x ``[N, F]`` or bipartite ``([S, F], [T, F])`` / ``([S, F], None)``,
        edge_index ``[2, E]``, edge_attr ``[E, D]``, size ``(S, T)`` → ``[N, F']`` (``[T, F']``).
    """

    def __init__(self, nn: nn.Module, eps: float = 0.0, train_eps: bool = False, edge_dim: int | None = None) -> None:
        super().__init__(nn, eps, train_eps)
        self.lin = None
        if edge_dim is not None and (isinstance(edge_dim, bool) or not isinstance(edge_dim, int) or edge_dim < 1):
            raise ValueError(f"GINEConv: edge_dim must be a count >= 1 (or None), got {edge_dim!r}")
        if edge_dim is not None:
            first = nn[0] if isinstance(nn, torch.nn.Sequential) and len(nn) else nn
            width = getattr(first, "in_features", getattr(first, "in_channels", None))
            if not isinstance(width, int):
                raise ValueError("GINEConv(edge_dim=...) reads the node feature width from nn (its first module's "
                                 "in_features or in_channels); nn has neither")
            self.lin = torch.nn.Linear(edge_dim, width)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.lin is not None:
            self.lin.reset_parameters()

    def message(self, x_j: Tensor, edge_attr: Tensor) -> Tensor:
        if self.lin is not None:
            edge_attr = self.lin(edge_attr)
        elif edge_attr.size(-1) != x_j.size(-1):
            raise ValueError(f"GINEConv: edge_attr has {edge_attr.size(-1)} features per edge and x has "
                             f"{x_j.size(-1)}; build the layer with edge_dim={edge_attr.size(-1)} to map them")
        return (x_j + edge_attr).relu()

    def update(self, aggr: Tensor) -> Tensor:
        return aggr  # the self term and nn come after propagate, in forward

    def forward_block(self, block: Block, src: tuple[Tensor], dst: tuple[Tensor]) -> Tensor:
        raise NotImplementedError("GINEConv reads edge features, which blocks do not carry; call the layer on the "
                                  "whole graph with edge_attr")

    def forward(self, x: Tensor | tuple[Tensor, Tensor | None], edge_index: Tensor | CSR,
                edge_attr: Tensor | None = None, size: tuple[int, int] | None = None) -> Tensor:
        if edge_attr is None or isinstance(edge_attr, (tuple, list)):
            raise ValueError("GINEConv needs edge features: conv(x, edge_index, edge_attr) with edge_attr [E, D]")
        if not isinstance(edge_index, Tensor) or edge_index.layout != torch.strided:
            raise ValueError("GINEConv needs edge_index [2, E] (its edge_attr follows the edges' order)")
        if edge_attr.dim() == 1:
            edge_attr = edge_attr.view(-1, 1)
        if edge_attr.dim() != 2 or edge_attr.size(0) != edge_index.size(1):
            raise ValueError(f"GINEConv: edge_attr must be [E, D] with E = {edge_index.size(1)} edges, got "
                             f"{tuple(edge_attr.shape)}")
        if self.lin is not None and edge_attr.size(1) != self.lin.in_features:
            raise ValueError(f"GINEConv: edge_attr has {edge_attr.size(1)} features per edge but the layer was "
                             f"built with edge_dim={self.lin.in_features}")
        x_dtype = (x[0] if isinstance(x, tuple) else x).dtype
        if edge_attr.dtype != x_dtype:
            raise ValueError(f"GINEConv: edge_attr is {edge_attr.dtype} but x is {x_dtype}; pass both in one "
                             f"floating dtype (edge_attr.to(x.dtype))")
        _, size = weight_or_size(None, size)
        x_src, x_dst, num_nodes = split_input(x, size, edge_index)
        pair = num_nodes if isinstance(num_nodes, tuple) else (num_nodes, num_nodes)
        out = self.propagate(edge_index, x=(x_src, x_dst), edge_attr=edge_attr, size=pair)
        return self.nn(out if x_dst is None else out + (1 + self.eps) * x_dst)
