"""Node-classification models against dense references and the peer library."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gnnkit import Graph
from gnnkit.nn.models import GAT, GCN, MLP, GraphSAGE
from gnnkit.nn.features import sparse_features
from gnnkit.nn.models._input import LearnedFeatures
from gnnkit_testing import require



def _graph(make_graph, n=30, f=12):
    ei, _ = make_graph(num_nodes=n, weighted=False, self_loops=False, duplicates=False)
    ei = torch.cat([ei, ei.flip(0)], dim=1)  # undirected
    x = (torch.rand(n, f, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    return Graph(x=x, edge_index=ei, num_nodes=n)


def _gcn_dense(g: Graph) -> torch.Tensor:
    a = torch.zeros(g.num_nodes, g.num_nodes)
    a.index_put_((g.edge_index[1], g.edge_index[0]), torch.ones(g.num_edges), accumulate=True)
    a = a + torch.eye(g.num_nodes)
    d = a.sum(1).pow(-0.5)
    return d[:, None] * a * d[None, :]


def test_gcn_matches_dense_formula(make_graph):
    g = _graph(make_graph)
    model = GCN(12, 8, 3).eval()
    c1, c2 = model.layers
    a_hat = _gcn_dense(g)
    ref = a_hat @ F.relu(a_hat @ g.x @ c1.lin.weight.t() + c1.bias) @ c2.lin.weight.t() + c2.bias
    torch.testing.assert_close(model(g.x, g.csr()), ref, atol=1e-5, rtol=1e-5)


def test_sparse_features_give_same_output_and_gradients(make_graph):
    g = _graph(make_graph)
    for cls in (GCN, MLP):
        torch.manual_seed(0)
        model = cls(12, 8, 3).eval()
        dense = model(g.x, g.csr())
        dense.square().sum().backward()
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        sparse = model(sparse_features(g.x), g.csr())
        sparse.square().sum().backward()
        torch.testing.assert_close(sparse, dense, atol=1e-5, rtol=1e-5)
        for a, b in zip(grads, (p.grad for p in model.parameters())):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_sparse_feature_dropout_drops_only_nonzeros(make_graph):
    g = _graph(make_graph)
    model = MLP(12, 8, 3, dropout=0.5).train()
    torch.manual_seed(0)
    outs = {tuple(model(sparse_features(g.x)).flatten()[:5].tolist()) for _ in range(3)}
    assert len(outs) == 3  # dropout active in training
    model.eval()
    torch.testing.assert_close(model(sparse_features(g.x)), model(g.x), atol=1e-5, rtol=1e-5)


def test_mlp_ignores_the_graph_and_matches_manual():
    x = torch.randn(10, 4)
    model = MLP(4, 6, 2, num_layers=3).eval()
    l1, l2, l3 = model.layers
    ref = l3(F.relu(l2(F.relu(l1(x)))))
    torch.testing.assert_close(model(x), ref)
    torch.testing.assert_close(model(x, torch.randint(0, 10, (2, 20))), ref)


def test_sage_matches_dense_mean_formula(make_graph):
    g = _graph(make_graph)
    model = GraphSAGE(12, 16, 3).eval()
    a = torch.zeros(g.num_nodes, g.num_nodes)
    a.index_put_((g.edge_index[1], g.edge_index[0]), torch.ones(g.num_edges), accumulate=True)
    mean = a / a.sum(1, keepdim=True).clamp(min=1)
    c1, c2 = model.layers
    h = F.relu(c1.lin_l(mean @ g.x) + c1.lin_r(g.x))
    ref = c2.lin_l(mean @ h) + c2.lin_r(h)
    torch.testing.assert_close(model(g.x, g.edge_index), ref, atol=1e-5, rtol=1e-5)


def test_models_match_pyg_with_same_weights(make_graph):
    pyg = require("torch_geometric.nn")
    g = _graph(make_graph)
    ours = GAT(12, 4, 3, heads=2, out_heads=2).eval()
    c1 = pyg.GATConv(12, 4, heads=2, concat=True)
    c2 = pyg.GATConv(8, 3, heads=2, concat=False)
    c1.load_state_dict(ours.layers[0].state_dict())
    c2.load_state_dict(ours.layers[1].state_dict())
    ref = c2(F.elu(c1(g.x, g.edge_index)), g.edge_index)
    torch.testing.assert_close(ours(g.x, g.edge_index), ref, atol=1e-5, rtol=1e-5)

    gcn = GCN(12, 8, 3).eval()
    p1, p2 = pyg.GCNConv(12, 8), pyg.GCNConv(8, 3)
    p1.load_state_dict(gcn.layers[0].state_dict())
    p2.load_state_dict(gcn.layers[1].state_dict())
    torch.testing.assert_close(gcn(sparse_features(g.x), g.csr()),
                               p2(F.relu(p1(g.x, g.edge_index)), g.edge_index), atol=1e-5, rtol=1e-5)


def test_gat_paper_shape_and_head_average(make_graph):
    g = _graph(make_graph)
    model = GAT(12, 8, 7).eval()  # paper: 8 heads x 8, one output head
    assert model.layers[0].heads == 8 and model.layers[0].concat and model.layers[1].heads == 1
    assert model(g.x, g.csr()).shape == (30, 7)


def test_gat_dropout_schemes(make_graph):
    """"reference" (default) drops per head inside each layer; "shared" drops the
    layer input once. Eval outputs agree; a sparse input stays sparse and trains."""
    g = _graph(make_graph)
    torch.manual_seed(0)
    ref = GAT(12, 4, 3, heads=2)
    shared = GAT(12, 4, 3, heads=2, dropout_scheme="shared")
    shared.load_state_dict(ref.state_dict())
    assert ref.layers[0].head_dropout == 0.6 and shared.layers[0].head_dropout == 0.0
    torch.testing.assert_close(ref.eval()(g.x, g.csr()), shared.eval()(g.x, g.csr()))
    torch.testing.assert_close(ref(sparse_features(g.x), g.csr()), ref(g.x, g.csr()), atol=1e-5, rtol=1e-5)
    ref.train()
    torch.manual_seed(1)
    a = ref(sparse_features(g.x), g.csr())
    a.sum().backward()
    assert ref.layers[0].lin.weight.grad.abs().sum() > 0
    torch.manual_seed(2)
    assert not torch.allclose(a, ref(sparse_features(g.x), g.csr()))  # dropout is on in training
    with pytest.raises(ValueError, match="dropout_scheme must be one of"):
        GAT(12, 4, 3, dropout_scheme="pyg")


def test_learned_features_wrap_a_model(make_graph):
    g = _graph(make_graph)
    model = LearnedFeatures(30, 5, GCN(5, 4, 2))
    out = model(None, g.csr())
    out.sum().backward()
    assert out.shape == (30, 2) and model.embedding.weight.grad is not None


def test_bad_input_is_a_clear_error(make_graph):
    g = _graph(make_graph)
    with pytest.raises(ValueError, match="in_channels=5"):
        GCN(5, 4, 2)(g.x, g.csr())
    with pytest.raises(ValueError, match="no node features"):
        GraphSAGE(5, 4, 2)(None, g.csr())
    with pytest.raises(ValueError, match="hidden_channels must be a positive integer"):
        GCN(5, 0, 2)
    with pytest.raises(ValueError, match="dropout"):
        MLP(5, 4, 2, dropout=1.0)
    with pytest.raises(ValueError, match="heads"):
        GAT(5, 4, 2, heads=0)


def test_gat_says_it_does_not_use_edge_weights():
    import warnings

    model = GAT(4, 8, 3).eval()
    x, ei = torch.randn(5, 4), torch.tensor([[0, 1, 2], [1, 2, 3]])
    with pytest.warns(UserWarning, match="GAT does not use edge weights"):
        weighted = model(x, ei, torch.rand(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no weights: nothing to say
        plain = model(x, ei)
    assert torch.equal(weighted, plain)  # ignored, as PyG's GAT does
