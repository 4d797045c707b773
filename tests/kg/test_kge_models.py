"""Each score function against a value computed by hand, the all-entity forms
against the per-triple score, constraints, regularisers and losses."""
from __future__ import annotations

import math

import pytest
import torch

from gnnkit.nn.models.kge import (ComplEx, DistMult, RGCNEncoder, RotatE, TransE, lcwa_loss, margin_ranking_loss,
                                  self_adversarial_loss)


def set_tables(model, entity, relation):
    with torch.no_grad():
        model.entity.weight.copy_(torch.tensor(entity, dtype=torch.float))
        model.relation.weight.copy_(torch.tensor(relation, dtype=torch.float))


def score(model, h, r, t):
    return float(model.score_hrt(torch.tensor([h]), torch.tensor([r]), torch.tensor([t]))[0].detach())


def test_transe_by_hand():
    m = TransE(2, 1, dim=2, p=1, normalize_entities=False)
    set_tables(m, [[1.0, 2.0], [0.5, -1.0]], [[0.25, 1.0]])
    # h + r - t = (1 + 0.25 - 0.5, 2 + 1 + 1) = (0.75, 4)
    assert score(m, 0, 0, 1) == pytest.approx(-(0.75 + 4))
    m.p = 2
    assert score(m, 0, 0, 1) == pytest.approx(-math.sqrt(0.75 ** 2 + 16))


def test_transe_published_constraints():
    m = TransE(5, 3, dim=4)
    assert torch.allclose(m.entity.weight.norm(dim=1), torch.ones(5))
    assert torch.allclose(m.relation.weight.norm(dim=1), torch.ones(3))
    with torch.no_grad():
        m.entity.weight.mul_(3)
    m.post_step()
    assert torch.allclose(m.entity.weight.norm(dim=1), torch.ones(5))


def test_distmult_by_hand():
    m = DistMult(2, 1, dim=3)
    set_tables(m, [[1.0, 2.0, 3.0], [2.0, -1.0, 0.5]], [[0.5, 1.0, 2.0]])
    # 1*0.5*2 + 2*1*(-1) + 3*2*0.5 = 1 - 2 + 3
    assert score(m, 0, 0, 1) == pytest.approx(2.0)
    assert score(m, 1, 0, 0) == pytest.approx(2.0)  # symmetric


def test_complex_by_hand():
    m = ComplEx(2, 1, dim=1)
    # h = 1 + 2i, r = 3 - 1i, t = 2 + 0.5i: Re(h r conj(t)) = Re((5 + 5i)(2 - 0.5i)) = 10 + 2.5
    set_tables(m, [[1.0, 2.0], [2.0, 0.5]], [[3.0, -1.0]])
    assert score(m, 0, 0, 1) == pytest.approx(12.5)
    # (t, r, h): Re(t r conj(h)) = Re((6.5 - 0.5i)(1 - 2i)) = 6.5 - 1 = 5.5: not symmetric
    assert score(m, 1, 0, 0) == pytest.approx(5.5)


def test_rotate_by_hand():
    m = RotatE(2, 1, dim=2)
    # h = (1, i), phases (π/2, π): h ∘ r = (i, -i); t = (0, 0)  ->  |i| + |-i| moduli, 2-norm sqrt(2)
    set_tables(m, [[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]], [[math.pi / 2, math.pi]])
    assert score(m, 0, 0, 1) == pytest.approx(-math.sqrt(2), abs=1e-6)
    m.p = 1
    assert score(m, 0, 0, 1) == pytest.approx(-2.0, abs=1e-6)
    # t = h ∘ r exactly: distance 0
    set_tables(m, [[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, -1.0]], [[math.pi / 2, math.pi]])
    assert score(m, 0, 0, 1) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("cls, kwargs", [(TransE, {"p": 1}), (TransE, {"p": 2}), (DistMult, {}), (ComplEx, {}),
                                         (RotatE, {"p": 2}), (RotatE, {"p": 1})])
def test_all_entity_scores_match_per_triple(cls, kwargs):
    torch.manual_seed(0)
    m = cls(9, 4, dim=6, **kwargs)
    h, r, t = torch.tensor([0, 3, 8]), torch.tensor([1, 0, 3]), torch.tensor([2, 2, 5])
    ents = torch.arange(9)
    tails = m.score_tails(h, r)
    heads = m.score_heads(r, t)
    assert tails.shape == heads.shape == (3, 9)
    for k in range(3):
        expect_t = m.score_hrt(h[k].repeat(9), r[k].repeat(9), ents)
        expect_h = m.score_hrt(ents, r[k].repeat(9), t[k].repeat(9))
        assert torch.allclose(tails[k], expect_t, atol=1e-5)
        assert torch.allclose(heads[k], expect_h, atol=1e-5)


