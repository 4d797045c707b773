"""Recommendation models beyond LightGCN/MF: GF-CF against a dense hand computation, through the engine."""
import pytest
import torch

from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.nn.models.gfcf import GFCF
from gnnkit.train.rec import RecommendationTrainer, RecTrainConfig, build_model
from gnnkit.train.runtime import seed_everything


def clustered(num_users=60, num_items=40, per_user=8, seed=0) -> InteractionDataset:
    """Two taste groups: even users pick from the first half of the items, odd from the second."""
    g = torch.Generator().manual_seed(seed)
    users = torch.arange(num_users).repeat_interleave(per_user)
    half = num_items // 2
    # within a group, popular items are picked more often (a skewed choice)
    items = (torch.rand(users.numel(), generator=g) ** 2 * half).long() + (users % 2) * half
    test = torch.rand(users.numel(), generator=g) < 0.2
    return InteractionDataset(num_users, num_items, torch.stack([users[~test], items[~test]]),
                              torch.stack([users[test], items[test]]), name="clustered")


def dense_gfcf(train: torch.Tensor, num_users: int, num_items: int, k: int, alpha: float) -> torch.Tensor:
    """``R (R̃ᵀR̃ + α D^{-1/2} V_k V_kᵀ D^{1/2})`` for every user, from a dense SVD."""
    r = torch.zeros(num_users, num_items, dtype=torch.float64)
    r[train[0], train[1]] = 1.0
    du, di = r.sum(1), r.sum(0)
    iu = torch.where(du > 0, du.pow(-0.5), torch.zeros_like(du))
    ii = torch.where(di > 0, di.pow(-0.5), torch.zeros_like(di))
    rt = iu[:, None] * r * ii[None, :]
    v = torch.linalg.svd(rt, full_matrices=False).Vh[:k].t()
    ideal = (ii[:, None] * v) @ (v.t() * di.sqrt()[None, :])
    return r @ (rt.t() @ rt + alpha * ideal)


@pytest.mark.parametrize("dense_limit", [10_000, 5])  # the dense filter, and the factored path
def test_gfcf_scores_match_the_dense_formula(dense_limit):
    data = clustered()
    torch.manual_seed(0)
    model = GFCF(data.num_users, data.num_items, k=6, alpha=0.3, niter=30, dense_item_limit=dense_limit)
    model.fit(data.train_interactions)
    assert model.uses_dense_filter == (dense_limit > data.num_items)
    assert (model.filter is not None) == model.uses_dense_filter
    want = dense_gfcf(data.train_interactions, data.num_users, data.num_items, 6, 0.3)
    users = torch.tensor([0, 3, 17, 59])
    torch.testing.assert_close(model.scores(users).double(), want[users], atol=2e-4, rtol=1e-3)


def test_gfcf_linear_filter_alone_is_exact():
    data = clustered(seed=1)
    model = GFCF(data.num_users, data.num_items, k=0).fit(data.train_interactions)
    want = dense_gfcf(data.train_interactions, data.num_users, data.num_items, 0, 0.0)
    torch.testing.assert_close(model.scores(torch.arange(60)).double(), want, atol=1e-5, rtol=1e-5)


def test_gfcf_export_rebuilds_the_same_scores_both_ways():
    data = clustered(seed=2)
    model = GFCF(data.num_users, data.num_items, k=5).fit(data.train_interactions)
    users = torch.arange(0, 60, 7)
    for dense in (False, True):
        again = GFCF.from_export(model.export(), dense=dense)
        assert (again.filter is not None) == dense
        torch.testing.assert_close(again.scores(users), model.scores(users), atol=1e-5, rtol=1e-5)


def test_gfcf_bad_arguments_and_unfitted():
    with pytest.raises(ValueError, match="alpha must be"):
        GFCF(3, 4, alpha=-1.0)
    with pytest.raises(ValueError, match="k must be"):
        GFCF(3, 4, k=-2)
    with pytest.raises(RuntimeError, match="call fit"):
        GFCF(3, 4).scores(torch.tensor([0]))


def _fit(kind: str, data: InteractionDataset) -> dict:
    seed_everything(0)
    model = build_model(kind, data.num_users, data.num_items, 16, 2, k=8)
    cfg = RecTrainConfig.for_model(kind, device="cpu", ks=(5, 10), monitor="recall@10")
    return RecommendationTrainer(model, data, cfg).fit()


def test_gfcf_runs_on_the_engine_without_epochs_and_beats_popularity():
    data = clustered(num_users=80, per_user=10, seed=3)
    gfcf, pop = _fit("gfcf", data), _fit("pop", data)
    assert gfcf["epochs_run"] == 0 and gfcf["history"] == []
    assert gfcf["recall@10"] > pop["recall@10"] + 0.05
    assert gfcf["ndcg@10"] > pop["ndcg@10"]


