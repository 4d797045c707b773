"""LightGCN against the dense formula and torch_geometric's LightGCN; MF and popularity."""
import pytest
import torch

import gnnkit.nn.conv.lg_conv as lg_conv_module
from gnnkit.nn.models import MF, LightGCN, Popularity
from gnnkit.ops.sparse import build_csr
from gnnkit_testing import require


def _bipartite(num_users=7, num_items=9, n=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    users = torch.randint(0, num_users - 1, (n,), generator=g)  # the last user has no items
    items = torch.randint(0, num_items, (n,), generator=g)
    key = torch.unique(users * num_items + items)
    u, i = key // num_items, key % num_items + num_users
    edge_index = torch.cat([torch.stack([u, i]), torch.stack([i, u])], dim=1)
    return users, items, edge_index


def _dense_lightgcn(emb, edge_index, num_layers, alpha):
    n = emb.size(0)
    a = torch.zeros(n, n, dtype=torch.float64)
    a[edge_index[1], edge_index[0]] = 1.0
    deg = a.sum(1)
    dinv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    a_hat = dinv[:, None] * a * dinv[None, :]
    x, out = emb.double(), alpha[0] * emb.double()
    for k in range(1, num_layers + 1):
        x = a_hat @ x
        out = out + alpha[k] * x
    return out


@pytest.mark.parametrize("alpha", [None, [0.4, 0.3, 0.2, 0.1], 0.5])  # 0.5: PyG's one weight for all layers
def test_propagation_equals_dense_formula(alpha):
    nu, ni = 7, 9
    _, _, edge_index = _bipartite(nu, ni)
    model = LightGCN(nu, ni, embedding_dim=5, num_layers=3, alpha=alpha)
    users, items = model(edge_index)
    weights = [0.25] * 4 if alpha is None else [alpha] * 4 if isinstance(alpha, float) else alpha
    want = _dense_lightgcn(model.embedding.weight.detach(), edge_index, 3, weights)
    torch.testing.assert_close(torch.cat([users, items]).double(), want, atol=1e-6, rtol=1e-5)


def test_edge_index_and_csr_agree_and_isolated_user_keeps_its_scaled_ego():
    nu, ni = 7, 9
    _, _, edge_index = _bipartite(nu, ni)
    model = LightGCN(nu, ni, embedding_dim=4, num_layers=2)
    a = torch.cat(model(edge_index))
    b = torch.cat(model(build_csr(edge_index, nu + ni)))
    torch.testing.assert_close(a, b)
    # user 6 has no edges: only the layer-0 term survives
    torch.testing.assert_close(a[nu - 1], model.embedding.weight[nu - 1] / 3)


def test_equals_torch_geometric_lightgcn():
    pyg = require("torch_geometric.nn.models")
    nu, ni = 7, 9
    _, _, edge_index = _bipartite(nu, ni)
    ours = LightGCN(nu, ni, embedding_dim=6, num_layers=3)
    theirs = pyg.LightGCN(nu + ni, embedding_dim=6, num_layers=3)
    with torch.no_grad():
        theirs.embedding.weight.copy_(ours.embedding.weight)
    want = theirs.get_embedding(edge_index)
    torch.testing.assert_close(torch.cat(ours(edge_index)), want, atol=1e-6, rtol=1e-5)
    # scores of (user, item) pairs agree with PyG's forward on edge_label_index
    pairs = torch.tensor([[0, 1, 5], [nu + 0, nu + 3, nu + 8]])
    u, i = ours(edge_index)
    ours_scores = (u[pairs[0]] * i[pairs[1] - nu]).sum(1)
    torch.testing.assert_close(ours_scores, theirs(edge_index, pairs), atol=1e-6, rtol=1e-5)


def test_normalisation_is_computed_once_per_graph(monkeypatch):
    calls = []
    real = lg_conv_module.gcn_norm_factors
    monkeypatch.setattr(lg_conv_module, "gcn_norm_factors", lambda *a, **k: calls.append(1) or real(*a, **k))
    nu, ni = 7, 9
    _, _, edge_index = _bipartite(nu, ni)
    model = LightGCN(nu, ni, embedding_dim=4, num_layers=3)
    for _ in range(4):  # four batches, three layers each
        sum(t.sum() for t in model(edge_index)).backward()
    assert len(calls) == 1
    _, _, other = _bipartite(nu, ni, seed=1)
    model(other)  # a different graph gets its own normalisation
    assert len(calls) == 2


def test_gradients_reach_the_embeddings():
    nu, ni = 7, 9
    _, _, edge_index = _bipartite(nu, ni)
    model = LightGCN(nu, ni, embedding_dim=4)
    u, i = model(edge_index)
    (u[0] * i[2]).sum().backward()
    assert model.embedding.weight.grad is not None and model.embedding.weight.grad.abs().sum() > 0


def test_mf_and_popularity_interfaces():
    mf = MF(3, 4, embedding_dim=2)
    u, i = mf(None)
    assert u.shape == (3, 2) and i.shape == (4, 2)
    torch.testing.assert_close(torch.cat([u, i]), mf.embedding.weight)
    pop = Popularity(3, 4).fit(torch.tensor([[0, 1, 2, 0, 0], [1, 1, 3, 1, 2]]))  # (0,1) twice counts once
    u, i = pop()
    assert (u @ i.t()).tolist() == [[0.0, 2.0, 1.0, 1.0]] * 3


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="num_users and num_items"):
        LightGCN(0, 5)
    with pytest.raises(ValueError, match="alpha needs num_layers \\+ 1 = 4"):
        LightGCN(2, 5, num_layers=3, alpha=[0.5, 0.5])
    with pytest.raises(ValueError, match="refers to node 9 but x has 7 rows"):
        LightGCN(3, 4)(torch.tensor([[0], [9]]))


