"""GINConv: the graph isomorphism network layer (Xu et al., ICLR 2019)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import Block
from gnnkit.nn.features import dense_features
from gnnkit.nn.message_passing import MessagePassing, split_input, weight_or_size
from gnnkit.ops.sparse import CSR


class GINConv(MessagePassing):
    r"""Graph isomorphism network layer, https://arxiv.org/abs/1810.00826.

    .. math::
        h_i' = \mathrm{nn}\Big((1 + \varepsilon)\, x_i + \sum_{j \in N(i)} e_{ij} x_j\Big)

    ``e_ij = 1`` without edge weights (then identical to PyG's ``GINConv``).
    As message passing: the default ``message`` and sum, and
    ``update(aggr, x_i) = nn((1 + ε) x_i + aggr)``; the sum runs as one sparse
    product.

    Args:
        nn: the network applied last (an MLP in the paper), ``[*, F] → [*, F']``.
        eps: ``ε`` (default 0).
        train_eps: learn ``ε`` (default ``False``: a fixed buffer).

    Shapes:
        x ``[N, F]`` or bipartite ``([S, F], [T, F])`` or ``([S, F], None)``
        (no self term), edge_index ``[2, E]`` (or a ``[T, S]`` ``CSR``),
        edge_weight ``[E]``, size ``(S, T)`` (optional, PyG's) → ``[N, F']`` (``[T, F']``).
    """

    def __init__(self, nn: nn.Module, eps: float = 0.0, train_eps: bool = False) -> None:
        super().__init__(aggr="sum")
        self.nn = nn
        self.initial_eps = eps
        if train_eps:
            self.eps = torch.nn.Parameter(torch.tensor([float(eps)]))  # shape [1], as PyG
        else:
            self.register_buffer("eps", torch.tensor([float(eps)]))

    def reset_parameters(self) -> None:
        for module in self.nn.modules():
            if module is not self.nn and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.eps.data.fill_(self.initial_eps)

    def update(self, aggr: Tensor, x: Tensor | None) -> Tensor:
        return self.nn(aggr if x is None else (1 + self.eps) * x + aggr)  # x None: (x_src, None), as PyG

    def transform(self, x: Tensor) -> tuple[Tensor]:
        return (x,)

    def forward_block(self, block: Block, src: tuple[Tensor], dst: tuple[Tensor]) -> Tensor:
        return self.propagate((src[0], dst[0]), block.csr)

    def forward(self, x: Tensor | tuple[Tensor, Tensor | None], edge_index: Tensor | CSR,
                edge_weight: Tensor | None = None, size: tuple[int, int] | None = None) -> Tensor:
        x = dense_features(x)  # a sparse x (CSR or torch.sparse) is aggregated itself: densified
        parts = x if isinstance(x, tuple) else (x,)
        for k, part in enumerate(parts):
            if (part is not None or k == 0) and (not isinstance(part, Tensor) or part.dim() != 2):
                raise ValueError(f"GINConv: x must be [num_nodes, F] (or a pair of them; x_dst may be None), got "
                                 f"{getattr(part, 'shape', type(part))}")
        edge_weight, size = weight_or_size(edge_weight, size)  # PyG's conv(x, edge_index, (S, T))
        x_src, x_dst, num_nodes = split_input(x, size, edge_index)
        src = self.transform(x_src)
        dst = src if x_dst is x_src else (None,) if x_dst is None else self.transform(x_dst)
        return self.forward_block(self.prepare(edge_index, edge_weight, num_nodes, x_src.dtype), src, dst)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"
