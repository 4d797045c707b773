"""SimpleX (Mao et al., CIKM 2021): cosine matrix factorisation with the cosine contrastive loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.models.lightgcn import _check_ids


def cosine_contrastive_loss(pos_scores: Tensor, neg_scores: Tensor, margin: float = 0.9,
                            negative_weight: float | None = None) -> Tensor:
    r"""The cosine contrastive loss (CCL) of SimpleX, averaged over the batch:

    .. math::
        \mathcal L = (1 - \hat y_{ui}) + \frac{w}{N} \sum_{j=1}^{N} \max(0, \hat y_{uj} - m)

    Args:
        pos_scores: ``[B]`` cosine of each (user, positive item).
        neg_scores: ``[B, N]`` cosine of the user with ``N`` negative items.
        margin: ``m``, negatives scored below it cost nothing (default 0.9).
        negative_weight: ``w`` (default ``N``: every negative counts fully).
    """
    w = float(neg_scores.size(1)) if negative_weight is None else negative_weight
    neg = F.relu(neg_scores - margin).mean(dim=1)
    return ((1.0 - pos_scores) + w * neg).mean()


class SimpleX(nn.Module):
    r"""SimpleX, https://arxiv.org/abs/2109.12613: user and item embeddings
    scored by their cosine and trained with the cosine contrastive loss
    (``cosine_contrastive_loss``) against ``num_negatives`` sampled negatives
    per positive. A user's vector mixes its own embedding with the mean of its
    training items' (the paper's behaviour aggregation, "mean" variant):

    .. math::
        h_u = g\, e_u + (1 - g)\, W \frac{1}{|N_u|}\sum_{i \in N_u} e_i,\qquad
        \hat y_{ui} = \cos(h_u, e_i)

    Call ``set_history(interactions)`` before training (the task does);
    without a history the user vector is :math:`e_u` alone.

    Args:
        num_users: number of users (ids ``0 .. num_users - 1``).
        num_items: number of items (ids ``0 .. num_items - 1``).
        embedding_dim: size of every embedding (default 64).
        num_negatives: negatives per positive (default 10).
        margin: CCL margin (default 0.9).
        negative_weight: CCL weight of the negatives (default ``num_negatives``).
        gamma: ``g``, the weight of the user's own embedding (default 0.5).

    Shapes:
        ``forward(graph=None)`` → ``(users [num_users, dim], items [num_items, dim])``,
        both rows of unit length.
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64, num_negatives: int = 10,
                 margin: float = 0.9, negative_weight: float | None = None, gamma: float = 0.5) -> None:
        super().__init__()
        _check_ids(num_users, num_items, embedding_dim)
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        if not -1 <= margin <= 1:
            raise ValueError(f"margin must be a cosine in [-1, 1], got {margin}")
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.num_users, self.num_items, self.embedding_dim = num_users, num_items, embedding_dim
        self.num_negatives, self.margin, self.negative_weight, self.gamma = num_negatives, margin, negative_weight, gamma
        self.embedding = nn.Embedding(num_users + num_items, embedding_dim)
        self.mix = nn.Linear(embedding_dim, embedding_dim, bias=False)
        self.history: tuple[Tensor, Tensor] | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.embedding.weight, std=0.1)
        nn.init.eye_(self.mix.weight)

    def set_history(self, users: Tensor, items: Tensor) -> SimpleX:
        """Each user's training items, for the behaviour aggregation.

        Args:
            users: ``[n]`` user ids.
            items: ``[n]`` item ids.
        """
        self.history = (users.long(), items.long())
        return self

    def ego_embeddings(self) -> tuple[Tensor, Tensor]:
        """``(users, items)``: the embedding tables (what the task's L2 regularises)."""
        return self.embedding.weight.split([self.num_users, self.num_items])

    def forward(self, graph=None) -> tuple[Tensor, Tensor]:
        user, item = self.ego_embeddings()
        if self.history is not None and self.gamma < 1:
            users, items = self.history
            total = torch.zeros_like(user).index_add_(0, users, item.index_select(0, items))
            count = torch.bincount(users, minlength=self.num_users).clamp_(min=1).unsqueeze(1)
            user = self.gamma * user + (1 - self.gamma) * self.mix(total / count)
        return F.normalize(user, dim=1), F.normalize(item, dim=1)

    def loss(self, pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
        """``cosine_contrastive_loss`` with this model's margin and weight.

        Args:
            pos_scores: ``[B]`` cosines of the positives.
            neg_scores: ``[B, N]`` cosines of the negatives.
        """
        return cosine_contrastive_loss(pos_scores, neg_scores, self.margin, self.negative_weight)

    def extra_repr(self) -> str:
        return (f"users={self.num_users}, items={self.num_items}, dim={self.embedding_dim}, "
                f"negatives={self.num_negatives}, margin={self.margin}")