def _same_as_pyg(nu=7, ni=9, dim=5, layers=2):
    pyg = require("torch_geometric")
    _, _, edge_index = _bipartite(nu, ni)
    ours = LightGCN(nu, ni, embedding_dim=dim, num_layers=layers).double()
    theirs = pyg.nn.models.LightGCN(nu + ni, dim, layers).double()
    theirs.embedding.weight.data.copy_(ours.embedding.weight.data)
    return ours, theirs, edge_index


def test_score_recommend_and_losses_equal_pyg():
    nu, ni = 7, 9
    ours, theirs, edge_index = _same_as_pyg(nu, ni)
    users, items = torch.tensor([0, 3, 5, 5]), torch.tensor([8, 0, 2, 7])
    want = theirs(edge_index, torch.stack([users, items + nu]))
    torch.testing.assert_close(ours.score(edge_index, users, items), want, rtol=0, atol=1e-12)
    # top-k among the items only: PyG returns graph node ids, gnnkit item ids
    top = theirs.recommend(edge_index, src_index=torch.arange(nu), dst_index=torch.arange(nu, nu + ni), k=4)
    torch.testing.assert_close(ours.recommend(edge_index, k=4), top - nu)
    pos, neg = want[:2], want[2:]
    node_id = torch.tensor([0, 3, nu + 8, nu])
    torch.testing.assert_close(ours.recommendation_loss(pos, neg, node_id=node_id, lambda_reg=0.1),
                               theirs.recommendation_loss(pos, neg, node_id=node_id, lambda_reg=0.1))
    torch.testing.assert_close(ours.recommendation_loss(pos, neg), theirs.recommendation_loss(pos, neg))
    label = torch.tensor([1, 0, 1, 0])
    torch.testing.assert_close(ours.link_pred_loss(want, label), theirs.link_pred_loss(want, label))
    torch.testing.assert_close(ours.get_embedding(edge_index), theirs.get_embedding(edge_index), rtol=0, atol=1e-12)
    pairs = torch.stack([users, items + nu])
    for prob in (False, True):
        torch.testing.assert_close(ours.predict_link(edge_index, users, items, prob=prob),
                                   theirs.predict_link(edge_index, pairs, prob=prob))


def test_recommend_excludes_known_items_and_checks_k():
    nu, ni = 7, 9
    users, items, edge_index = _bipartite(nu, ni)
    model = LightGCN(nu, ni, embedding_dim=5, num_layers=2)
    known = torch.stack([users, items])
    top = model.recommend(edge_index, users=torch.tensor([2, 0]), k=3, exclude=known)
    assert top.shape == (2, 3)
    for row, u in zip(top.tolist(), (2, 0)):
        assert not set(row) & set(items[users == u].tolist())
    free = {u: ni - len(set(items[users == u].tolist())) for u in range(nu)}
    with pytest.raises(ValueError, match="fewer"):
        model.recommend(edge_index, k=min(free.values()) + 1, exclude=known)
    with pytest.raises(ValueError, match="between 1 and the number of items"):
        model.recommend(edge_index, k=ni + 1)
    with pytest.raises(IndexError, match="users must be ids in 0 .. 6"):
        model.recommend(edge_index, users=torch.tensor([7]))
    with pytest.raises(ValueError, match="pair up"):
        model.score(edge_index, torch.tensor([0, 1]), torch.tensor([0]))
