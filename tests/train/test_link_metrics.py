"""Link metrics against slow reference implementations of scikit-learn's and OGB's definitions."""
from __future__ import annotations

import pytest
import torch

from gnnkit.train import link_metrics
from gnnkit.train.link_metrics import auc_and_ap, average_precision, hits_at_k, mrr, precision_at_k, roc_auc


def reference_auc(scores: list[float], labels: list[int]) -> float:
    """Mann–Whitney: P(score of a positive > score of a negative), ties count 1/2.
    Equal to the trapezoidal area under scikit-learn's ROC curve."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def reference_ap(scores: list[float], labels: list[int]) -> float:
    """scikit-learn's average_precision_score: for each distinct threshold t (high to low),
    (recall(t) - recall(previous t)) * precision(t), where a threshold keeps every score >= t."""
    total_pos = sum(labels)
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(scores), reverse=True):
        kept = [y for s, y in zip(scores, labels) if s >= t]
        tp = sum(kept)
        recall = tp / total_pos
        ap += (recall - prev_recall) * (tp / len(kept))
        prev_recall = recall
    return ap


@pytest.fixture(params=["numpy", "torch"])
def curve_path(request, monkeypatch):
    """AUC and AP run in numpy up to ``_NUMPY_MAX`` CPU scores and in torch
    beyond (and off the CPU): every definition test runs on both."""
    monkeypatch.setattr(link_metrics, "_NUMPY_MAX", 1 << 30 if request.param == "numpy" else -1)
    return request.param


def test_known_values(curve_path):
    # scikit-learn's docstring example: roc_auc_score -> 0.75, average_precision_score -> 0.8333...
    s = torch.tensor([0.1, 0.4, 0.35, 0.8])
    y = torch.tensor([0, 0, 1, 1])
    assert roc_auc(s, y) == pytest.approx(0.75, abs=1e-12)
    assert average_precision(s, y) == pytest.approx(0.8333333333333333, abs=1e-12)
    # all tied: AUC one half, AP the positive rate
    flat = torch.zeros(10)
    lab = torch.tensor([1, 0, 0, 1, 0, 0, 0, 1, 0, 0])
    assert roc_auc(flat, lab) == pytest.approx(0.5) and average_precision(flat, lab) == pytest.approx(0.3)


@pytest.mark.parametrize("seed", range(20))
def test_random_scores_with_ties_match_the_reference(seed, curve_path):
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(5, 300, (1,), generator=g))
    levels = [3, 10, 1000][seed % 3]  # few distinct scores -> many ties
    scores = torch.randint(0, levels, (n,), generator=g).float() / levels - 0.3
    labels = (torch.rand(n, generator=g) < 0.3).long()
    labels[0], labels[1] = 1, 0  # both classes present
    s, y = scores.tolist(), labels.tolist()
    assert abs(roc_auc(scores, labels) - reference_auc(s, y)) < 1e-6
    assert abs(average_precision(scores, labels) - reference_ap(s, y)) < 1e-6
    assert roc_auc(scores, labels.bool()) == roc_auc(scores, labels)
    assert auc_and_ap(scores, labels) == (roc_auc(scores, labels), average_precision(scores, labels))
    assert roc_auc(scores.double(), labels) == pytest.approx(roc_auc(scores, labels), abs=1e-12)


def test_only_order_matters(curve_path):
    g = torch.Generator().manual_seed(0)
    s = torch.randn(200, generator=g)
    y = (torch.rand(200, generator=g) < 0.5).long()
    assert roc_auc(torch.sigmoid(s), y) == pytest.approx(roc_auc(s, y), abs=1e-12)
    assert average_precision(torch.sigmoid(s), y) == pytest.approx(average_precision(s, y), abs=1e-12)


@pytest.mark.parametrize("fn", [roc_auc, average_precision])
def test_metric_errors(fn, curve_path):
    with pytest.raises(ValueError, match="one class"):
        fn(torch.rand(5), torch.ones(5))
    with pytest.raises(ValueError, match="same length"):
        fn(torch.rand(5), torch.ones(4))
    with pytest.raises(ValueError, match="0/1"):
        fn(torch.rand(3), torch.tensor([0, 2, 1]))
    with pytest.raises(ValueError, match="NaN"):
        fn(torch.tensor([0.1, float("nan")]), torch.tensor([0, 1]))


def test_numpy_and_torch_paths_agree(monkeypatch):
    g = torch.Generator().manual_seed(5)
    for n, levels in ((7, 2), (600, 5), (5000, 10_000)):
        scores = torch.randint(0, levels, (n,), generator=g).float()
        labels = torch.rand(n, generator=g) < 0.4
        labels[:2] = torch.tensor([True, False])
        monkeypatch.setattr(link_metrics, "_NUMPY_MAX", 1 << 30)
        small = auc_and_ap(scores, labels)
        monkeypatch.setattr(link_metrics, "_NUMPY_MAX", -1)
        large = auc_and_ap(scores, labels)
        assert small == pytest.approx(large, abs=1e-12)
        assert 0.0 < small[0] < 1.0 and 0.0 < small[1] < 1.0


def reference_hits(pos: list[float], neg: list[float], k: int) -> float:
    if len(neg) < k:
        return 1.0
    kth = sorted(neg, reverse=True)[k - 1]
    return sum(p > kth for p in pos) / len(pos)


def reference_mrr(pos: list[float], negs: list[list[float]]) -> float:
    total = 0.0
    for p, neg in zip(pos, negs):
        above = sum(n > p for n in neg)
        at_least = sum(n >= p for n in neg)
        total += 1.0 / (1 + 0.5 * (above + at_least))
    return total / len(pos)


@pytest.mark.parametrize("seed", range(6))
def test_hits_and_mrr_match_the_reference(seed):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randint(0, 20, (40,), generator=g).float()
    neg = torch.randint(0, 20, (90,), generator=g).float()
    per = torch.randint(0, 20, (40, 15), generator=g).float()
    for k in (1, 5, 20, 100):
        assert hits_at_k(pos, neg, k) == pytest.approx(reference_hits(pos.tolist(), neg.tolist(), k))
    # shared negatives: every positive ranked against all of them
    assert mrr(pos, neg) == pytest.approx(reference_mrr(pos.tolist(), [neg.tolist()] * 40))
    assert mrr(pos, per) == pytest.approx(reference_mrr(pos.tolist(), per.tolist()))
    # per-positive Hits@K, OGB's evaluator: the mean of the optimistic and pessimistic rank at most k
    for k in (1, 3, 10):
        expected = sum(1 + 0.5 * (sum(n > p for n in row) + sum(n >= p for n in row)) <= k
                       for p, row in zip(pos.tolist(), per.tolist())) / 40
        assert hits_at_k(pos, per, k) == pytest.approx(expected)


def test_per_positive_hits_share_ties_as_ogb():
    # rank 1 + (0 + 2) / 2 = 2: a hit at 2 (old: pessimistic rank 3, a miss), not at 1
    pos, per = torch.tensor([1.0]), torch.tensor([[1.0, 1.0, 0.0]])
    assert hits_at_k(pos, per, 2) == 1.0 and hits_at_k(pos, per, 1) == 0.0


def test_ranking_errors_and_precision_at_k():
    with pytest.raises(ValueError, match="positive integer"):
        hits_at_k(torch.rand(3), torch.rand(5), 0)
    with pytest.raises(ValueError, match=r"\[P, M\]"):
        mrr(torch.rand(3), torch.rand(4, 2))
    with pytest.raises(ValueError, match="need positives"):
        mrr(torch.rand(3), torch.rand(0))
    s = torch.tensor([0.9, 0.1, 0.8, 0.3])
    y = torch.tensor([1, 1, 0, 0])
    assert precision_at_k(s, y, 1) == 1.0 and precision_at_k(s, y, 2) == 0.5
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k(s, y, 5)
