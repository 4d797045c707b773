"""The MessagePassing base: the explicit three steps, and the fused path."""
import torch

from gnnkit.nn import MessagePassing
from gnnkit.ops import scatter


class WeightedSum(MessagePassing):
    def forward(self, x, edge_index, edge_weight=None):
        return self.propagate(x, edge_index, edge_weight)


class MaxOfDifferences(MessagePassing):
    """A custom layer: message depends on the edge, max aggregation, residual update."""

    def __init__(self):
        super().__init__(aggr="max")

    def message(self, x_j, edge_weight):
        return torch.relu(x_j) * (1.0 if edge_weight is None else edge_weight[:, None])

    def update(self, aggr, x):
        return aggr + x

    def forward(self, x, edge_index, edge_weight=None):
        return self.propagate(x, edge_index, edge_weight)


def test_default_layer_takes_fused_path_and_equals_scatter(make_graph, monkeypatch):
    ei, w = make_graph()
    x = torch.randn(30, 5)
    layer = WeightedSum()
    assert layer._fused()
    calls = []
    monkeypatch.setattr(MessagePassing, "aggregate", lambda *a: calls.append(a) or None)
    out = layer(x, ei, w)
    assert calls == []  # no [E, F] message tensor was aggregated
    torch.testing.assert_close(out, scatter(x[ei[0]] * w[:, None], ei[1], 30), atol=1e-5, rtol=1e-5)


def test_mean_aggregation_fused(make_graph):
    ei, _ = make_graph(weighted=False)
    x = torch.randn(30, 5)
    layer = WeightedSum(aggr="mean")
    torch.testing.assert_close(layer(x, ei), scatter(x[ei[0]], ei[1], 30, reduce="mean"), atol=1e-5, rtol=1e-5)


def test_custom_message_and_update(make_graph):
    ei, w = make_graph()
    x = torch.randn(30, 5)
    layer = MaxOfDifferences()
    assert not layer._fused()
    expected = scatter(torch.relu(x[ei[0]]) * w[:, None], ei[1], 30, reduce="max") + x
    torch.testing.assert_close(layer(x, ei, w), expected)


def test_adjacency_is_built_once_per_graph(make_graph, monkeypatch):
    import gnnkit.nn.message_passing as mp

    ei, w = make_graph()
    builds = []
    real = mp.as_csr
    monkeypatch.setattr(mp, "as_csr", lambda *a: builds.append(1) or real(*a))
    layer = WeightedSum()
    x = torch.randn(30, 5)
    for _ in range(3):
        layer(x, ei, w)
    assert len(builds) == 1
    layer(x, ei.clone(), w)  # a different tensor: rebuilt
    assert len(builds) == 2