def test_ngcf_forward_matches_the_dense_formula():
    from gnnkit.nn.models.ngcf import NGCF
    from gnnkit.train.rec import bipartite_csr

    data = clustered(num_users=12, num_items=10, per_user=3, seed=4)
    nu, ni = data.num_users, data.num_items
    torch.manual_seed(0)
    model = NGCF(nu, ni, embedding_dim=5, num_layers=2).eval()
    train = data.train_interactions
    u, i = model(bipartite_csr(train[0], train[1], nu, ni))
    a = torch.zeros(nu + ni, nu + ni, dtype=torch.float64)
    a[train[0], train[1] + nu] = a[train[1] + nu, train[0]] = 1.0
    deg = a.sum(1)
    inv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    lap = inv[:, None] * a * inv[None, :]
    x = model.embedding.weight.double()
    outs = [x]
    for w1, w2 in zip(model.w1, model.w2):
        side = lap @ x
        x = torch.nn.functional.leaky_relu((side + x) @ w1.weight.double().t() + w1.bias.double()
                                           + (side * x) @ w2.weight.double().t() + w2.bias.double(), 0.2)
        outs.append(x / x.norm(dim=1, keepdim=True).clamp_min(1e-12))
    want = torch.cat(outs, 1)
    assert u.shape == (nu, 15) and i.shape == (ni, 15)
    torch.testing.assert_close(torch.cat([u, i]).double(), want, atol=1e-5, rtol=1e-5)


def test_ngcf_bpr_loss_is_the_hand_computation():
    """The task's batch loss for NGCF: BPR on its scores + reg * L2 of the batch's ego embeddings / batch."""
    from gnnkit.train.engine import Engine
    from gnnkit.train.tasks.rec import RecConfig, RecTask

    data = clustered(seed=5)
    seed_everything(0)
    model = build_model("ngcf", data.num_users, data.num_items, 8, 2)
    task = RecTask(model, data, RecConfig(reg=0.01), seed=0)
    engine = Engine(task)
    model.eval()  # no dropout: a deterministic forward
    u, p, n = torch.tensor([0, 1, 2]), torch.tensor([3, 25, 4]), torch.tensor([30, 5, 31])
    loss = task._batch_loss(engine, u, p, n)
    ue, ie = model(task.train_graph)
    diff = (ue[u] * ie[p]).sum(1) - (ue[u] * ie[n]).sum(1)
    e0 = model.embedding.weight
    l2 = 0.5 * (e0[u].pow(2).sum() + e0[data.num_users + p].pow(2).sum() + e0[data.num_users + n].pow(2).sum()) / 3
    torch.testing.assert_close(loss, -torch.nn.functional.logsigmoid(diff).mean() + 0.01 * l2)


def test_ngcf_trains_and_beats_popularity():
    data = clustered(num_users=80, per_user=10, seed=3)
    seed_everything(0)
    model = build_model("ngcf", data.num_users, data.num_items, 16, 2)
    cfg = RecTrainConfig.for_model("ngcf", device="cpu", ks=(5, 10), monitor="recall@10", lr=0.01, epochs=40,
                                   batch_size=128, eval_every=2)
    ngcf, pop = RecommendationTrainer(model, data, cfg).fit(), _fit("pop", data)
    assert ngcf["epochs_run"] > 1 and ngcf["recall@10"] > pop["recall@10"] + 0.05


def test_cosine_contrastive_loss_is_the_hand_computation():
    from gnnkit.nn.models.simplex import cosine_contrastive_loss

    pos = torch.tensor([0.9, 0.2])
    neg = torch.tensor([[0.95, 0.1, 0.85], [0.5, 0.9, -0.3]])
    # user 0: (1 - 0.9) + 3/3 * (0.15 + 0 + 0.05); user 1: (1 - 0.2) + 3/3 * (0 + 0.1 + 0)
    torch.testing.assert_close(cosine_contrastive_loss(pos, neg, margin=0.8), torch.tensor((0.3 + 0.9) / 2))
    torch.testing.assert_close(cosine_contrastive_loss(pos, neg, margin=0.8, negative_weight=1.5),
                               torch.tensor((0.1 + 0.1 + 0.8 + 0.05) / 2))


def test_simplex_scores_are_cosines_of_the_aggregated_user():
    from gnnkit.nn.models.simplex import SimpleX

    torch.manual_seed(0)
    model = SimpleX(3, 4, embedding_dim=5, gamma=0.5)
    model.set_history(torch.tensor([0, 0, 2]), torch.tensor([1, 3, 2]))
    u, i = model()
    e_u, e_i = model.ego_embeddings()
    h0 = 0.5 * e_u[0] + 0.5 * model.mix((e_i[1] + e_i[3]) / 2)
    h1 = 0.5 * e_u[1]  # no history: its own embedding only (scaled, then normalised)
    torch.testing.assert_close(u[0], h0 / h0.norm())
    torch.testing.assert_close(u[1], h1 / h1.norm())
    torch.testing.assert_close(i.norm(dim=1), torch.ones(4))


def test_simplex_trains_with_many_negatives_and_beats_popularity():
    data = clustered(num_users=80, per_user=10, seed=3)
    seed_everything(0)
    model = build_model("simplex", data.num_users, data.num_items, 16)
    model.num_negatives = 8
    cfg = RecTrainConfig.for_model("simplex", device="cpu", ks=(5, 10), monitor="recall@10", lr=0.01, epochs=30,
                                   batch_size=128)
    simplex, pop = RecommendationTrainer(model, data, cfg).fit(), _fit("pop", data)
    assert simplex["epochs_run"] > 1 and simplex["recall@10"] > pop["recall@10"] + 0.05
