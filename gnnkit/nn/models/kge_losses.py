"""Losses for training knowledge-graph embeddings: 1-vs-all (LCWA) cross-entropy,
RotatE's self-adversarial negative sampling loss, and the margin ranking loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def lcwa_loss(scores: Tensor, targets: Tensor, loss: str = "ce", label_smoothing: float = 0.0) -> Tensor:
    """1-vs-all loss (local closed-world assumption): every entity not marked
    true for a ``(h, r)`` query is a negative.

    Args:
        scores: ``[B, E]`` scores of every tail per query.
        targets: ``[B, E]`` 0/1 true tails (several per query allowed).
        loss: ``"ce"`` (softmax cross-entropy against the true tails,
            normalised to a distribution; Lacroix et al., 2018) or ``"bce"``
            (per-entity binary cross-entropy; Dettmers et al., 2018).
        label_smoothing: move this much of the target mass uniformly over all
            entities (default 0).
    """
    targets = targets.to(scores.dtype)
    e = scores.size(1)
    if loss == "ce":
        dist = targets / targets.sum(1, keepdim=True).clamp(min=1)
        if label_smoothing:
            dist = (1 - label_smoothing) * dist + label_smoothing / e
        return -(dist * F.log_softmax(scores, dim=1)).sum(1).mean()
    if loss == "bce":
        if label_smoothing:
            targets = (1 - label_smoothing) * targets + label_smoothing / e
        return F.binary_cross_entropy_with_logits(scores, targets)
    raise ValueError(f"unknown LCWA loss {loss!r}; expected 'ce' or 'bce'")


def self_adversarial_loss(positive: Tensor, negative: Tensor, margin: float = 9.0,
                          temperature: float = 1.0) -> Tensor:
    r"""Negative-sampling loss with self-adversarial weights (Sun et al., 2019, eq. 5).

    .. math:: L = -\log\sigma(\gamma + f(h,r,t)) - \sum_i p_i \log\sigma(-\gamma - f(h'_i,r,t'_i)),
              \quad p_i = \operatorname{softmax}_i(\alpha f(h'_i, r, t'_i))

    for distance scores ``f = -d`` (so ``γ + f = γ - d``); the weights ``p``
    are not differentiated. ``temperature=0`` gives uniform weights.

    Args:
        positive: ``[B]`` scores of true triples.
        negative: ``[B, K]`` scores of their corrupted triples; ``-inf``
            marks one left out (a known true triple).
        margin: ``γ`` (default 9).
        temperature: ``α`` (default 1).
    """
    # a negative of -inf is one filtered out (a known true triple): no weight; a row with none left adds
    # nothing (softmax over all -inf would be NaN)
    if temperature > 0:
        weights = torch.softmax(temperature * negative.detach(), dim=1).nan_to_num(0.0)
    else:
        valid = (negative > float("-inf")).to(negative.dtype)
        weights = valid / valid.sum(1, keepdim=True).clamp(min=1)
    pos = -F.logsigmoid(margin + positive)
    neg = -(weights * F.logsigmoid(-margin - negative)).sum(1)
    return ((pos + neg) / 2).mean()


def margin_ranking_loss(positive: Tensor, negative: Tensor, margin: float = 1.0) -> Tensor:
    """``mean max(0, γ - f(pos) + f(neg))`` over every (positive, negative) pair
    (TransE's loss, Bordes et al., 2013). Shapes: positive ``[B]``, negative ``[B, K]``;
    a negative of ``-inf`` (a known true triple, left out) is not a pair: the
    mean runs over the others."""
    valid = negative > float("-inf")
    hinge = F.relu(margin - positive.unsqueeze(1) + negative)  # 0 at -inf
    return hinge.sum() / valid.sum().clamp(min=1)
