"""Filtered, realistic rank metrics on hand-made cases with ties and filtered duplicates."""
from __future__ import annotations

import pytest
import torch

from gnnkit.train.kg_metrics import TripleFilter, evaluate_ranking, filtered_ranks, rank_metrics


def test_ranks_with_ties_and_filtering():
    # 6 candidate entities; the target of query 0 is entity 2 (score 0.5)
    scores = torch.tensor([[0.9, 0.5, 0.5, 0.7, 0.5, 0.1],
                           [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                           [0.3, 0.2, 0.1, 0.0, float("nan"), 0.4]])
    target = torch.tensor([2, 3, 0])
    # query 0: entity 0 is another true answer (filtered), and the target itself is listed too
    rows, cols = torch.tensor([0, 0, 0]), torch.tensor([0, 2, 0])  # a duplicate pair must not matter
    opt, pess = filtered_ranks(scores, target, rows, cols)
    # query 0: left are 1 (0.5 tie), 3 (0.7 higher), 4 (0.5 tie), 5 -> optimistic 2, pessimistic 4
    # query 1: all six tie -> 1 and 6 (expected rank 3.5, as a random guess)
    # query 2: 5 is higher; NaN counts as the lowest score -> 2 and 2
    assert opt.tolist() == [2, 1, 2] and pess.tolist() == [4, 6, 2]
    realistic = (opt + pess) / 2
    m = rank_metrics(realistic)
    assert m["mr"] == pytest.approx((3 + 3.5 + 2) / 3)
    assert m["mrr"] == pytest.approx((1 / 3 + 1 / 3.5 + 1 / 2) / 3)
    assert m["hits@1"] == 0 and m["hits@3"] == pytest.approx(2 / 3) and m["hits@10"] == 1


def test_unfiltered_target_is_not_counted_against_itself():
    opt, pess = filtered_ranks(torch.tensor([[1.0, 2.0, 1.0]]), torch.tensor([0]))
    assert (opt.item(), pess.item()) == (2, 3)


def test_triple_filter_lookup():
    # known triples (h, r, t); the duplicate (0, 1, 2) appears twice
    known = torch.tensor([[0, 1, 2], [0, 1, 3], [0, 1, 2], [1, 0, 2], [4, 1, 2]])
    f = TripleFilter(known[:, 0], known[:, 1], known[:, 2], num_entities=5, num_relations=2)
    rows, cols = f.true_tails(torch.tensor([0, 3, 1, 0]), torch.tensor([1, 1, 0, 0]))
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 2), (0, 2), (0, 3), (2, 2)]
    rows, cols = f.true_heads(torch.tensor([1, 0]), torch.tensor([2, 3]))
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 0), (0, 0), (0, 4)]


def test_evaluate_ranking_matches_a_loop():
    g = torch.Generator().manual_seed(0)
    n_ent, n_rel = 7, 3
    known = torch.stack([torch.randint(0, n_ent, (40,), generator=g), torch.randint(0, n_rel, (40,), generator=g),
                         torch.randint(0, n_ent, (40,), generator=g)], 1)
    table = torch.randint(0, 3, (n_ent, n_rel, n_ent), generator=g).float()  # many ties
    test = known[:9]
    f = TripleFilter(known[:, 0], known[:, 1], known[:, 2], n_ent, n_rel)
    out = evaluate_ranking(lambda h, r: table[h, r], lambda r, t: table[:, r, t].t(), test[:, 0], test[:, 1],
                           test[:, 2], f, batch_size=4)
    true = {tuple(x) for x in known.tolist()}
    ranks = {"head": [], "tail": []}
    for h, r, t in test.tolist():
        for side in ("tail", "head"):
            s = table[h, r] if side == "tail" else table[:, r, t]
            target = t if side == "tail" else h
            others = [e for e in range(n_ent) if e != target
                      and ((h, r, e) if side == "tail" else (e, r, t)) not in true]
            higher = sum(float(s[e]) > float(s[target]) for e in others)
            ties = sum(float(s[e]) == float(s[target]) for e in others)
            ranks[side].append(1 + higher + ties / 2)
    both = ranks["head"] + ranks["tail"]
    assert out["mrr"] == pytest.approx(sum(1 / r for r in both) / len(both))
    assert out["tail_mr"] == pytest.approx(sum(ranks["tail"]) / 9)
    assert out["head_hits@1"] == pytest.approx(sum(r <= 1 for r in ranks["head"]) / 9)
    with pytest.raises(ValueError, match="unknown side"):
        evaluate_ranking(None, None, test[:, 0], test[:, 1], test[:, 2], f, sides=("middle",))
