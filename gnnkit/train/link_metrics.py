"""Link-prediction metrics in torch: ROC-AUC, average precision, Hits@K, MRR.

``roc_auc`` and ``average_precision`` follow scikit-learn's
``roc_auc_score`` and ``average_precision_score`` exactly, ties included
(tied scores form one threshold); they are computed in float64 on whatever
device the scores are on. ``hits_at_k`` and ``mrr`` follow the OGB link
evaluators (Hu et al. 2020, https://arxiv.org/abs/2005.00687).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

# Up to this many scores on the CPU, the curve is computed in numpy: the
# dozen small torch calls it takes cost more than the arithmetic (on the
# ~500 validation pairs of a citation graph, scored every epoch: 74 µs in
# numpy against 137 µs in torch, one thread).
_NUMPY_MAX = 1 << 16


def _binary(scores: Tensor, labels: Tensor, name: str) -> tuple[Tensor, Tensor]:
    if scores.dim() != 1 or labels.shape != scores.shape:
        raise ValueError(f"{name}: scores and labels must be 1-D of the same length, got {tuple(scores.shape)} "
                         f"and {tuple(labels.shape)}")
    labels = labels.to(scores.device)
    if labels.dtype != torch.bool:
        if bool(((labels != 0) & (labels != 1)).any()):
            raise ValueError(f"{name}: labels must be 0/1 (or bool)")
        labels = labels == 1
    pos = int(labels.sum())
    if pos == 0 or pos == labels.numel():
        raise ValueError(f"{name} is undefined with only one class present ({pos} positives of {labels.numel()}); "
                         f"pass positive and negative pairs")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError(f"{name}: scores contain NaN or infinity")
    return scores.double(), labels


def _curve(scores: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Cumulative true / false positives at each distinct threshold, highest score first
    (scikit-learn's ``_binary_clf_curve``)."""
    order = torch.argsort(scores, descending=True, stable=True)
    s, y = scores[order], labels[order].double()
    last = torch.ones_like(s, dtype=torch.bool)  # last position of each run of tied scores
    last[:-1] = s[1:] != s[:-1]
    tps = torch.cumsum(y, 0)[last]
    fps = torch.cumsum(1.0 - y, 0)[last]
    return tps, fps


def roc_auc(scores: Tensor, labels: Tensor) -> float:
    r"""Area under the ROC curve (trapezoids through the distinct thresholds).

    Equal to the probability that a random positive scores above a random
    negative, a tie counting one half.

    Args:
        scores: ``[n]`` scores (logits or probabilities; only the order matters).
        labels: ``[n]`` 0/1 or bool.

    Raises:
        ValueError: only one class present, shape mismatch, non-finite scores.
    """
    return _auc_and_ap(scores, labels, "roc_auc")[0]


def _auc(tps: Tensor, fps: Tensor) -> float:
    zero = tps.new_zeros(1)
    tpr = torch.cat([zero, tps]) / tps[-1]
    fpr = torch.cat([zero, fps]) / fps[-1]
    return float(torch.trapezoid(tpr, fpr))


def average_precision(scores: Tensor, labels: Tensor) -> float:
    r"""Average precision :math:`\sum_n (R_n - R_{n-1}) P_n` over the distinct thresholds.

    Step-wise, not interpolated (scikit-learn's ``average_precision_score``).

    Args:
        scores: ``[n]`` scores.
        labels: ``[n]`` 0/1 or bool.

    Raises:
        ValueError: only one class present, shape mismatch, non-finite scores.
    """
    return _auc_and_ap(scores, labels, "average_precision")[1]


def _ap(tps: Tensor, fps: Tensor) -> float:
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    step = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((step * precision).sum())


def auc_and_ap(scores: Tensor, labels: Tensor) -> tuple[float, float]:
    """``(roc_auc(scores, labels), average_precision(scores, labels))`` from one sort."""
    return _auc_and_ap(scores, labels, "auc_and_ap")


def _auc_and_ap(scores: Tensor, labels: Tensor, name: str) -> tuple[float, float]:
    if scores.device.type == "cpu" and scores.numel() <= _NUMPY_MAX:
        return _auc_and_ap_numpy(scores, labels, name)
    scores, labels = _binary(scores, labels, name)
    tps, fps = _curve(scores, labels)
    return _auc(tps, fps), _ap(tps, fps)


