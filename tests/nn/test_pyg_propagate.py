"""PyG's calling convention propagate(edge_index, x=..., **kwargs), and steps bound by name,
against torch_geometric's MessagePassing given the same layer code."""
import pytest
import torch

from gnnkit.nn import MessagePassing
from gnnkit_testing import require

pyg = require("torch_geometric")

EI = torch.tensor([[0, 1, 1, 2, 3, 4, 5, 5, 0], [1, 0, 2, 1, 4, 3, 4, 0, 0]])  # a loop, an isolated-ish node 5


def layers(base):
    """The same user-written layers on PyG's base and on gnnkit's."""

    class Weighted(base):
        def __init__(self, aggr="add"):
            super().__init__(aggr=aggr)

        def forward(self, x, edge_index, w=None, size=None):
            return self.propagate(edge_index, x=x, edge_weight=w, size=size)

        def message(self, x_j, edge_weight):
            return x_j if edge_weight is None else x_j * edge_weight.view(-1, 1)

        def update(self, inputs, x):
            return inputs + (x[1] if isinstance(x, tuple) else x)

    class Attention(base):  # _i / _j of a tensor and of a pair, index, size_i
        def __init__(self):
            super().__init__(aggr="mean", node_dim=0)

        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x, alpha=(x.sum(-1), x.mean(-1)))

        def message(self, x_i, x_j, alpha_j, alpha_i, index, size_i):
            return (x_i - x_j) * (alpha_j + alpha_i).view(-1, 1) + size_i + index.view(-1, 1)

    class Default(base):  # PyG's default message is x_j: the edge weights are not used
        def forward(self, x, edge_index, w=None):
            return self.propagate(edge_index, x=x, edge_weight=w)

    class DefaultArgument(base):
        def __init__(self):
            super().__init__(aggr="mean")

        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

        def message(self, x_j, zeros: bool = True):
            return x_j * 0 if zeros else x_j

    class EdgeUpdate(base):
        def forward(self, x, edge_index):
            alpha = self.edge_updater(edge_index, x=x)
            return self.propagate(edge_index, x=x, alpha=alpha)

        def edge_update(self, x_i, x_j):
            return (x_i * x_j).sum(-1)

        def message(self, x_j, alpha):
            return x_j * alpha.view(-1, 1)

    class Reverse(base):
        def __init__(self):
            super().__init__(aggr="max", flow="target_to_source")

        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

    class OwnAggregate(base):
        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

        def aggregate(self, inputs, index, ptr=None, dim_size=None):
            return pyg.utils.scatter(inputs, index, 0, dim_size, "max")

    class Sparse(base):
        def forward(self, x, adj_t):
            return self.propagate(adj_t, x=x)

        def message_and_aggregate(self, adj_t, x):
            return (adj_t.to_dense() @ x) * 2

    return {cls.__name__: cls for cls in (Weighted, Attention, Default, DefaultArgument, EdgeUpdate, Reverse,
                                          OwnAggregate, Sparse)}


THEIRS, OURS = layers(pyg.nn.MessagePassing), layers(MessagePassing)
X = torch.randn(6, 4, dtype=torch.float64)
W = torch.rand(EI.size(1), dtype=torch.float64)
X2 = torch.randn(3, 4, dtype=torch.float64)
EI_B = torch.tensor([[0, 1, 5, 4], [0, 2, 1, 1]])
ADJ_T = torch.sparse_coo_tensor(torch.stack([EI[1], EI[0]]), W, (6, 6), check_invariants=True).coalesce().to_sparse_csr()

CASES = {
    "weighted sum": ("Weighted", (), lambda x, w: (x, EI, w)),
    "unweighted mean": ("Weighted", ("mean",), lambda x, w: (x, EI)),
    "bipartite": ("Weighted", (), lambda x, w: ((x, X2), EI_B, w[:4])),
    "(x_src, None): targets as many as sources": ("Default", (), lambda x, w: ((x, None), EI_B)),
    "sparse adj_t, values as edge_weight": ("Weighted", (), lambda x, w: (x, ADJ_T)),
    "x_i, x_j, a pair's _i/_j, index, size_i": ("Attention", (), lambda x, w: (x, EI)),
    "default message ignores edge_weight": ("Default", (), lambda x, w: (x, EI, w)),
    "a parameter with a default keeps it": ("DefaultArgument", (), lambda x, w: (x, EI)),
    "edge_updater": ("EdgeUpdate", (), lambda x, w: (x, EI)),
    "flow target_to_source, max": ("Reverse", (), lambda x, w: (x, EI)),
    "aggregate(inputs, index, ptr, dim_size)": ("OwnAggregate", (), lambda x, w: (x, EI)),
    "message_and_aggregate on a sparse adjacency": ("Sparse", (), lambda x, w: (x, ADJ_T)),
    "empty graph": ("Weighted", (), lambda x, w: (x[:0], EI[:, :0])),
}


