"""NGCF (Wang et al., SIGIR 2019): neural graph collaborative filtering."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.graph import Graph
from gnnkit.nn.conv.lg_conv import LGConv
from gnnkit.nn.models.lightgcn import _check_ids
from gnnkit.ops.sparse import CSR


class NGCF(nn.Module):
    r"""NGCF, https://arxiv.org/abs/1905.08108.

    Users and items are the nodes of one bipartite graph (user ``u`` is node
    ``u``, item ``v`` is node ``num_users + v``), :math:`L = D^{-1/2} A D^{-1/2}`.
    Each layer mixes the neighbourhood sum and an affinity term (eq. 7):

    .. math::
        E^{(l)} = \mathrm{LeakyReLU}_{0.2}\big((L + I) E^{(l-1)} W_1^{(l)}
                  + (L E^{(l-1)} \odot E^{(l-1)}) W_2^{(l)}\big)

    (with biases), message dropout on :math:`E^{(l)}` during training, and the
    final embedding concatenates :math:`E^{(0)}` with the row-normalised
    :math:`E^{(1)} .. E^{(L)}`; :math:`\hat y_{ui} = e_u^\top e_i`.

    Args:
        num_users: number of users (ids ``0 .. num_users - 1``).
        num_items: number of items (ids ``0 .. num_items - 1``).
        embedding_dim: size of the ego embeddings and of every layer (default 64).
        num_layers: propagation layers (default 3).
        dropout: message dropout after each layer while training (default 0.1).

    Shapes:
        ``forward(graph)`` with the bipartite ``[2, E]`` edge_index, a ``CSR``
        or a ``Graph`` over ``num_users + num_items`` nodes →
        ``(users [num_users, dim * (L + 1)], items [num_items, dim * (L + 1)])``.
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64, num_layers: int = 3,
                 dropout: float = 0.1) -> None:
        super().__init__()
        _check_ids(num_users, num_items, embedding_dim)
        if num_layers < 0:
            raise ValueError(f"num_layers must be >= 0, got {num_layers}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.num_users, self.num_items = num_users, num_items
        self.embedding_dim, self.num_layers, self.dropout = embedding_dim, num_layers, dropout
        self.embedding = nn.Embedding(num_users + num_items, embedding_dim)
        self.w1 = nn.ModuleList(nn.Linear(embedding_dim, embedding_dim) for _ in range(num_layers))
        self.w2 = nn.ModuleList(nn.Linear(embedding_dim, embedding_dim) for _ in range(num_layers))
        self.conv = LGConv()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Xavier initialisation, as in the authors' code.
        nn.init.xavier_uniform_(self.embedding.weight)
        for lin in (*self.w1, *self.w2):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def ego_embeddings(self) -> tuple[Tensor, Tensor]:
        """Layer-0 ``(users, items)`` (what the task's L2 regularises)."""
        return self.embedding.weight.split([self.num_users, self.num_items])

    def forward(self, graph: Tensor | CSR | Graph) -> tuple[Tensor, Tensor]:
        adj = graph.csr() if isinstance(graph, Graph) else graph
        x = self.embedding.weight
        outs = [x]
        for w1, w2 in zip(self.w1, self.w2):
            side = self.conv(x, adj)  # L E
            x = F.leaky_relu(w1(side + x) + w2(side * x), negative_slope=0.2)
            x = F.dropout(x, self.dropout, self.training)
            outs.append(F.normalize(x, dim=1))
        return torch.cat(outs, dim=1).split([self.num_users, self.num_items])

    def extra_repr(self) -> str:
        return f"users={self.num_users}, items={self.num_items}, dim={self.embedding_dim}, layers={self.num_layers}"