def test_regularizers():
    m = ComplEx(2, 1, dim=1, regularizer="n3", regularization=0.5)
    set_tables(m, [[3.0, 4.0], [0.0, 1.0]], [[1.0, 0.0]])
    h, r, t = torch.tensor([0]), torch.tensor([0]), torch.tensor([1])
    # N3: |h|^3 + |r|^3 + |t|^3 with complex moduli 5, 1, 1
    assert float(m.regularization(h, r, t).detach()) == pytest.approx(0.5 * (125 + 1 + 1), rel=1e-5)
    m.regularizer = "l2"
    assert float(m.regularization(h, r, t).detach()) == pytest.approx(0.5 * (25 + 1 + 1))
    d = DistMult(2, 1, dim=2, regularizer="n3", regularization=1.0)
    set_tables(d, [[-2.0, 1.0], [1.0, 0.0]], [[0.5, 0.5]])
    assert float(d.regularization(h, r, t).detach()) == pytest.approx(8 + 1 + 0.25 + 1)
    assert float(RotatE(2, 1, dim=2).regularization(h, r, t)) == 0
    with pytest.raises(ValueError, match="regularizer must be one of"):
        ComplEx(2, 1, regularizer="l3")


def test_losses_by_hand():
    scores = torch.tensor([[2.0, 0.0, 0.0]])
    targets = torch.tensor([[1.0, 1.0, 0.0]])
    # CE against the normalised targets (1/2, 1/2, 0)
    logz = math.log(math.exp(2) + 2)
    assert float(lcwa_loss(scores, targets)) == pytest.approx(0.5 * (logz - 2) + 0.5 * logz)
    # label smoothing 0.3 over 3 entities: (0.45, 0.45, 0) + 0.1
    assert float(lcwa_loss(scores, targets, label_smoothing=0.3)) == pytest.approx(
        0.45 * (logz - 2) + 0.45 * logz + 0.1 * logz)
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731  softplus = -log sigmoid(-x)
    assert float(lcwa_loss(scores, targets, "bce")) == pytest.approx((sp(-2) + sp(0) + sp(0)) / 3)
    # self-adversarial: positive score -1 (distance 1), negatives -3 and -5, margin 2, temperature 1
    pos, neg = torch.tensor([-1.0]), torch.tensor([[-3.0, -5.0]])
    w = [math.exp(-3) / (math.exp(-3) + math.exp(-5)), math.exp(-5) / (math.exp(-3) + math.exp(-5))]
    expect = 0.5 * (sp(-(2 - 1)) + w[0] * sp(-(3 - 2)) + w[1] * sp(-(5 - 2)))
    assert float(self_adversarial_loss(pos, neg, margin=2.0)) == pytest.approx(expect)
    assert float(margin_ranking_loss(torch.tensor([1.0]), torch.tensor([[0.5, -1.0]]), 1.0)) == pytest.approx(0.25)


def test_encoder_feeds_any_decoder():
    ei = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    et = torch.tensor([0, 1, 0, 1])
    enc = RGCNEncoder(ei, et, num_relations=2, dim=8, num_layers=2, num_bases=2)
    m = RotatE(4, 2, dim=4, encoder=enc)
    reps = m.entity_representations()
    assert reps.shape == (4, 8) and not torch.equal(reps, m.entity.weight)
    m.score_tails(torch.tensor([0, 1]), torch.tensor([1, 0])).sum().backward()
    assert enc.convs[0].weight.grad is not None and m.entity.weight.grad is not None


def test_negatives_left_out_carry_no_weight_and_give_no_nan():
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    pos = torch.tensor([-1.0, -1.0])
    neg = torch.tensor([[-3.0, float("-inf")], [float("-inf"), float("-inf")]], requires_grad=True)
    for temperature in (1.0, 0.0):
        loss = self_adversarial_loss(pos, neg, margin=2.0, temperature=temperature)
        # row 0: its one negative takes all the weight; row 1 (none left): the positive term alone
        expect = (0.5 * (sp(-1) + sp(-1)) + 0.5 * sp(-1)) / 2
        assert float(loss) == pytest.approx(expect)
        loss.backward()
        assert torch.isfinite(neg.grad).all()
