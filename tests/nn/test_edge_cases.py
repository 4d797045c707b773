"""Regression tests for the layer defects of issue 14: float64 precision,
graphs with no nodes, options that change a cached structure, GCN's
existing self-loops without normalisation, and LightGCN on a weighted Graph."""
import pytest
import torch

from gnnkit import Graph
from gnnkit.nn import APPNP, GATConv, GCN2Conv, GCNConv, GINConv, GraphConv, LGConv, SAGEConv
from gnnkit.nn.inference import layerwise_inference
from gnnkit.nn.models import GAT, GCN, MLP, GraphSAGE, LightGCN
from gnnkit.ops.sparse import build_csr

K4 = torch.tensor([[i for i in range(4) for j in range(4) if i != j], [j for i in range(4) for j in range(4) if i != j]])


def test_lgconv_float64_without_weights_is_exact():
    out = LGConv()(torch.ones(4, 1, dtype=torch.float64), K4)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, torch.ones(4, 1, dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("improved", [False, True])
def test_gcnconv_float64_without_weights_matches_dense(make_graph, improved):
    n = 30
    ei, _ = make_graph(num_nodes=n, weighted=False)
    x = torch.randn(n, 6, dtype=torch.float64)
    layer = GCNConv(6, 4, improved=improved).double()
    torch.nn.init.normal_(layer.bias)
    a = torch.zeros(n, n, dtype=torch.float64)
    a.index_put_((ei[1], ei[0]), torch.ones(ei.size(1), dtype=torch.float64), accumulate=True)
    loops = a.diag().clone()  # existing loops keep their weight; the others get 1 (2 when improved)
    a_hat = a - torch.diag(loops) + torch.diag(torch.where(loops > 0, loops, torch.full_like(loops, 2.0 if improved else 1.0)))
    dinv = a_hat.sum(1).pow(-0.5)
    expected = (dinv[:, None] * a_hat * dinv[None, :]) @ x @ layer.lin.weight.t() + layer.bias
    torch.testing.assert_close(layer(x, ei), expected, atol=1e-12, rtol=1e-12)
    cached = GCNConv(6, 4, cached=True, improved=improved).double()
    cached.load_state_dict(layer.state_dict())
    cached(x, ei)  # the second call reads the cache
    torch.testing.assert_close(cached(x, ei), expected, atol=1e-12, rtol=1e-12)


def test_cached_normalisation_is_keyed_on_dtype(make_graph):
    ei, _ = make_graph(num_nodes=30, weighted=False)
    layer = GCNConv(6, 4, cached=True)
    layer(torch.randn(30, 6), ei)  # caches a float32 normalisation
    x = torch.randn(30, 6, dtype=torch.float64)
    fresh = GCNConv(6, 4).double()
    fresh.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer.double()(x, ei), fresh(x, ei), atol=1e-12, rtol=1e-12)


def _layers():
    return {
        "GraphConv": (GraphConv(6, 5), 5), "GCNConv": (GCNConv(6, 5), 5), "SAGEConv": (SAGEConv(6, 5), 5),
        "SAGEConv-max": (SAGEConv(6, 5, aggr="max"), 5), "GATConv": (GATConv(6, 5, heads=2), 10),
        "LGConv": (LGConv(), 6), "GINConv": (GINConv(torch.nn.Linear(6, 5)), 5),
    }


@pytest.mark.parametrize("name", sorted(_layers()))
def test_zero_nodes_give_empty_outputs(name):
    layer, width = _layers()[name]
    x = torch.randn(0, 6, requires_grad=True)
    out = layer(x, torch.empty(2, 0, dtype=torch.long))
    assert out.shape == (0, width)
    out.sum().backward()
    csr = build_csr(torch.empty(2, 0, dtype=torch.long), 0)
    assert layer(x, csr).shape == (0, width)


@pytest.mark.parametrize("model", [GCN(6, 4, 3), GraphSAGE(6, 4, 3), GAT(6, 2, 3, heads=2), MLP(6, 4, 3)],
                         ids=["gcn", "sage", "gat", "mlp"])
def test_zero_nodes_give_empty_outputs_for_models(model):
    x, ei = torch.randn(0, 6), torch.empty(2, 0, dtype=torch.long)
    assert model(x, ei).shape == (0, 3)
    assert layerwise_inference(model, x, build_csr(ei, 0), batch_size=4).shape == (0, 3)


