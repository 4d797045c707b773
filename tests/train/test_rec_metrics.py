"""Ranking metrics against values computed by hand, and the full-ranking evaluation."""
import math

import pytest
import torch

from gnnkit.train.metrics import hit_at_k, ndcg_at_k, precision_at_k, recall_at_k
from gnnkit.train.rec import evaluate_ranking, top_k


# user 0: hits at ranks 1 and 3, 3 test items; user 1: hit at rank 4, 1 test item
HITS = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 1]], dtype=torch.bool)
NREL = torch.tensor([3, 1])
L2, L3, L4, L5 = (math.log2(x) for x in (2, 3, 4, 5))


def test_recall_precision_hit_by_hand():
    assert recall_at_k(HITS, NREL, 2).tolist() == pytest.approx([1 / 3, 0.0])
    assert recall_at_k(HITS, NREL, 4).tolist() == pytest.approx([2 / 3, 1.0])
    assert precision_at_k(HITS, NREL, 2).tolist() == pytest.approx([0.5, 0.0])
    assert precision_at_k(HITS, NREL, 4).tolist() == pytest.approx([0.5, 0.25])
    assert hit_at_k(HITS, NREL, 2).tolist() == [1.0, 0.0]
    assert hit_at_k(HITS, NREL, 4).tolist() == [1.0, 1.0]


def test_ndcg_ideal_over_min_k_and_test_items():
    # k=2: user 0 has 3 test items, so the ideal DCG sums 2 positions
    assert ndcg_at_k(HITS, NREL, 2).tolist() == pytest.approx([(1 / L2) / (1 / L2 + 1 / L3), 0.0])
    # k=4: user 0 ideal over min(4, 3) = 3 positions; user 1 ideal over 1
    want0 = (1 / L2 + 1 / L4) / (1 / L2 + 1 / L3 + 1 / L4)
    assert ndcg_at_k(HITS, NREL, 4).tolist() == pytest.approx([want0, (1 / L5) / (1 / L2)])


def test_metric_argument_errors():
    with pytest.raises(ValueError, match="k = 5"):
        recall_at_k(HITS, NREL, 5)
    with pytest.raises(ValueError, match="at least one test item"):
        ndcg_at_k(HITS, torch.tensor([3, 0]), 2)


def _tiny():
    # 3 users, 5 items; scores are u_emb @ i_emb.T with a fixed order per user
    item_emb = torch.tensor([[5.0], [4.0], [3.0], [2.0], [1.0]])
    user_emb = torch.tensor([[1.0], [-1.0], [1.0]])  # user 1 ranks the items backwards
    return user_emb, item_emb


def test_top_k_masks_excluded_items():
    u, i = _tiny()
    exclude = (torch.tensor([0, 2, 2, 2]), torch.tensor([0, 1]))  # user 0 has seen items 0 and 1
    ranked = top_k(u, i, torch.tensor([0, 1]), 3, exclude)
    assert ranked.tolist() == [[2, 3, 4], [4, 3, 2]]


def test_evaluate_ranking_by_hand_with_skipped_users():
    u, i = _tiny()
    # user 0 saw item 0 (masked) -> ranking 1,2,3,4; test items {2, 4}
    # user 1 ranking 4,3,2,1,0 ; test item {0}; user 2 has no test items (skipped)
    exclude = (torch.tensor([0, 1, 1, 1]), torch.tensor([0]))
    test = torch.tensor([[0, 0, 1], [2, 4, 0]])
    out = evaluate_ranking(u, i, test, exclude, ks=(2, 4))
    assert out["num_users"] == 2 and out["skipped_users"] == 1
    # k=2: user 0 ranks [1, 2] -> 1 hit of 2; user 1 ranks [4, 3] -> 0 hits
    assert out["recall@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert out["precision@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert out["hit@2"] == pytest.approx(0.5)
    assert out["ndcg@2"] == pytest.approx(((1 / L3) / (1 / L2 + 1 / L3) + 0.0) / 2)
    # k=4: user 0 ranks [1, 2, 3, 4] -> hits at 2 and 4; user 1 ranks [4, 3, 2, 1] -> none
    assert out["recall@4"] == pytest.approx((1.0 + 0.0) / 2)
    assert out["ndcg@4"] == pytest.approx(((1 / L3 + 1 / L5) / (1 / L2 + 1 / L3)) / 2)


def test_evaluate_ranking_batches_do_not_change_the_result():
    g = torch.Generator().manual_seed(0)
    u, i = torch.randn(50, 8, generator=g), torch.randn(300, 8, generator=g)
    test = torch.stack([torch.randint(0, 50, (400,), generator=g), torch.randint(0, 300, (400,), generator=g)])
    big = evaluate_ranking(u, i, test, None, ks=(10, 20), memory_mb=100)
    small = evaluate_ranking(u, i, test, None, ks=(10, 20), memory_mb=300 * 8 * 3 / 2**20)  # 3 users a batch
    assert big == pytest.approx(small)


def test_evaluate_ranking_bad_input():
    u, i = _tiny()
    with pytest.raises(ValueError, match="test split is empty"):
        evaluate_ranking(u, i, torch.zeros(2, 0, dtype=torch.long), None, ks=(2,))
    with pytest.raises(ValueError, match="larger than the number of items"):
        evaluate_ranking(u, i, torch.tensor([[0], [1]]), None, ks=(10,))
