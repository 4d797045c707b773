"""Evaluation metrics: classification (accuracy, macro-F1) and ranking (recall/ndcg/precision/hit@K)."""
from __future__ import annotations

import torch
from torch import Tensor


def accuracy(pred: Tensor, target: Tensor) -> float:
    """Fraction of ``pred == target``; ``pred`` may be class ids ``[N]`` or scores ``[N, C]``."""
    if pred.dim() == 2:
        pred = pred.argmax(dim=1)
    if pred.numel() == 0:
        raise ValueError("accuracy of an empty set is undefined: the split has no nodes")
    return float((pred == target).float().mean())


def macro_f1(pred: Tensor, target: Tensor, num_classes: int | None = None) -> float:
    """Unweighted mean over classes of ``2·TP / (2·TP + FP + FN)``.

    Classes absent from both ``pred`` and ``target`` are left out of the mean
    (scikit-learn's ``f1_score(average="macro")`` on the labels present).
    """
    if pred.dim() == 2:
        pred = pred.argmax(dim=1)
    if pred.numel() == 0:
        raise ValueError("macro-F1 of an empty set is undefined: the split has no nodes")
    c = num_classes or int(max(pred.max(), target.max())) + 1
    tp = torch.bincount(target[pred == target], minlength=c).float()
    pred_count = torch.bincount(pred, minlength=c).float()
    true_count = torch.bincount(target, minlength=c).float()
    denom = pred_count + true_count  # = 2TP + FP + FN
    present = denom > 0
    return float((2 * tp[present] / denom[present]).mean())


# ---------------------------------------------------------------------------
# Ranking metrics (top-K recommendation)
#
# All take ``hits``, a ``[U, >= k]`` boolean tensor whose ``[u, r]`` entry
# says whether the item ranked ``r``-th (0-based) for user ``u`` is one of the
# user's test items, and ``num_relevant`` ``[U]``, each user's number of test
# items. They return one value per user (``[U]`` float) so that user batches
# can be summed; definitions follow the LightGCN reference code
# (github.com/gusye1234/LightGCN-PyTorch, ``utils.py``).
# ---------------------------------------------------------------------------


def _check_ranking(hits: Tensor, num_relevant: Tensor, k: int) -> None:
    if hits.dim() != 2 or hits.size(0) != num_relevant.numel():
        raise ValueError(
            f"hits must be [num_users, K] with one row per entry of num_relevant ({num_relevant.numel()}), "
            f"got {tuple(hits.shape)}"
        )
    if not 1 <= k <= hits.size(1):
        raise ValueError(f"k = {k} must be between 1 and the number of ranked items per user ({hits.size(1)})")
    if bool((num_relevant <= 0).any()):
        raise ValueError("every user needs at least one test item; leave users without test items out")


def recall_at_k(hits: Tensor, num_relevant: Tensor, k: int) -> Tensor:
    r"""``|top-k ∩ test| / |test|`` per user."""
    _check_ranking(hits, num_relevant, k)
    return hits[:, :k].sum(1).double() / num_relevant.double()


def precision_at_k(hits: Tensor, num_relevant: Tensor, k: int) -> Tensor:
    r"""``|top-k ∩ test| / k`` per user."""
    _check_ranking(hits, num_relevant, k)
    return hits[:, :k].sum(1).double() / k


def hit_at_k(hits: Tensor, num_relevant: Tensor, k: int) -> Tensor:
    r"""1 if any of the top ``k`` is a test item, else 0, per user."""
    _check_ranking(hits, num_relevant, k)
    return hits[:, :k].any(1).double()


def ndcg_at_k(hits: Tensor, num_relevant: Tensor, k: int) -> Tensor:
    r"""Normalised discounted cumulative gain per user, binary relevance.

    .. math::
        \mathrm{DCG@k} = \sum_{r=1}^{k} \frac{\mathrm{hit}_r}{\log_2(r + 1)},\qquad
        \mathrm{IDCG@k} = \sum_{r=1}^{\min(k, |test|)} \frac{1}{\log_2(r + 1)}
    """
    _check_ranking(hits, num_relevant, k)
    discount = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64, device=hits.device))
    dcg = (hits[:, :k].double() * discount).sum(1)
    ideal = torch.cumsum(discount, 0)[(num_relevant.clamp(max=k) - 1).long()]
    return dcg / ideal


RANKING_METRICS = {"recall": recall_at_k, "ndcg": ndcg_at_k, "precision": precision_at_k, "hit": hit_at_k}
