"""Pair decoders and link losses: what turns node embeddings into edge scores
and a training signal. ``DotDecoder`` / ``HadamardDecoder`` / ``MLPDecoder``
score a pair ``(u, v)`` from ``z_u, z_v``; ``link_bce_loss`` (sampled
negatives) and ``dense_recon_loss`` (all ``N²`` pairs, the GAE paper's) are
plain functions. The models that use them are in ``gnnkit.nn.models.gae``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.ops.pairs import pair_dot


# ---------------------------------------------------------------- decoders
class DotDecoder(nn.Module):
    r"""Inner product :math:`s(u, v) = z_u^\top z_v` (no parameters; the GAE decoder).

    Shapes:
        z ``[N, D]``, pairs ``[2, B]`` → ``[B]`` logits.
    """

    def forward(self, z: Tensor, pairs: Tensor) -> Tensor:
        return pair_dot(z, pairs)


class HadamardDecoder(nn.Module):
    r"""A linear score of the element-wise product :math:`s(u, v) = w^\top (z_u \odot z_v) + b`.

    Symmetric in ``u, v``; the inner product is the special case ``w = 1, b = 0``.

    Args:
        channels: embedding width ``D``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(channels, 1)
        nn.init.ones_(self.lin.weight)  # start at the inner product
        nn.init.zeros_(self.lin.bias)

    def forward(self, z: Tensor, pairs: Tensor) -> Tensor:
        return self.lin(z.index_select(0, pairs[0]) * z.index_select(0, pairs[1])).squeeze(-1)


class MLPDecoder(nn.Module):
    r"""An MLP on the element-wise product :math:`s(u, v) = \mathrm{MLP}(z_u \odot z_v)`.

    The product keeps the score symmetric, as an undirected edge needs.

    Args:
        channels: embedding width ``D``.
        hidden_channels: width of the hidden layers (default ``channels``).
        num_layers: linear layers (default 2), ReLU between them.
        dropout: dropout before every linear layer after the first (default 0).
    """

    def __init__(self, channels: int, hidden_channels: int | None = None, num_layers: int = 2,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"MLPDecoder: num_layers must be >= 1, got {num_layers}")
        hidden = hidden_channels or channels
        sizes = [channels] + [hidden] * (num_layers - 1) + [1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout = dropout

    def forward(self, z: Tensor, pairs: Tensor) -> Tensor:
        h = z.index_select(0, pairs[0]) * z.index_select(0, pairs[1])
        for k, lin in enumerate(self.layers):
            if k:
                h = F.dropout(F.relu(h), self.dropout, self.training)
            h = lin(h)
        return h.squeeze(-1)


DECODERS = {"dot": DotDecoder, "hadamard": HadamardDecoder, "mlp": MLPDecoder}


def make_decoder(name: str, channels: int) -> nn.Module:
    """A decoder by name: ``"dot"``, ``"hadamard"`` or ``"mlp"``."""
    if name not in DECODERS:
        raise ValueError(f"unknown decoder {name!r}; choose one of {', '.join(DECODERS)}")
    return DECODERS[name]() if name == "dot" else DECODERS[name](channels)


# ------------------------------------------------------------------ losses
def link_bce_loss(pos_logits: Tensor, neg_logits: Tensor, neg_weight: float = 1.0) -> Tensor:
    r"""Binary cross-entropy of positive and sampled negative pairs.

    .. math::
        \mathcal L = \tfrac{1}{|P|}\textstyle\sum_{P} -\log\sigma(s)
        + w\,\tfrac{1}{|Q|}\sum_{Q} -\log(1 - \sigma(s))

    Args:
        pos_logits: ``[P]`` scores of positive pairs.
        neg_logits: ``[Q]`` scores of negative pairs.
        neg_weight: weight ``w`` of the negative term (default 1).
    """
    return F.softplus(-pos_logits).mean() + neg_weight * F.softplus(neg_logits).mean()


def dense_recon_loss(z: Tensor, edge_index: Tensor, chunk_size: int = 4096) -> Tensor:
    r"""The GAE paper's reconstruction loss over *all* ``N²`` pairs (Kipf & Welling 2016).

    Weighted binary cross-entropy between :math:`\sigma(Z Z^\top)` and
    :math:`A + I`, the positives up-weighted by :math:`(N^2 - |E|) / |E|` and
    the mean scaled by :math:`N^2 / (2 (N^2 - |E|))`, which is

    .. math::
        \mathcal L = \frac{1}{2|E|}\sum_{(u,v)\in E \cup I} -\log\sigma(s_{uv})
        + \frac{1}{2(N^2 - |E|)}\sum_{(u,v)\notin E \cup I} -\log(1-\sigma(s_{uv}))

    with :math:`E` the training edges (both directions, no loops) and
    :math:`I` the self-loops, term for term the paper's code (``tkipf/gae``,
    ``OptimizerAE``). Rows of :math:`Z Z^\top` are processed ``chunk_size``
    at a time, so memory stays at ``chunk_size · N`` floats; the time is
    ``O(N² D)``, which suits graphs of a few thousand nodes (sample negatives,
    ``link_bce_loss``, beyond).

    Args:
        z: ``[N, D]`` embeddings.
        edge_index: ``[2, E]`` the training edges, both directions, no loops.
        chunk_size: rows of ``Z Z^T`` at a time (default 4096).
    """
    n = z.size(0)
    loops = torch.arange(n, device=z.device)
    src = torch.cat([edge_index[0], loops])
    dst = torch.cat([edge_index[1], loops])
    pos = (z.index_select(0, src) * z.index_select(0, dst)).sum(-1)
    num_edges = edge_index.size(1)  # the paper's pos_weight and norm count the edges without the loops
    num_neg = n * n - num_edges
    # Σ over all pairs of softplus(s), then swap the positives' negative-class term for their positive one.
    total_neg = sum(F.softplus(z[a:a + chunk_size] @ z.t()).sum() for a in range(0, n, chunk_size))
    neg_sum = total_neg - F.softplus(pos).sum()
    return 0.5 * (F.softplus(-pos).sum() / num_edges + neg_sum / num_neg)


__all__ = ["DECODERS", "DotDecoder", "HadamardDecoder", "MLPDecoder", "dense_recon_loss", "link_bce_loss",
           "make_decoder"]