@pytest.mark.parametrize("case", CASES)
def test_user_layer_equals_pyg(case):
    name, init, inputs = CASES[case]
    got, want = [], []
    for classes, out in ((OURS, got), (THEIRS, want)):
        x, w = X.clone().requires_grad_(), W.clone().requires_grad_()
        y = classes[name](*init)(*inputs(x, w))
        y.pow(2).sum().backward() if y.numel() else None
        out += [y, x.grad, w.grad]
    for a, b in zip(got, want):
        if b is None:
            assert a is None or not a.abs().any()
        else:
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_gnnkit_convention_binds_by_name_too():
    class Diff(MessagePassing):  # gnnkit's propagate(x, edge_index), message reading x_i by name
        def forward(self, x, edge_index):
            return self.propagate(x, edge_index)

        def message(self, x_j, x_i, zeros=False):
            return x_i - x_j if not zeros else 0 * x_j

    out = Diff()(X, EI)
    want = pyg.utils.scatter(X[EI[1]] - X[EI[0]], EI[1], 0, 6, "sum")
    torch.testing.assert_close(out, want)

    class Positional(MessagePassing):  # gnnkit's explicit second argument: the edge weights
        def forward(self, x, edge_index, w):
            return self.propagate(x, edge_index, w)

        def message(self, x_j, w):
            return 2 * x_j * w[:, None]

    torch.testing.assert_close(Positional()(X, EI, W), 2 * pyg.utils.scatter(X[EI[0]] * W[:, None], EI[1], 0, 6))


def test_unknown_parameters_and_flow_are_clear_errors():
    class Needs(MessagePassing):
        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

        def message(self, x_j, x_j_scale, other):
            return x_j

    with pytest.raises(TypeError, match="nothing supplies its parameter 'x_j_scale'"):
        Needs()(X, EI)
    with pytest.raises(ValueError, match="flow must be"):
        MessagePassing(flow="sideways")
    # gnnkit's positional arguments on a flow='target_to_source' layer: read as PyG's (x, edge_index)
    torch.testing.assert_close(OURS["Reverse"]().propagate(X, EI), THEIRS["Reverse"]()(X, EI))
    with pytest.raises(ValueError, match="refers to source node 5 but there are 4"):
        OURS["Default"]()(X[:4], EI)


class Plain(MessagePassing):  # module level: torch.save pickles the class by name
    def forward(self, x, edge_index):
        return self.propagate(edge_index, x=x)


def _saved(model) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(model, buffer)
    return buffer.getvalue()


def test_pyg_habits_at_the_edges():
    import io

    class Super(MessagePassing):  # PyG's step signatures through super(), aggr=None with an own aggregate
        def __init__(self):
            super().__init__(aggr=None)

        def forward(self, x, edge_index):
            return self.propagate(edge_index, None, x=x)  # size by position

        def message(self, x_j):
            return super().message(x_j) * 2

        def aggregate(self, inputs, index, ptr=None, dim_size=None):
            return super().aggregate(inputs, index, ptr, dim_size)

        def update(self, inputs):
            return super().update(inputs) + 1

    out = Super()(X, EI)
    torch.testing.assert_close(out, 2 * pyg.utils.scatter(X[EI[0]], EI[1], 0, 6) + 1)

    model = Plain()
    model(X, EI)
    torch.save(model, io.BytesIO())  # the graph cache (weak references) is not pickled
    assert torch.load(io.BytesIO(_saved(model)), weights_only=False)(X, EI).shape == (6, 4)

    values = W.clone().requires_grad_()
    adj_t = torch.sparse_coo_tensor(torch.stack([EI[1], EI[0]]), values, (6, 6)).coalesce()
    OURS["Weighted"]()(X, adj_t).sum().backward()  # gradients reach a torch.sparse adjacency's values
    theirs = W.clone().requires_grad_()
    THEIRS["Weighted"]()(X, torch.sparse_coo_tensor(torch.stack([EI[1], EI[0]]), theirs, (6, 6)).coalesce()
                         ).sum().backward()
    torch.testing.assert_close(values.grad, theirs.grad)

    with pytest.raises(IndexError, match="valid indices 0 .. 3"):  # PyG's exception type (and a ValueError)
        OURS["Default"]()(X[:4], EI)
