"""Matrix factorisation (the BPR-MF baseline) and the popularity floor."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnkit.nn.models.lightgcn import _check_ids


class MF(nn.Module):
    r"""Matrix factorisation scored by a dot product, trained with BPR in
    Rendle et al., https://arxiv.org/abs/1205.2618.

    .. math::
        \hat y_{ui} = e_u^\top e_i

    Same interface as ``LightGCN`` (one embedding table, users first), so a
    trainer treats both alike; the graph argument of ``forward`` is ignored.

    Args:
        num_users: number of users (ids ``0 .. num_users - 1``).
        num_items: number of items (ids ``0 .. num_items - 1``).
        embedding_dim: size of every embedding (default 64).

    Shapes:
        ``forward(graph=None)`` → ``(users [num_users, dim], items [num_items, dim])``.
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64) -> None:
        super().__init__()
        _check_ids(num_users, num_items, embedding_dim)
        self.num_users, self.num_items, self.embedding_dim = num_users, num_items, embedding_dim
        self.embedding = nn.Embedding(num_users + num_items, embedding_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.embedding.weight, std=0.1)

    def ego_embeddings(self) -> tuple[Tensor, Tensor]:
        """``(users, items)``: the parameters themselves."""
        return self.embedding.weight.split([self.num_users, self.num_items])

    def forward(self, graph=None) -> tuple[Tensor, Tensor]:
        return self.ego_embeddings()

    def extra_repr(self) -> str:
        return f"users={self.num_users}, items={self.num_items}, dim={self.embedding_dim}"


class Popularity(nn.Module):
    r"""The popularity floor: every user gets the items with the most
    training interactions, :math:`\hat y_{ui} = |\{u' : (u', i) \in R\}|`.

    Written as a rank-1 factorisation (user vectors all ones, item vectors the
    counts) so that it plugs into the same ranking code. No trainable
    parameters; call ``fit(train_interactions)`` once.

    Shapes:
        ``forward(graph=None)`` → ``(users [num_users, 1], items [num_items, 1])``.
    """

    def __init__(self, num_users: int, num_items: int) -> None:
        super().__init__()
        _check_ids(num_users, num_items, 1)
        self.num_users, self.num_items = num_users, num_items
        self.register_buffer("counts", torch.zeros(num_items))

    def fit(self, train_interactions: Tensor) -> Popularity:
        """Count each item's distinct training users (``[2, n]`` user row, item row)."""
        key = torch.unique(train_interactions[0].long() * self.num_items + train_interactions[1].long())
        counts = torch.bincount(key % self.num_items, minlength=self.num_items)
        self.counts.copy_(counts.to(self.counts))
        return self

    def forward(self, graph=None) -> tuple[Tensor, Tensor]:
        return self.counts.new_ones(self.num_users, 1), self.counts.unsqueeze(1)

    def extra_repr(self) -> str:
        return f"users={self.num_users}, items={self.num_items}"
