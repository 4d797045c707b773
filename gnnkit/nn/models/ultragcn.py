"""UltraGCN (Mao et al., CIKM 2021): matrix factorisation trained with graph-derived constraint weights."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.models.lightgcn import _check_ids
from gnnkit.ops.sparse import csr_to_dense, torch_csr


def ultragcn_constraints(users: Tensor, items: Tensor, num_users: int, num_items: int, num_neighbors: int = 10,
                         memory_mb: float = 256.0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""UltraGCN's constraint weights from the binary interactions :math:`R`.

    The user–item weight factorises,
    :math:`\beta_{u,i} = \frac{1}{d_u}\sqrt{\frac{d_u + 1}{d_i + 1}} = b_u\, c_i` with
    :math:`b_u = \sqrt{d_u + 1} / d_u` and :math:`c_i = 1 / \sqrt{d_i + 1}`
    (:math:`d` the degrees in :math:`R`). On the item–item co-occurrence graph
    :math:`G = R^\top R` with degrees :math:`g_i = \sum_j G_{ij}` the same form gives

    .. math::
        \omega_{i,j} = \frac{G_{ij}}{g_i}\sqrt{\frac{g_i + 1}{g_j + 1}},

    of which each item keeps its ``num_neighbors`` largest (its diagonal
    included, as in the authors' code). :math:`G` is built a block of items at
    a time (one sparse × sparse product per block, at most ``memory_mb`` of
    dense rows), never as a whole.

    Args:
        users: ``[n]`` user ids of the interactions (duplicates merged).
        items: ``[n]`` item ids.
        num_users: number of users.
        num_items: number of items.
        num_neighbors: item neighbours kept per item (default 10; at most ``num_items``).
        memory_mb: most memory one block of dense item–item rows may take (default 256).

    Returns:
        ``(b [U], c [I], neighbours [I, K] long, omega [I, K])``; ``b_u = 0`` for a user without items.
    """
    key = torch.unique(users.long() * num_items + items.long())
    u, i = key // num_items, key % num_items
    dev = key.device
    deg_u = torch.bincount(u, minlength=num_users).to(torch.float32)
    deg_i = torch.bincount(i, minlength=num_items).to(torch.float32)
    b = ((deg_u + 1).sqrt() / deg_u).masked_fill_(deg_u == 0, 0.0)
    c = (deg_i + 1).rsqrt()
    # g_i = sum_j (R^T R)_ij = sum over the item's users of their degrees
    g = torch.zeros(num_items, device=dev).index_add_(0, i, deg_u[u])
    row_scale = ((g + 1).sqrt() / g).masked_fill_(g == 0, 0.0)
    col_scale = (g + 1).rsqrt()
    ones = torch.ones(key.numel(), device=dev)
    rowptr = torch.zeros(num_users + 1, dtype=torch.long, device=dev)
    torch.cumsum(torch.bincount(u, minlength=num_users), 0, out=rowptr[1:])
    r = torch_csr(rowptr, i, ones, (num_users, num_items))
    order = torch.argsort(i, stable=True)  # item-major: the rows of R^T
    users_t = u[order]
    crow_t = torch.zeros(num_items + 1, dtype=torch.long, device=dev)
    torch.cumsum(torch.bincount(i, minlength=num_items), 0, out=crow_t[1:])
    k = min(num_neighbors, num_items)
    neighbours = torch.zeros(num_items, k, dtype=torch.long, device=dev)
    omega = torch.zeros(num_items, k, device=dev)
    block = max(1, int(memory_mb * 2**20 // (num_items * 4 * 2)))
    for start in range(0, num_items, block):
        end = min(start + block, num_items)
        lo, hi = int(crow_t[start]), int(crow_t[end])
        rows_t = torch_csr(crow_t[start : end + 1] - lo, users_t[lo:hi], ones[lo:hi], (end - start, num_users))
        co = csr_to_dense(torch.sparse.mm(rows_t, r))  # [block, I] co-occurrence counts G_ij
        top, idx = (co * col_scale).topk(k, dim=1)
        neighbours[start:end] = idx
        omega[start:end] = top * row_scale[start:end, None]
    return b, c, neighbours, omega


class UltraGCN(nn.Module):
    r"""UltraGCN, https://arxiv.org/abs/2110.15114: user and item embeddings
    scored by a dot product, :math:`\hat y_{ui} = e_u^\top e_i`, with no
    message passing; the limit of infinitely many graph convolutions enters as
    weights of the loss instead. Per (user, positive item) pair with ``N``
    sampled negatives :math:`j` (``loss``, averaged over the batch):

    .. math::
        \mathcal L_O = -(w_1 + w_2 \beta_{u,i}) \log\sigma(\hat y_{ui})
            - \frac{n_w}{N} \sum_{j} (w_3 + w_4 \beta_{u,j}) \log\sigma(-\hat y_{uj})

    with :math:`\beta_{u,i} = \frac{1}{d_u}\sqrt{\frac{d_u+1}{d_i+1}}`, plus
    ``lambda_`` times the item–item constraint on the positive's top-``K``
    neighbours :math:`S(i)` (``item_loss``):

    .. math::
        \mathcal L_I = -\sum_{j \in S(i)} \omega_{i,j} \log\sigma(e_u^\top e_j)

    (``ultragcn_constraints``). Where this differs from the authors' code: the
    losses are averaged over the batch, not summed; the L2 term is the task's
    (``reg`` on the batch's rows, as for the other models, instead of
    ``gamma`` on every parameter); and the negatives are drawn among the
    user's non-training items. Call ``set_constraints(users, items)`` with the
    training interactions before training (``RecTask`` does).

    Args:
        num_users: number of users (ids ``0 .. num_users - 1``).
        num_items: number of items (ids ``0 .. num_items - 1``).
        embedding_dim: size of every embedding (default 64).
        num_negatives: ``N``, negatives per positive (default 50).
        negative_weight: ``n_w`` (default 1: the negatives' mean weighs like the
            positive). The authors use 50–300 with hundreds of epochs at lr 1e-4;
            at lr 1e-2 larger weights first sit at popularity's level for several
            epochs, which early stopping can take for convergence (it did on
            lastfm with 3; on ml-100k, seed 0, 10 ended higher than 1).
        w1: constant weight of a positive (default 1e-6, the authors').
        w2: weight of :math:`\beta` for a positive (default 1).
        w3: constant weight of a negative (default 1e-6).
        w4: weight of :math:`\beta` for a negative (default 1).
        lambda_: weight of the item–item loss (default 1e-3).
        num_neighbors: ``K``, item neighbours per item (default 10, the authors').
        init_std: standard deviation of the initial embeddings (default 1e-4, the authors').

    Shapes:
        ``forward(graph=None)`` → ``(users [num_users, dim], items [num_items, dim])``.
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64, num_negatives: int = 50,
                 negative_weight: float = 1.0, w1: float = 1e-6, w2: float = 1.0, w3: float = 1e-6, w4: float = 1.0,
                 lambda_: float = 1e-3, num_neighbors: int = 10, init_std: float = 1e-4) -> None:
        super().__init__()
        _check_ids(num_users, num_items, embedding_dim)
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        if num_neighbors < 1:
            raise ValueError(f"num_neighbors must be >= 1, got {num_neighbors}")
        for name, value in (("negative_weight", negative_weight), ("w1", w1), ("w2", w2), ("w3", w3), ("w4", w4),
                            ("lambda_", lambda_), ("init_std", init_std)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite weight >= 0, got {value}")
        self.num_users, self.num_items, self.embedding_dim = num_users, num_items, embedding_dim
        self.num_negatives, self.negative_weight = num_negatives, float(negative_weight)
        self.w1, self.w2, self.w3, self.w4, self.lambda_ = float(w1), float(w2), float(w3), float(w4), float(lambda_)
        self.num_neighbors, self.init_std = num_neighbors, init_std
        self.embedding = nn.Embedding(num_users + num_items, embedding_dim)
        # The constraints are plain attributes, rebuilt from the interactions (not saved with the weights).
        self.constraints: tuple[Tensor, Tensor, Tensor, Tensor] | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.embedding.weight, std=self.init_std)

    def set_constraints(self, users: Tensor, items: Tensor) -> UltraGCN:
        """Build :math:`\\beta` and the item neighbours from the training interactions.

        Args:
            users: ``[n]`` user ids.
            items: ``[n]`` item ids.
        """
        self.constraints = ultragcn_constraints(users, items, self.num_users, self.num_items, self.num_neighbors)
        return self

    def ego_embeddings(self) -> tuple[Tensor, Tensor]:
        """``(users, items)``: the embedding tables (what the task's L2 regularises)."""
        return self.embedding.weight.split([self.num_users, self.num_items])

    def forward(self, graph=None) -> tuple[Tensor, Tensor]:
        return self.ego_embeddings()

    def _constraints(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        if self.constraints is None:
            raise RuntimeError("UltraGCN's loss needs the training interactions first: call "
                               "set_constraints(users, items)")
        return self.constraints

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor, pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
        r""":math:`\mathcal L_O`, the :math:`\beta`-weighted binary cross-entropy, averaged over the batch.

        Args:
            users: ``[B]`` user ids.
            pos: ``[B]`` positive item ids.
            neg: ``[B, N]`` negative item ids.
            pos_scores: ``[B]`` :math:`\hat y_{ui}`.
            neg_scores: ``[B, N]`` :math:`\hat y_{uj}`.
        """
        b, c, _, _ = self._constraints()
        bu = b[users]
        pos_w = self.w1 + self.w2 * bu * c[pos]
        neg_w = self.w3 + self.w4 * bu.unsqueeze(1) * c[neg]
        # -log σ(s) = softplus(-s), -log σ(-s) = softplus(s)
        pos_loss = pos_w * F.softplus(-pos_scores)
        neg_loss = (neg_w * F.softplus(neg_scores)).mean(dim=1)
        return (pos_loss + self.negative_weight * neg_loss).mean()

    def item_loss(self, user_rows: Tensor, pos: Tensor, item_emb: Tensor) -> Tensor:
        r"""``lambda_`` times :math:`\mathcal L_I`, averaged over the batch.

        Args:
            user_rows: ``[B, dim]`` the batch's user embeddings.
            pos: ``[B]`` positive item ids.
            item_emb: ``[num_items, dim]`` all item embeddings.
        """
        _, _, neighbours, omega = self._constraints()
        if not self.lambda_:
            return user_rows.new_zeros(())
        nbr = neighbours[pos]  # [B, K]
        scores = torch.bmm(item_emb[nbr], user_rows.unsqueeze(2)).squeeze(2)  # [B, K]
        return self.lambda_ * (omega[pos] * F.softplus(-scores)).sum(1).mean()

    def extra_repr(self) -> str:
        return (f"users={self.num_users}, items={self.num_items}, dim={self.embedding_dim}, "
                f"negatives={self.num_negatives}, neighbours={self.num_neighbors}")
