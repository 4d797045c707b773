import pytest
import torch

from gnnkit.nn import GATConv, GCNConv, GraphConv, LGConv, SAGEConv

LAYERS = [lambda: GraphConv(4, 3), lambda: GCNConv(4, 3), lambda: SAGEConv(4, 3), lambda: GATConv(4, 3)]


@pytest.mark.parametrize("factory", LAYERS)
def test_edge_index_beyond_x_rows(factory):
    x = torch.randn(3, 4)
    ei = torch.tensor([[0, 1], [1, 5]])
    with pytest.raises(ValueError, match="refers to node 5 but x has 3 rows"):
        factory()(x, ei)


@pytest.mark.parametrize("factory", LAYERS)
def test_wrong_feature_width(factory):
    with pytest.raises(ValueError, match="x has 7 features per node but the layer was built with in_channels=4"):
        factory()(torch.randn(3, 7), torch.tensor([[0], [1]]))


@pytest.mark.parametrize("factory", LAYERS)
def test_malformed_edge_index(factory):
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        factory()(x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="integer"):
        factory()(x, torch.tensor([[0.0], [1.0]]))


def test_wrong_edge_weight_length():
    with pytest.raises(ValueError, match=r"edge_weight must have shape \[E\] = \[2\]"):
        GCNConv(4, 3)(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]]), torch.ones(3))
    with pytest.raises(ValueError, match="x must be"):
        LGConv()(torch.randn(3), torch.tensor([[0], [1]]))


def test_cached_gcn_never_reuses_another_graphs_normalisation():
    x = torch.randn(4, 4)
    layer = GCNConv(4, 3, cached=True)
    ring = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    star = torch.tensor([[1, 2, 3], [0, 0, 0]])
    fresh = GCNConv(4, 3)
    fresh.load_state_dict(layer.state_dict())
    assert torch.allclose(layer(x, ring), fresh(x, ring))
    assert torch.allclose(layer(x, star), fresh(x, star))  # a different graph: recomputed
    ring[1, 0] = 3  # edited in place: recomputed too
    assert torch.allclose(layer(x, ring), fresh(x, ring))
    w = torch.ones(3)
    out1 = layer(x, star, w)
    w.mul_(2.0)
    assert torch.allclose(layer(x, star, w), fresh(x, star, w))
    assert not torch.allclose(out1, layer(x, star, torch.tensor([1.0, 5.0, 1.0])))


@pytest.mark.parametrize("factory", [lambda: SAGEConv(4, 3, aggr="lstm"), lambda: GraphConv(4, 3, aggr="softmax")])
def test_unsupported_aggregation_says_what_is_supported(factory):
    with pytest.raises(ValueError, match=r"aggr must be 'sum' \(or 'add'\), 'mean', 'max' or 'min', got .*override aggregate"):
        factory()


def test_bipartite_input_is_checked():
    layer = SAGEConv((4, 2), 3)
    ei = torch.tensor([[0, 5], [1, 0]])
    with pytest.raises(ValueError, match="x has 7 features per node but the layer was built with in_channels=2"):
        layer((torch.randn(6, 4), torch.randn(2, 7)), ei)
    with pytest.raises(ValueError, match="refers to node 2 but x_dst has 2 rows"):
        layer((torch.randn(6, 4), torch.randn(2, 2)), torch.tensor([[0], [2]]))
    with pytest.raises(ValueError, match="built for bipartite input"):
        layer(torch.randn(6, 4), ei)


@pytest.mark.parametrize("build", [lambda: GCNConv(4, -1), lambda: GCNConv(-1, 2), lambda: GATConv(-1, 3),
                                   lambda: SAGEConv(4, -2), lambda: GraphConv(-1, 2)])
def test_negative_or_lazy_channel_counts_are_named(build):
    # torch's own error was "Trying to create tensor with negative dimension -1"
    with pytest.raises(ValueError, match=r"channels must be a count >= 0"):
        build()


@pytest.mark.parametrize("factory", [lambda: SAGEConv((4, 4), 3), lambda: _gin()])
def test_pyg_positional_size_of_sage_and_gin(factory):
    conv = factory()
    x = (torch.randn(4, 4), torch.randn(2, 4))
    ei = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    # PyG's test_sage_conv / test_gin_conv call conv(x, edge_index, (4, 2)); old: AttributeError on a tuple weight
    torch.testing.assert_close(conv(x, ei, (4, 2)), conv(x, ei, size=(4, 2)))
    with pytest.raises(ValueError, match="size"):
        conv(x, ei, (4, 3))  # a size that disagrees with x_dst is still refused


def _gin():
    from gnnkit.nn import GINConv

    return GINConv(torch.nn.Linear(4, 3))


@pytest.mark.parametrize("factory", [lambda: GCNConv(4, 3), lambda: GraphConv(4, 3), lambda: LGConv()])
def test_edge_weight_that_is_not_a_tensor(factory):
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(TypeError, match="edge_weight must be a \\[num_edges\\] tensor or None, got list"):
        factory()(torch.randn(3, 4 if not isinstance(factory(), LGConv) else 2), ei, [1.0, 2.0])


@pytest.mark.parametrize("factory", [lambda: LGConv(), lambda: GCNConv(1, 2), lambda: SAGEConv(1, 2), lambda: GATConv(1, 2)])
def test_integer_features_are_refused(factory):
    ei = torch.tensor([[0, 1, 2, 0], [1, 2, 0, 2]])
    # old: LGConv returned truncated integers ([21, 10, 21] for [21.2, 10, 21.2]), the others a raw torch error
    with pytest.raises(ValueError, match=r"x must be a floating-point tensor, got torch.int64; pass x.float\(\)"):
        factory()(torch.tensor([[10], [20], [30]]), ei)


def test_edge_index_that_is_numpy_or_transposed_is_named():
    conv, x = GCNConv(1, 2), torch.ones(3, 1)
    ei = torch.tensor([[0, 1, 2, 0], [1, 2, 0, 2]])
    with pytest.raises(ValueError, match=r"torch tensor, got ndarray; pass torch.as_tensor\(edge_index\)"):
        conv(x, ei.numpy())
    with pytest.raises(ValueError, match=r"got shape \(4, 2\); it looks transposed: pass edge_index.t\(\)"):
        conv(x, ei.t())


@pytest.mark.parametrize("factory", LAYERS + [lambda: LGConv()])
def test_a_pair_from_to_undirected_given_as_edge_index_says_to_unpack_it(factory):
    from gnnkit.ops import to_undirected

    pair = to_undirected(torch.tensor([[0, 1], [1, 2]]))  # PyG's to_undirected returns the tensor alone
    x = torch.randn(3, 4 if not isinstance(factory(), LGConv) else 2)
    with pytest.raises(ValueError, match=r"edge_index is a pair: .*unpack it: edge_index, edge_weight = "):
        factory()(x, pair)
