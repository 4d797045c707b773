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
