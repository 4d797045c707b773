"""Ranking metrics against values computed by hand, and the full-ranking evaluation."""
import math

import pytest
import torch

from gnnkit.train.metrics import hit_at_k, ndcg_at_k, precision_at_k, recall_at_k
from gnnkit.train.ranking import evaluate_scores, masked_top_k, top_k_indices
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


def _check_top_k(scores: torch.Tensor, k: int) -> None:
    """``top_k_indices`` is a stable descending sort's first k: the largest first, ties in ascending item."""
    want = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
    assert torch.equal(top_k_indices(scores, k), want)


@pytest.mark.parametrize("items", [4096, 5000, 40_981])  # whole blocks, a ragged last block, Gowalla's width
def test_blocked_top_k_equals_a_stable_sort_in_both_layouts(items):
    g = torch.Generator().manual_seed(items)
    rows = torch.randn(8, items, generator=g)
    rows[1, 100:300] = 5.0  # 200 tied maxima: the 20 lowest items
    rows[2, -30:] = 9.0  # the best items all in the ragged last block (or the last whole one)
    rows[3, :] = -math.inf  # a fully masked row: items 0..19
    rows[4, ::33] += 4.0  # the top items spread over many blocks, one per block
    rows[5] = torch.randint(0, 4, (items,), generator=g).float()  # popularity-like: ties everywhere
    rows[6, 1000:1010] = 7.0  # 10 clear winners, then ties at 6 in 40 blocks, one each
    rows[6, 31::64] = 6.0
    _check_top_k(rows, 20)
    _check_top_k(rows.t().contiguous().t(), 20)  # column-major, as GF-CF's batch scorer returns
    _check_top_k(rows[:, : 20 * 32 * 4 - 1], 20)  # fewer than 4k blocks: one pass over whole rows
    _check_top_k(rows, 1)


def test_blocked_top_k_breaks_a_tie_across_blocks_by_item_not_by_block_maximum():
    scores = torch.full((1, 32 * 16), -10.0)
    scores[0, 5 * 32 + 1], scores[0, 5 * 32 + 2] = 9.0, 3.0  # block 5: maximum 9, and a 3
    scores[0, 2 * 32 + 1], scores[0, 2 * 32 + 2] = 4.0, 3.0  # block 2: maximum 4, and a 3 at a lower item
    assert top_k_indices(scores, 3).tolist() == [[161, 65, 66]]
    _check_top_k(scores.t().contiguous().t(), 3)


@pytest.mark.parametrize("items", [500, 5000])  # whole rows, blocked
def test_top_k_refuses_nan_scores(items):
    scores = torch.randn(3, items)
    scores[1, items - 1] = math.nan
    with pytest.raises(ValueError, match="contain NaN: the model diverged"):
        top_k_indices(scores, 20)


def test_masked_top_k_never_returns_a_masked_item_in_a_column_major_batch():
    g = torch.Generator().manual_seed(1)
    items_by_user = torch.randn(5000, 3, generator=g)  # items x users, as GF-CF computes them
    best = items_by_user.argmax(0).tolist()
    exclude = (torch.tensor([0, 1, 1, 2]), torch.tensor([best[0], best[2]]))  # user 1 masks nothing
    ranked = masked_top_k(items_by_user.t(), torch.tensor([0, 1, 2]), 20, exclude)
    assert ranked.shape == (3, 20)
    assert best[0] not in ranked[0].tolist() and best[2] not in ranked[2].tolist()
    assert ranked[1, 0] == best[1]  # nothing masked for user 1: its best item first


def test_evaluate_scores_batch_size_gives_the_same_metrics():
    g = torch.Generator().manual_seed(2)
    u, i = torch.randn(40, 8, generator=g), torch.randn(3000, 8, generator=g)
    test = torch.stack([torch.randint(0, 40, (300,), generator=g), torch.randint(0, 3000, (300,), generator=g)])
    def score(users):
        return u[users] @ i.t()
    whole = evaluate_scores(score, 40, 3000, test, None)
    assert evaluate_scores(score, 40, 3000, test, None, batch_size=7) == pytest.approx(whole)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        evaluate_scores(score, 40, 3000, test, None, batch_size=0)


def test_blocked_top_k_on_strided_views():
    g = torch.Generator().manual_seed(3)
    wide = torch.randn(6, 2 * 5000, generator=g)
    _check_top_k(wide[:, ::2], 20)  # every other item: a row stride of 2
    _check_top_k(torch.randn(5000, 12, generator=g).t()[::3], 20)  # a column-major matrix's every third row

