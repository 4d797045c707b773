"""Overriding ``message``, ``aggregate`` or ``update`` in a subclass of any
built-in layer takes effect (each step doubled must double the aggregated
term of the layer's dense float64 formula), and a non-linear message sees
the layer's documented ``x_j``."""
import pytest
import torch

from gnnkit.nn import GATConv, GCNConv, GINConv, GraphConv, LGConv, SAGEConv

N = 30


def dense_adj(ei, w):
    a = torch.zeros(N, N, dtype=torch.float64)
    a.index_put_((ei[1], ei[0]), torch.ones(ei.size(1), dtype=torch.float64) if w is None else w.double(),
                 accumulate=True)
    return a


def gcn_matrix(ei, w):
    a = dense_adj(ei, w)
    loops = a.diag().clone()
    a_hat = a - torch.diag(loops) + torch.diag(torch.where(loops > 0, loops, torch.ones_like(loops)))
    dinv = a_hat.sum(1).pow(-0.5)
    return dinv[:, None] * a_hat * dinv[None, :]


def lg_matrix(ei, w):
    a = dense_adj(ei, w)
    deg = a.sum(1)
    dinv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    return dinv[:, None] * a * dinv[None, :]


def mean_matrix(ei, w):
    return dense_adj(ei, w) / dense_adj(ei, None).sum(1).clamp(min=1)[:, None]


# layer factory, and the dense formula with its aggregated term scaled by `s`
CASES = {
    "GraphConv": (lambda: GraphConv(6, 3),
                  lambda m, x, ei, w, s: s * dense_adj(ei, w) @ x @ m.lin.weight.double().t() + m.bias.double()
                  + x @ m.lin_root.weight.double().t()),
    "GraphConv-mean": (lambda: GraphConv(6, 9, aggr="mean"),
                       lambda m, x, ei, w, s: s * mean_matrix(ei, w) @ x @ m.lin.weight.double().t() + m.bias.double()
                       + x @ m.lin_root.weight.double().t()),
    "GraphConv-no-root": (lambda: GraphConv(6, 3, root_weight=False),
                          lambda m, x, ei, w, s: s * dense_adj(ei, w) @ x @ m.lin.weight.double().t() + m.bias.double()),
    "GCNConv": (lambda: GCNConv(6, 4),
                lambda m, x, ei, w, s: s * gcn_matrix(ei, w) @ x @ m.lin.weight.double().t() + m.bias.double()),
    "SAGEConv": (lambda: SAGEConv(6, 3),
                 lambda m, x, ei, w, s: s * mean_matrix(ei, w) @ x @ m.lin_l.weight.double().t()
                 + m.lin_l.bias.double() + x @ m.lin_r.weight.double().t()),
    "LGConv": (LGConv, lambda m, x, ei, w, s: s * lg_matrix(ei, w) @ x),
    "GINConv": (lambda: GINConv(torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh()), eps=0.3),
                lambda m, x, ei, w, s: torch.tanh(((1 + m.eps) * x + s * dense_adj(ei, w) @ x) @ m.nn[0].weight.double().t()
                                                  + m.nn[0].bias.double())),
}


def subclass(base, step):
    """``base`` with one of its three steps doubled, through the base's own step."""
    if step == "message":
        def method(self, x_j, edge_weight):
            return 2 * base.message(self, x_j, edge_weight)
    elif step == "aggregate":
        def method(self, messages, index, num_nodes):
            return 2 * base.aggregate(self, messages, index, num_nodes)
    else:
        def method(self, aggr, x):
            return base.update(self, 2 * aggr, x)
    return type(f"Doubled{base.__name__}", (base,), {step: method})


def same_layer(layer, cls):
    """An instance of ``cls`` (a subclass of ``layer``'s class) sharing its parameters and settings."""
    child = cls.__new__(cls)
    child.__dict__.update(layer.__dict__)
    return child


@pytest.fixture(params=[False, True], ids=["unweighted", "weighted"])
def graph(request, make_graph):
    ei, w = make_graph(num_nodes=N, weighted=request.param)
    return ei, w, torch.randn(N, 6, dtype=torch.float64)


@pytest.mark.parametrize("step", ["message", "aggregate", "update"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_override_takes_effect(graph, name, step):
    ei, w, x = graph
    factory, formula = CASES[name]
    torch.manual_seed(0)
    layer = factory().double()
    for p in layer.parameters():
        if p.dim() == 1:
            torch.nn.init.normal_(p)
    child = same_layer(layer, subclass(type(layer), step))
    torch.testing.assert_close(layer(x, ei, w), formula(layer, x, ei, w, 1), atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(child(x, ei, w), formula(layer, x, ei, w, 2), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("step", ["message", "aggregate", "update"])
def test_gat_override_takes_effect(make_graph, step):
    ei, _ = make_graph(num_nodes=N, weighted=False)
    x = torch.randn(N, 6, dtype=torch.float64)
    layer = GATConv(6, 4, heads=3).double()
    torch.nn.init.normal_(layer.bias)
    child = same_layer(layer, subclass(GATConv, step))
    base = layer(x, ei)
    torch.testing.assert_close(child(x, ei) - layer.bias, 2 * (base - layer.bias), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("factory, x_j", [
    (lambda: GraphConv(6, 3), lambda m, x: x),  # W after the aggregation: x_j is the input
    (lambda: SAGEConv(6, 3), lambda m, x: x),
    (lambda: GCNConv(6, 3), lambda m, x: x @ m.lin.weight.double().t()),  # x_j = (X W)_j, as in PyG
])
def test_nonlinear_message_sees_the_documented_x_j(make_graph, factory, x_j):
    """With out_channels < in_channels the stock layers apply W first; a
    custom message must not be handed W x instead of x."""
    ei, _ = make_graph(num_nodes=N, weighted=False, self_loops=False)
    x = torch.randn(N, 6, dtype=torch.float64)
    layer = factory().double()

    class Relu(type(layer)):
        def message(self, x_j, edge_weight):
            return torch.relu(x_j)

    child = same_layer(layer, Relu)
    if isinstance(layer, GCNConv):
        child.add_self_loops = False
    summed = dense_adj(ei, None) @ torch.relu(x_j(layer, x))
    if isinstance(layer, GraphConv):
        expected = summed @ layer.lin.weight.double().t() + layer.bias.double() + x @ layer.lin_root.weight.double().t()
    elif isinstance(layer, SAGEConv):
        mean = summed / dense_adj(ei, None).sum(1).clamp(min=1)[:, None]
        expected = mean @ layer.lin_l.weight.double().t() + layer.lin_l.bias.double() + x @ layer.lin_r.weight.double().t()
    else:
        expected = summed + layer.bias.double()
    torch.testing.assert_close(child(x, ei), expected, atol=1e-10, rtol=1e-10)

