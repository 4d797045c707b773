"""Every layer takes a ``torch.sparse`` COO or CSR adjacency ``[targets, sources]``
(PyG's ``adj_t``), its values the edge weights, with the same result as ``edge_index``."""
import pytest
import torch

from gnnkit.nn import APPNP, GATConv, GCN2Conv, GCNConv, GINConv, GraphConv, LGConv, SAGEConv

N = 25


def graph():
    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, N, (2, 90), generator=g)
    ei = torch.unique(ei, dim=1)  # no duplicates: coalescing would merge them
    return ei, torch.rand(ei.size(1), generator=g) + 0.1


def as_sparse(ei, w, layout, shape=(N, N)):
    adj = torch.sparse_coo_tensor(torch.stack([ei[1], ei[0]]), w, shape)
    return adj if layout == "coo" else adj.to_sparse_csr()


LAYERS = {
    "gcn": lambda: GCNConv(6, 4), "sage": lambda: SAGEConv(6, 4), "sage-max": lambda: SAGEConv(6, 4, aggr="max"),
    "graph": lambda: GraphConv(6, 4), "lg": lambda: LGConv(), "gat": lambda: GATConv(6, 4, heads=2),
    "gin": lambda: GINConv(torch.nn.Linear(6, 4)), "appnp": lambda: APPNP(3, 0.1),
}
WEIGHTED = {"gcn", "graph", "lg", "appnp"}  # layers that read edge weights (the others must match unweighted)


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_same_as_edge_index(name, layout):
    ei, w = graph()
    torch.manual_seed(0)
    layer = LAYERS[name]()
    x = torch.randn(N, 6)
    weights = w if name in WEIGHTED else torch.ones_like(w)
    expected = layer(x, ei, w) if name in WEIGHTED else layer(x, ei)
    torch.testing.assert_close(layer(x, as_sparse(ei, weights, layout)), expected, atol=1e-6, rtol=1e-6)


def test_gcn2_conv_and_gradients():
    ei, w = graph()
    conv = GCN2Conv(6, 0.1, 0.5, 2)
    x = torch.randn(N, 6, requires_grad=True)
    conv(x, x, as_sparse(ei, w, "coo")).sum().backward()
    grad = x.grad.clone()
    x.grad = None
    expected = conv(x, x, ei, w)
    expected.sum().backward()
    torch.testing.assert_close(conv(x, x, as_sparse(ei, w, "csr")), expected)
    torch.testing.assert_close(grad, x.grad)


def test_bipartite_rectangular_adjacency():
    g = torch.Generator().manual_seed(1)
    ei = torch.unique(torch.stack([torch.randint(0, N, (60,), generator=g), torch.randint(0, 7, (60,), generator=g)]), dim=1)
    layer = SAGEConv((6, 3), 4)
    x = (torch.randn(N, 6), torch.randn(7, 3))
    adj = as_sparse(ei, torch.ones(ei.size(1)), "csr", shape=(7, N))
    torch.testing.assert_close(layer(x, adj), layer(x, ei))


def test_errors():
    ei, w = graph()
    adj = as_sparse(ei, w, "coo")
    with pytest.raises(ValueError, match="carries the edge weights as its values"):
        GCNConv(6, 4)(torch.randn(N, 6), adj, w)
    with pytest.raises(ValueError, match=r"the sparse adjacency is \(25, 25\)"):
        GCNConv(6, 4)(torch.randn(N + 1, 6), adj)
    with pytest.raises(ValueError, match="values require grad"):
        GCNConv(6, 4)(torch.randn(N, 6), as_sparse(ei, w.clone().requires_grad_(), "coo"))
    with pytest.raises(ValueError, match="edge_dim needs edge_index"):
        GATConv(6, 4, edge_dim=1)(torch.randn(N, 6), adj, edge_attr=w)


@pytest.mark.parametrize("name", ["gcn", "sage", "gat", "appnp"])
def test_pyg_edge_index_tensor(name):
    """PyG's ``EdgeIndex`` (a ``[2, E]`` tensor subclass) is taken as the edge list it is."""
    from gnnkit_testing import require

    edge_index_cls = require("torch_geometric", "torch_geometric is part of the [dev] extra").EdgeIndex
    ei, w = graph()
    torch.manual_seed(0)
    layer = LAYERS[name]()
    x = torch.randn(N, 6)
    torch.testing.assert_close(layer(x, edge_index_cls(ei.contiguous(), sparse_size=(N, N))), layer(x, ei))


def test_sparse_features_give_the_dense_result_in_every_layer():
    from gnnkit.nn import GCN2Conv, GINConv, GraphConv, LGConv, SAGEConv
    from gnnkit.nn.features import sparse_features

    torch.manual_seed(0)
    x = torch.zeros(5, 16)
    x[0, 0], x[0, 3], x[2, 7], x[4, 15] = 1.0, 2.0, -1.0, 0.5
    ei = torch.tensor([[0, 0, 0, 1, 2, 3, 4], [1, 2, 3, 0, 0, 0, 2]])
    layers = [SAGEConv(16, 8), SAGEConv(16, 32), GraphConv(16, 8), GINConv(torch.nn.Linear(16, 4)), LGConv(),
              APPNP(2, 0.1)]
    for layer in layers:
        dense = layer(x, ei)
        # old: SAGEConv, GraphConv, GINConv, LGConv and APPNP raised "reshape is not implemented for sparse tensors"
        for sparse in (x.to_sparse(), x.to_sparse_csr(), sparse_features(x)):
            torch.testing.assert_close(layer(sparse, ei), dense)
    conv = GCN2Conv(16, 0.1)
    torch.testing.assert_close(conv(x.to_sparse(), x.to_sparse(), ei), conv(x, x, ei))
