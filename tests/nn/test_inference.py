"""Layer-wise inference in blocks of target nodes equals the full eval forward."""
from __future__ import annotations

import pytest
import torch

from gnnkit.nn.features import sparse_features
from gnnkit.nn import inference
from gnnkit.nn import GATConv, GCNConv, GINConv, GraphConv, LGConv, SAGEConv
from gnnkit.nn.inference import layer_inference, layerwise_inference, row_block
from gnnkit.nn.models import GAT, GCN, MLP, GraphSAGE
from gnnkit.ops.sparse import build_csr

N, F_IN = 53, 12
MODELS = {
    "gcn": lambda: GCN(F_IN, 8, 5, num_layers=3),
    "sage": lambda: GraphSAGE(F_IN, 8, 5, num_layers=3),
    "gat": lambda: GAT(F_IN, 4, 5, heads=3, out_heads=2, num_layers=3),
    "mlp": lambda: MLP(F_IN, 8, 5, num_layers=3),
}


@pytest.fixture(params=[False, True], ids=["unweighted", "weighted"])
def adj(request, make_graph):
    # loops, duplicate edges and isolated nodes included (make_graph's defaults)
    ei, w = make_graph(num_nodes=N, num_edges=300, weighted=request.param)
    return build_csr(ei, N, w)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("batch_size", [1, 7, N, 1000])
def test_equals_full_forward(adj, name, batch_size):
    torch.manual_seed(0)
    model = MODELS[name]()
    x = torch.randn(N, F_IN)
    expected = model.eval()(x, adj)
    model.train()
    out = layerwise_inference(model, x, adj, batch_size=batch_size)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert model.training  # the caller's mode is restored


@pytest.mark.parametrize("name", ["gcn", "sage", "gat"])
def test_compact_blocks_gather_only_their_sources(adj, name, monkeypatch):
    """When the layer input is stored on another device than the compute one,
    each block is compacted to the sources it reads and only those rows move.
    Forced here on one CPU: same output as the full forward."""
    real = inference.row_block
    sources = []

    def compact_block(adj, start, end, compact):
        block, src = real(adj, start, end, True)
        sources.append(src.numel())
        return block, src

    monkeypatch.setattr(inference, "row_block", compact_block)
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    x = torch.randn(N, F_IN)
    torch.testing.assert_close(layerwise_inference(model, x, adj, batch_size=5), model(x, adj), atol=1e-5, rtol=1e-5)
    assert sources and max(sources) < N  # blocks read fewer rows than the whole layer


def test_sparse_features_are_accepted(adj):
    torch.manual_seed(0)
    model = MODELS["gcn"]().eval()
    x = (torch.rand(N, F_IN) < 0.2).float()
    torch.testing.assert_close(layerwise_inference(model, sparse_features(x), adj, batch_size=10), model(x, adj))


def test_row_block_is_the_dense_row_slice(adj):
    dense = adj.to_dense()
    block, src = row_block(adj, 10, 23)
    assert block.num_rows == 13 and torch.equal(src, torch.unique(src))  # sorted, distinct sources
    expected = dense[10:23][:, src]
    torch.testing.assert_close(block.to_dense(), expected)
    assert dense[10:23].sum() == expected.sum()  # no entry of the rows is lost


def test_bad_input_is_a_clear_error(adj):
    model = MODELS["gcn"]()
    x = torch.randn(N, F_IN)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        layerwise_inference(model, x, adj, batch_size=0)
    with pytest.raises(ValueError, match="pass the graph's own CSR"):
        layerwise_inference(model, x[:10], adj)
    with pytest.raises(ValueError, match=r"needs a model with inference_layers\(\)"):
        layerwise_inference(torch.nn.Linear(F_IN, 2), x, adj)


LAYERS = {
    "graph_conv": lambda: GraphConv(F_IN, 5), "graph_conv_wide": lambda: GraphConv(F_IN, 20, aggr="mean"),
    "gcn": lambda: GCNConv(F_IN, 5), "gcn_improved": lambda: GCNConv(F_IN, 5, improved=True, cached=True),
    "sage": lambda: SAGEConv(F_IN, 5), "sage_max": lambda: SAGEConv(F_IN, 20, aggr="max"),
    "sage_project": lambda: SAGEConv(F_IN, 5, project=True), "sage_project_wide": lambda: SAGEConv(F_IN, 20, project=True),
    "gat": lambda: GATConv(F_IN, 4, heads=3), "lg": LGConv, "gin": lambda: GINConv(torch.nn.Linear(F_IN, 5)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_every_layer_blockwise_equals_its_forward(adj, name, batch_size):
    """The same prepare / transform / forward_block that make up the forward,
    run over blocks of targets: the same output."""
    torch.manual_seed(0)
    layer = LAYERS[name]().eval()
    x = torch.randn(N, F_IN)
    expected = layer(x, adj)
    torch.testing.assert_close(layer_inference(layer, x, adj, batch_size, torch.device("cpu")), expected,
                               atol=1e-5, rtol=1e-5)
