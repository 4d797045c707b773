"""LightGCN (He et al., SIGIR 2020): embeddings smoothed over the user–item graph."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from gnnkit.graph import Graph
from gnnkit.nn.conv.lg_conv import LGConv
from gnnkit.ops.sparse import CSR


def _check_ids(num_users: int, num_items: int, dim: int) -> None:
    if num_users <= 0 or num_items <= 0:
        raise ValueError(f"num_users and num_items must be positive, got {num_users} and {num_items}")
    if dim <= 0:
        raise ValueError(f"embedding_dim must be positive, got {dim}")


class LightGCN(nn.Module):
    r"""LightGCN, https://arxiv.org/abs/2002.02126.

    Users and items are the nodes of one bipartite graph (user ``u`` is node
    ``u``, item ``v`` is node ``num_users + v``). With ego embeddings
    :math:`E^{(0)}` and the symmetric-normalised adjacency
    :math:`\tilde A = D^{-1/2} A D^{-1/2}` (no self-loops),

    .. math::
        E^{(k+1)} = \tilde A E^{(k)},\qquad
        E = \sum_{k=0}^{K} \alpha_k E^{(k)},\qquad
        \hat y_{ui} = e_u^\top e_i

    with :math:`\alpha_k = 1/(K+1)` unless ``alpha`` is given. The only
    parameters are the ego embeddings. One ``LGConv`` is shared by all layers,
    so the normalised adjacency is computed once per graph and reused by every
    layer and every batch.

    Args:
        num_users: number of users (ids ``0 .. num_users - 1``).
        num_items: number of items (ids ``0 .. num_items - 1``).
        embedding_dim: size of every embedding (default 64).
        num_layers: propagation steps ``K`` (default 3).
        alpha: ``K + 1`` layer weights, or one number for all of them (as
            PyG's ``alpha``; default uniform ``1/(K+1)``).

    Shapes:
        ``forward(graph)`` with the bipartite ``[2, E]`` edge_index, a ``CSR``
        or a ``Graph`` (its ``edge_weight`` used) over ``num_users + num_items`` nodes →
        ``(users [num_users, dim], items [num_items, dim])``.
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64, num_layers: int = 3,
                 alpha: float | Sequence[float] | Tensor | None = None) -> None:
        super().__init__()
        _check_ids(num_users, num_items, embedding_dim)
        if num_layers < 0:
            raise ValueError(f"num_layers must be >= 0, got {num_layers}")
        self.num_users, self.num_items = num_users, num_items
        self.embedding_dim, self.num_layers = embedding_dim, num_layers
        if alpha is None:
            alpha = torch.full((num_layers + 1,), 1.0 / (num_layers + 1))
        alpha = torch.as_tensor(alpha, dtype=torch.float32)
        if alpha.dim() == 0:  # one weight for every layer, as PyG's LightGCN(alpha=float)
            alpha = alpha.repeat(num_layers + 1)
        if alpha.shape != (num_layers + 1,):
            raise ValueError(f"alpha needs num_layers + 1 = {num_layers + 1} weights, got shape {tuple(alpha.shape)}")
        self.register_buffer("alpha", alpha)
        self.embedding = nn.Embedding(num_users + num_items, embedding_dim)
        self.conv = LGConv()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # N(0, 0.1^2) as in the authors' PyTorch code (LightGCN-PyTorch).
        nn.init.normal_(self.embedding.weight, std=0.1)

    def ego_embeddings(self) -> tuple[Tensor, Tensor]:
        """Layer-0 ``(users, items)`` (the parameters; what L2 regularises)."""
        return self.embedding.weight.split([self.num_users, self.num_items])

    def forward(self, graph: Tensor | CSR | Graph) -> tuple[Tensor, Tensor]:
        adj = graph.csr() if isinstance(graph, Graph) else graph  # the Graph's CSR carries its edge weights
        weights = self.alpha.tolist()  # python floats: one fused add per layer
        x = self.embedding.weight
        out = x * weights[0]
        for k in range(1, self.num_layers + 1):
            x = self.conv(x, adj)
            out = out.add(x, alpha=weights[k])
        return out.split([self.num_users, self.num_items])

    def extra_repr(self) -> str:
        return f"users={self.num_users}, items={self.num_items}, dim={self.embedding_dim}, layers={self.num_layers}"