def _auc_and_ap_numpy(scores: Tensor, labels: Tensor, name: str) -> tuple[float, float]:
    """``_auc_and_ap`` in numpy: the same definitions and checks, float64 throughout."""
    if scores.dim() != 1 or labels.shape != scores.shape:
        raise ValueError(f"{name}: scores and labels must be 1-D of the same length, got {tuple(scores.shape)} "
                         f"and {tuple(labels.shape)}")
    s = scores.detach().to(torch.float64).numpy()
    y = labels.detach().cpu().numpy()
    if y.dtype != np.bool_:
        if ((y != 0) & (y != 1)).any():
            raise ValueError(f"{name}: labels must be 0/1 (or bool)")
        y = y == 1
    pos = int(np.count_nonzero(y))
    if pos == 0 or pos == y.size:
        raise ValueError(f"{name} is undefined with only one class present ({pos} positives of {y.size}); "
                         f"pass positive and negative pairs")
    if not np.isfinite(s).all():
        raise ValueError(f"{name}: scores contain NaN or infinity")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order].astype(np.float64)
    last = np.ones(s.size, dtype=bool)  # last position of each run of tied scores
    np.not_equal(s[1:], s[:-1], out=last[:-1])
    tps = np.cumsum(y)[last]
    fps = (np.arange(1, s.size + 1, dtype=np.float64) - np.cumsum(y))[last]
    tpr = np.concatenate([[0.0], tps / tps[-1]])
    fpr = np.concatenate([[0.0], fps / fps[-1]])
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)
    recall = tps / tps[-1]
    ap = float(np.sum(np.diff(recall, prepend=0.0) * (tps / (tps + fps))))
    return auc, ap


def _ranked(pos: Tensor, neg: Tensor, name: str) -> tuple[Tensor, Tensor]:
    if pos.dim() != 1:
        raise ValueError(f"{name}: pos must be [P] scores of the positive pairs, got {tuple(pos.shape)}")
    if neg.dim() == 2 and neg.size(0) != pos.numel():
        raise ValueError(f"{name}: per-positive negatives must be [P, M] with P = {pos.numel()}, got {tuple(neg.shape)}")
    if neg.dim() not in (1, 2) or neg.numel() == 0 or pos.numel() == 0:
        raise ValueError(f"{name}: need positives and negatives: pos [P], neg [M] (shared) or [P, M] (per positive)")
    return pos.double(), neg.double().to(pos.device)


def hits_at_k(pos: Tensor, neg: Tensor, k: int) -> float:
    r"""Fraction of positives scored above the ``k``-th best negative (OGB's Hits@K).

    With shared negatives ``neg [M]``: a positive is a hit when its score is
    strictly above the ``k``-th highest negative score (all are hits when
    ``M < k``). With per-positive negatives ``neg [P, M]``: when its rank
    among its own negatives, ``1 + (#neg > pos + #neg ≥ pos) / 2`` (ties
    share the mean of the optimistic and pessimistic ranks, as ``mrr``), is
    at most ``k``: OGB's ``ranking_list <= K`` for per-positive negatives.

    Args:
        pos: ``[P]`` scores of the positive pairs.
        neg: ``[M]`` shared or ``[P, M]`` per-positive negative scores.
        k: cut-off, ``>= 1``.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"hits_at_k: k must be a positive integer, got {k!r}")
    pos, neg = _ranked(pos, neg, "hits_at_k")
    if neg.dim() == 1:
        if neg.numel() < k:
            return 1.0
        kth = torch.topk(neg, k).values[-1]
        return float((pos > kth).double().mean())
    rank = 1.0 + 0.5 * ((neg > pos[:, None]).sum(1) + (neg >= pos[:, None]).sum(1)).double()
    return float((rank <= k).double().mean())


def mrr(pos: Tensor, neg: Tensor) -> float:
    r"""Mean reciprocal rank of each positive among its negatives (OGB's MRR).

    The rank of a positive is ``1 + (#neg > pos + #neg ≥ pos) / 2``: ties
    share the mean of the optimistic and pessimistic ranks.

    Args:
        pos: ``[P]`` scores of the positive pairs.
        neg: ``[M]`` shared (all negatives) or ``[P, M]`` per-positive scores.
    """
    pos, neg = _ranked(pos, neg, "mrr")
    if neg.dim() == 1:  # against all shared negatives: counts by binary search in the sorted scores
        s = torch.sort(neg).values
        above = s.numel() - torch.searchsorted(s, pos, right=True)
        at_least = s.numel() - torch.searchsorted(s, pos, right=False)
    else:
        above = (neg > pos[:, None]).sum(1)
        at_least = (neg >= pos[:, None]).sum(1)
    rank = 1.0 + 0.5 * (above + at_least).double()
    return float((1.0 / rank).mean())


def precision_at_k(scores: Tensor, labels: Tensor, k: int) -> float:
    """Fraction of positives among the ``k`` highest-scored pairs (ties broken by position)."""
    if not isinstance(k, int) or not 1 <= k <= scores.numel():
        raise ValueError(f"precision_at_k: k must be in [1, {scores.numel()}], got {k!r}")
    top = torch.topk(scores.double(), k).indices
    return float(labels.to(scores.device)[top].double().mean())


__all__ = ["auc_and_ap", "average_precision", "hits_at_k", "mrr", "precision_at_k", "roc_auc"]
