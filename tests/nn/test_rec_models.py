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


def dense_normalized(train: torch.Tensor, num_users: int, num_items: int):
    """``(R, R̃ = D_U^{-1/2} R D_I^{-1/2}, D_I^{-1/2}, item degrees)``, dense float64."""
    r = torch.zeros(num_users, num_items, dtype=torch.float64)
    r[train[0], train[1]] = 1.0
    du, di = r.sum(1), r.sum(0)
    iu = torch.where(du > 0, du.pow(-0.5), torch.zeros_like(du))
    ii = torch.where(di > 0, di.pow(-0.5), torch.zeros_like(di))
    return r, iu[:, None] * r * ii[None, :], ii, di


def dense_gfcf(train: torch.Tensor, num_users: int, num_items: int, k: int, alpha: float) -> torch.Tensor:
    """``R (R̃ᵀR̃ + α D^{-1/2} V_k V_kᵀ D^{1/2})`` for every user, from a dense SVD."""
    r, rt, ii, di = dense_normalized(train, num_users, num_items)
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


@pytest.mark.parametrize("dense_limit", [10_000, 5])
def test_gfcf_batch_scorer_writes_every_batch_into_one_buffer(dense_limit):
    data = clustered(seed=6)
    model = GFCF(data.num_users, data.num_items, k=4, dense_item_limit=dense_limit).fit(data.train_interactions)
    score = model.batch_scorer()
    first = score(torch.arange(0, 8))
    kept = first.clone()  # scores() may share the scorer's workspace: compare copies
    torch.testing.assert_close(kept, model.scores(torch.arange(0, 8)))
    second = score(torch.arange(8, 11))  # a smaller last batch: the start of the same buffer
    torch.testing.assert_close(second.clone(), model.scores(torch.arange(8, 11)))
    assert second.data_ptr() == first.data_ptr() and not torch.equal(first[:3], kept[:3])
    # the factored filter is computed items x users: its batches are column-major views, ranked in place
    assert (second.stride(0) == 1) == (not model.uses_dense_filter)
    assert model.score_batch_size == (None if model.uses_dense_filter else 128)


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


@pytest.mark.parametrize("kind", ["gfcf", "bspm"])  # the graph filters: nothing to train
def test_graph_filters_run_on_the_engine_without_epochs_and_beat_popularity(kind):
    data = clustered(num_users=80, per_user=10, seed=3)
    model, pop = _fit(kind, data), _fit("pop", data)
    assert model["epochs_run"] == 0 and model["history"] == []
    assert model["recall@10"] > pop["recall@10"] + 0.05
    assert model["ndcg@10"] > pop["ndcg@10"]


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


def _against_popularity(kind: str) -> tuple[dict, dict]:
    """``kind`` (8 negatives, lr 0.01, 30 epochs) and popularity on the same clustered data."""
    data = clustered(num_users=80, per_user=10, seed=3)
    seed_everything(0)
    model = build_model(kind, data.num_users, data.num_items, 16)
    model.num_negatives = 8
    cfg = RecTrainConfig.for_model(kind, device="cpu", ks=(5, 10), monitor="recall@10", lr=0.01, epochs=30,
                                   batch_size=128)
    return RecommendationTrainer(model, data, cfg).fit(), _fit("pop", data)


def test_simplex_trains_with_many_negatives_and_beats_popularity():
    simplex, pop = _against_popularity("simplex")
    assert simplex["epochs_run"] > 1 and simplex["recall@10"] > pop["recall@10"] + 0.05


