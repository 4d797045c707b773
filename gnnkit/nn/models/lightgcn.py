"""LightGCN (He et al., SIGIR 2020): embeddings smoothed over the user–item graph."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.graph import Graph
from gnnkit.nn.conv.lg_conv import LGConv
from gnnkit.ops.sparse import CSR


def _check_ids(num_users: int, num_items: int, dim: int) -> None:
    if num_users <= 0 or num_items <= 0:
        raise ValueError(f"num_users and num_items must be positive, got {num_users} and {num_items}")
    if dim <= 0:
        raise ValueError(f"embedding_dim must be positive, got {dim}")


def _ids(ids: Tensor, count: int, what: str) -> Tensor:
    ids = torch.as_tensor(ids)
    if ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise TypeError(f"{what} must be integer ids, got {ids.dtype}")
    ids = ids.long()
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= count):
        raise IndexError(f"{what} must be ids in 0 .. {count - 1}, got values from {int(ids.min())} to "
                         f"{int(ids.max())}")
    return ids


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

    def score(self, graph: Tensor | CSR | Graph, users: Tensor, items: Tensor) -> Tensor:
        r"""Scores :math:`\hat y_{ui} = e_u^\top e_i` of the pairs ``(users[j], items[j])``
        (user and item ids, each from 0; PyG's ``LightGCN.forward(edge_index,
        edge_label_index)`` on a bipartite graph)."""
        user_emb, item_emb = self(graph)
        users, items = _ids(users, self.num_users, "users"), _ids(items, self.num_items, "items")
        if users.shape != items.shape:
            raise ValueError(f"users and items must pair up one to one, got shapes {tuple(users.shape)} and "
                             f"{tuple(items.shape)}")
        return (user_emb[users] * item_emb[items]).sum(-1)

    def get_embedding(self, graph: Tensor | CSR | Graph) -> Tensor:
        """PyG's ``LightGCN.get_embedding``: the final embeddings of all
        ``num_users + num_items`` nodes, users first."""
        return torch.cat(self(graph))

    def predict_link(self, graph: Tensor | CSR | Graph, users: Tensor, items: Tensor, prob: bool = False) -> Tensor:
        """PyG's ``predict_link``: ``σ(score)`` of each (user, item) pair, rounded
        to 0/1 unless ``prob``."""
        pred = self.score(graph, users, items).sigmoid()
        return pred if prob else pred.round()

    @torch.no_grad()
    def recommend(self, graph: Tensor | CSR | Graph, users: Tensor | None = None, k: int = 20,
                  exclude: Tensor | None = None) -> Tensor:
        """The ``k`` best-scored item ids for each user, best first (PyG's
        ``recommend`` with items as the candidates).

        Args:
            graph: what ``forward`` takes.
            users: user ids (default all users).
            k: items per user; at most the number of items that can be recommended.
            exclude: ``[2, E]`` (user, item) pairs never recommended, such as the
                training interactions (PyG's ``recommend`` has no such option).

        Returns:
            ``[len(users), k]`` item ids.
        """
        user_emb, item_emb = self(graph)
        users = torch.arange(self.num_users, device=user_emb.device) if users is None else \
            _ids(users, self.num_users, "users").reshape(-1)
        scores = user_emb[users] @ item_emb.t()
        if exclude is not None:
            exclude = torch.as_tensor(exclude, device=scores.device)
            if exclude.dim() != 2 or exclude.size(0) != 2:
                raise ValueError(f"exclude must be a [2, E] tensor of (user, item) pairs, got shape "
                                 f"{tuple(exclude.shape)}")
            ex_users, ex_items = _ids(exclude[0], self.num_users, "exclude users"), \
                _ids(exclude[1], self.num_items, "exclude items")
            row = torch.full((self.num_users,), -1, dtype=torch.long, device=scores.device)
            row[users] = torch.arange(users.numel(), device=scores.device)
            keep = row[ex_users] >= 0
            scores[row[ex_users[keep]], ex_items[keep]] = float("-inf")
        if not 0 < k <= self.num_items:
            raise ValueError(f"k must be between 1 and the number of items ({self.num_items}), got {k}")
        best = scores.topk(k, dim=-1)
        if exclude is not None and bool(torch.isinf(best.values).any()):
            raise ValueError(f"k = {k} is more than the items left to recommend to some user once the excluded "
                             f"pairs are removed; ask for fewer")
        return best.indices

    def recommendation_loss(self, pos_scores: Tensor, neg_scores: Tensor, node_id: Tensor | None = None,
                            lambda_reg: float = 1e-4) -> Tensor:
        r"""PyG's ``LightGCN.recommendation_loss``: the mean BPR loss
        :math:`-\frac1B\sum \ln\sigma(s^+ - s^-)` plus
        :math:`\lambda \lVert E^{(0)}_{\text{node\_id}} \rVert^2 / B` over the ego
        embeddings of ``node_id`` (graph node ids: users first, then
        ``num_users + item``; default every node)."""
        if pos_scores.shape != neg_scores.shape or pos_scores.dim() != 1:
            raise ValueError(f"pos_scores and neg_scores must be 1-D of the same length, got "
                             f"{tuple(pos_scores.shape)} and {tuple(neg_scores.shape)}")
        loss = F.softplus(neg_scores - pos_scores).mean()
        if lambda_reg != 0:
            emb = self.embedding.weight if node_id is None else self.embedding.weight[node_id]
            loss = loss + lambda_reg * emb.pow(2).sum() / pos_scores.numel()
        return loss

    def link_pred_loss(self, pred: Tensor, edge_label: Tensor, **kwargs) -> Tensor:
        """PyG's ``LightGCN.link_pred_loss``: binary cross-entropy on logits
        (``kwargs`` go to ``torch.nn.BCEWithLogitsLoss``)."""
        return nn.BCEWithLogitsLoss(**kwargs)(pred, edge_label.to(pred.dtype))

    def extra_repr(self) -> str:
        return f"users={self.num_users}, items={self.num_items}, dim={self.embedding_dim}, layers={self.num_layers}"