def test_gat_cache_follows_add_self_loops():
    x = torch.randn(3, 2)
    ei = torch.tensor([[0, 1], [1, 2]])  # node 0 has no in-edges
    conv = GATConv(2, 2)
    assert conv(x, ei)[0].abs().sum() > 0  # its own loop
    conv.add_self_loops = False
    assert torch.equal(conv(x, ei)[0], torch.zeros(2))  # nothing to attend to: 0 + bias (0)


def test_gcn_without_normalisation_keeps_an_existing_loops_weight():
    layer = GCNConv(1, 1, normalize=False, add_self_loops=True, bias=False)
    torch.nn.init.ones_(layer.lin.weight)
    out = layer(torch.ones(1, 1), torch.tensor([[0], [0]]), torch.tensor([0.5]))
    assert out.item() == pytest.approx(0.5)
    # a node without a loop gets one of weight 1 (2 with improved=True)
    assert layer(torch.ones(2, 1), torch.tensor([[0], [1]])).flatten().tolist() == [1.0, 2.0]
    improved = GCNConv(1, 1, normalize=False, add_self_loops=True, bias=False, improved=True)
    torch.nn.init.ones_(improved.lin.weight)
    assert improved(torch.ones(2, 1), torch.tensor([[0], [1]])).flatten().tolist() == [2.0, 3.0]


@pytest.mark.parametrize("make", [lambda **kw: GCNConv(1, 1, bias=False, **kw), lambda **kw: APPNP(1, 0.0, **kw),
                                  lambda **kw: GCN2Conv(1, 0.0, **kw)])
def test_normalize_false_alone_adds_no_self_loops_as_in_pyg(make):
    """PyG's convention: ``add_self_loops`` defaults to ``normalize``, so
    ``normalize=False`` computes ``A X`` (a node without in-edges gets 0)."""
    layer = make(normalize=False)
    assert layer.add_self_loops is False and make().add_self_loops is True
    for p in layer.parameters():
        torch.nn.init.eye_(p) if p.dim() == 2 else torch.nn.init.zeros_(p)
    x, ei = torch.tensor([[1.0], [2.0]]), torch.tensor([[0], [1]])  # one edge 0 -> 1
    out = layer(x, ei) if not isinstance(layer, GCN2Conv) else layer(x, x, ei)
    assert out.flatten().tolist() == [0.0, 1.0]
    looped = make(normalize=False, add_self_loops=True)  # asked for: A + I
    for p in looped.parameters():
        torch.nn.init.eye_(p) if p.dim() == 2 else torch.nn.init.zeros_(p)
    out = looped(x, ei) if not isinstance(looped, GCN2Conv) else looped(x, x, ei)
    assert out.flatten().tolist() == [1.0, 3.0]


def test_lightgcn_uses_the_graphs_edge_weight():
    nu, ni = 3, 4
    ei = torch.tensor([[0, 1, 2, 0, 3, 4, 5, 6], [3, 4, 5, 6, 0, 1, 2, 0]])
    w = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.0, 2.0, 0.5, 3.0])
    model = LightGCN(nu, ni, embedding_dim=4, num_layers=2)
    from_graph = torch.cat(model(Graph(edge_index=ei, edge_weight=w, num_nodes=nu + ni)))
    torch.testing.assert_close(from_graph, torch.cat(model(build_csr(ei, nu + ni, w))))
    assert not torch.allclose(from_graph, torch.cat(model(ei)))


def test_lgconv_without_normalisation_is_the_weighted_sum():
    x = torch.randn(4, 3, dtype=torch.float64)
    ei = torch.tensor([[0, 1, 2, 3, 3], [1, 2, 3, 0, 1]])
    w = torch.tensor([0.5, 2.0, 1.0, 3.0, -1.0], dtype=torch.float64)
    dense = torch.zeros(4, 4, dtype=torch.float64).index_put_((ei[1], ei[0]), w, accumulate=True)
    layer = LGConv(normalize=False)
    torch.testing.assert_close(layer(x, ei, w), dense @ x, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(layer(x, ei), (dense != 0).double() @ x, atol=1e-12, rtol=1e-12)
    assert repr(layer) == "LGConv(normalize=False)" and repr(LGConv()) == "LGConv()"


@pytest.mark.parametrize("out_channels", [32, 8])  # wider and narrower than the input: both product orders
def test_gcnconv_takes_torch_sparse_features(out_channels):
    """PyG's test_gcn_conv_with_sparse_input_feature: a torch.sparse COO x."""
    torch.manual_seed(0)
    x = torch.randn(4, 16) * (torch.rand(4, 16) < 0.3)
    ei = torch.tensor([[0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0]])
    layer = GCNConv(16, out_channels)
    torch.testing.assert_close(layer(x.to_sparse(), ei), layer(x, ei))