def test_ultragcn_constraints_are_the_hand_computation():
    from gnnkit.nn.models.ultragcn import ultragcn_constraints

    # 3 users x 5 items; item 4 has no user, user 2 has one item
    users, items = torch.tensor([0, 0, 0, 1, 1, 2, 0]), torch.tensor([0, 1, 2, 1, 3, 2, 1])  # (0, 1) twice
    b, c, nbr, omega = ultragcn_constraints(users, items, 3, 5, num_neighbors=2, memory_mb=1e-4)  # 1-item blocks
    r = torch.zeros(3, 5, dtype=torch.float64)
    r[users, items] = 1.0
    du, di = r.sum(1), r.sum(0)  # (3, 2, 1), (1, 2, 2, 1, 0)
    beta = (1 / du[:, None]) * torch.sqrt((du[:, None] + 1) / (di[None, :] + 1))
    torch.testing.assert_close((b[:, None] * c[None, :]).double(), beta, rtol=1e-6, atol=0)
    g_mat = r.t() @ r
    g = g_mat.sum(1)
    full = torch.where(g[:, None] > 0, g_mat / g[:, None].clamp(min=1) * torch.sqrt((g[:, None] + 1) / (g[None, :] + 1)),
                       torch.zeros_like(g_mat))
    # item 1 (users 0 and 1): G row (1, 2, 1, 1, 0), g = 5; its top two are itself and item 0, 2 or 3
    want_top = full.topk(2, dim=1).values
    torch.testing.assert_close(omega.double(), want_top, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(full.gather(1, nbr), want_top, rtol=1e-6, atol=1e-7)
    assert int(nbr[1, 0]) == 1 and omega[4].abs().sum() == 0  # the diagonal leads; an unseen item has no weight
    assert float(b[2]) == pytest.approx(2 ** 0.5) and float(c[4]) == 1.0


def _ultragcn_task(reg: float = 0.01):
    from gnnkit.nn.models.ultragcn import UltraGCN
    from gnnkit.train.engine import Engine
    from gnnkit.train.tasks.rec import RecConfig, RecTask

    data = clustered(seed=5)
    torch.manual_seed(0)
    model = UltraGCN(data.num_users, data.num_items, 8, num_negatives=3, negative_weight=2.0, w1=0.1, w2=1.0, w3=0.2,
                     w4=0.5, lambda_=0.3, num_neighbors=2, init_std=0.3)
    task = RecTask(model, data, RecConfig(reg=reg), seed=0)
    return model, task, Engine(task)


def test_ultragcn_loss_is_the_hand_computation():
    """The task's batch loss for UltraGCN: β-weighted BCE over the negatives + λ L_I + reg * L2 / batch."""
    model, task, engine = _ultragcn_task()
    nu, ni = model.num_users, model.num_items
    u, p = torch.tensor([0, 1, 2]), torch.tensor([3, 25, 4])
    n = torch.tensor([[30, 5, 31], [5, 6, 5], [22, 39, 21]])
    loss = task._batch_loss(engine, u, p, n)

    r = torch.zeros(nu, ni, dtype=torch.float64)
    r[task.train[0], task.train[1]] = 1.0
    du, di = r.sum(1), r.sum(0)
    beta = (1 / du[:, None]) * torch.sqrt((du[:, None] + 1) / (di[None, :] + 1))
    g_mat = r.t() @ r
    g = g_mat.sum(1)
    omega_full = g_mat / g[:, None] * torch.sqrt((g[:, None] + 1) / (g[None, :] + 1))
    e = model.embedding.weight.detach().double()
    eu, ei = e[:nu], e[nu:]
    total = 0.0
    for b in range(3):
        uu, pp = int(u[b]), int(p[b])
        s = lambda j: float(eu[uu] @ ei[j])  # noqa: E731
        term = -(0.1 + 1.0 * beta[uu, pp]) * torch.log(torch.sigmoid(torch.tensor(s(pp))))
        neg = sum(-(0.2 + 0.5 * beta[uu, j]) * torch.log(1 - torch.sigmoid(torch.tensor(s(j)))) for j in n[b].tolist())
        term = term + 2.0 * neg / 3
        nbrs = omega_full[pp].topk(2).indices.tolist()
        term = term + 0.3 * sum(-omega_full[pp, j] * torch.log(torch.sigmoid(torch.tensor(s(j)))) for j in nbrs)
        l2 = eu[uu].pow(2).sum() + ei[pp].pow(2).sum() + sum(ei[j].pow(2).sum() for j in n[b].tolist())
        total = total + term + 0.01 * 0.5 * l2
    torch.testing.assert_close(loss.double(), total / 3, rtol=1e-5, atol=1e-6)


def test_ultragcn_needs_its_constraints_and_checks_arguments():
    from gnnkit.nn.models.ultragcn import UltraGCN

    model = UltraGCN(4, 5, 8)
    with pytest.raises(RuntimeError, match="set_constraints"):
        model.loss(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2]]), torch.zeros(1), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="negative_weight must be"):
        UltraGCN(4, 5, negative_weight=-1.0)
    with pytest.raises(ValueError, match="num_neighbors must be"):
        UltraGCN(4, 5, num_neighbors=0)


def test_ultragcn_trains_and_beats_popularity():
    ultra, pop = _against_popularity("ultragcn")
    assert ultra["epochs_run"] > 1 and ultra["recall@10"] > pop["recall@10"] + 0.05
    assert ultra["ndcg@10"] > pop["ndcg@10"]
