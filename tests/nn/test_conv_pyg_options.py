"""PyG's GraphConv (with its root weight), PyG's `(x_src, None)` + `size=`
bipartite calls, and PyG's `normalize=False` convention (no self-loops unless
asked for), against PyG's layers with the same weights."""
import pytest
import torch
from gnnkit_testing import require

pyg_nn = require("torch_geometric.nn")

from gnnkit.nn import APPNP, GCN2Conv, GCNConv, GINConv, GraphConv, LGConv, SAGEConv  # noqa: E402

N = 30


def graph(seed=0, targets=N):
    g = torch.Generator().manual_seed(seed)
    ei = torch.stack([torch.randint(0, N, (120,), generator=g), torch.randint(0, targets, (120,), generator=g)])
    return ei, torch.rand(120, generator=g) + 0.1


def graph_conv_pair(in_channels, out_channels, aggr="add", dtype=torch.float32):
    """gnnkit's GraphConv and PyG's with the same weights (lin_rel → lin + bias, lin_root → lin_root)."""
    ours = GraphConv(in_channels, out_channels, aggr=aggr).to(dtype)
    theirs = pyg_nn.GraphConv(in_channels, out_channels, aggr=aggr).to(dtype)
    for p in ours.parameters():
        torch.nn.init.normal_(p)
    with torch.no_grad():
        theirs.lin_rel.weight.copy_(ours.lin.weight)
        theirs.lin_rel.bias.copy_(ours.bias)
        theirs.lin_root.weight.copy_(ours.lin_root.weight)
    return ours, theirs


def check_same(fa, fb, inputs, tol):
    """Outputs and every input's gradient equal."""
    a = [t.clone().requires_grad_() if t is not None and t.is_floating_point() else t for t in inputs]
    b = [t.clone().requires_grad_() if t is not None and t.is_floating_point() else t for t in inputs]
    out_a, out_b = fa(*a), fb(*b)
    torch.testing.assert_close(out_a, out_b, atol=tol, rtol=tol)
    grad = torch.randn_like(out_a)
    out_a.backward(grad)
    out_b.backward(grad)
    for ta, tb in zip(a, b):
        if ta is not None and ta.is_floating_point():
            torch.testing.assert_close(ta.grad, tb.grad, atol=tol, rtol=tol)
    return out_a


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("aggr", ["add", "mean", "max", "min"])
@pytest.mark.parametrize("out_channels", [4, 32])  # W before and after the aggregation
def test_graph_conv_equals_pygs_with_its_root_weight(aggr, out_channels, dtype, tol):
    ei, w = graph(1)
    torch.manual_seed(1)
    ours, theirs = graph_conv_pair(16, out_channels, aggr, dtype)
    x = torch.randn(N, 16, dtype=dtype)
    check_same(lambda x, w: ours(x, ei, w), lambda x, w: theirs(x, ei, w), [x, w.to(dtype)], tol)
    check_same(lambda x: ours(x, ei), lambda x: theirs(x, ei), [x], tol)
    for name, p in ours.named_parameters():
        assert p.grad is not None, name


def test_graph_conv_bipartite_channel_pair_and_missing_targets():
    ei, w = graph(2, targets=8)
    torch.manual_seed(2)
    ours, theirs = graph_conv_pair((16, 5), 4)
    xs, xd = torch.randn(N, 16), torch.randn(8, 5)
    check_same(lambda a, b: ours((a, b), ei, w), lambda a, b: theirs((a, b), ei, w), [xs, xd], 1e-5)
    out = check_same(lambda a: ours((a, None), ei, size=(N, 8)), lambda a: theirs((a, None), ei, size=(N, 8)),
                     [xs], 1e-5)
    assert out.shape == (8, 4)


@pytest.mark.parametrize("aggr", ["mean", "max"])
def test_sage_conv_without_target_features(aggr):
    ei, _ = graph(3, targets=8)
    torch.manual_seed(3)
    ours, theirs = SAGEConv((16, 5), 4, aggr=aggr), pyg_nn.SAGEConv((16, 5), 4, aggr=aggr)
    for p in ours.parameters():
        torch.nn.init.normal_(p)
    theirs.load_state_dict(ours.state_dict())
    xs = torch.randn(N, 16)
    check_same(lambda a: ours((a, None), ei, size=(N, 8)), lambda a: theirs((a, None), ei, size=(N, 8)), [xs], 1e-5)


def test_gin_conv_without_target_features():
    ei, _ = graph(4, targets=8)
    torch.manual_seed(4)
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8))
    theirs_mlp = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8))
    ours, theirs = GINConv(mlp, eps=0.3), pyg_nn.GINConv(theirs_mlp, eps=0.3)
    theirs.load_state_dict(ours.state_dict())
    xs = torch.randn(N, 16)
    check_same(lambda a: ours((a, None), ei, size=(N, 8)), lambda a: theirs((a, None), ei, size=(N, 8)), [xs], 1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_normalize_false_is_pygs_plain_sum(weighted):
    """``normalize=False`` alone adds no self-loops in PyG's GCNConv, APPNP and GCN2Conv."""
    ei, w = graph(5)
    w = w if weighted else None
    torch.manual_seed(5)
    x = torch.randn(N, 8)
    ours, theirs = GCNConv(8, 6, normalize=False), pyg_nn.GCNConv(8, 6, normalize=False)
    torch.nn.init.normal_(ours.bias)
    theirs.load_state_dict(ours.state_dict())
    check_same(lambda x: ours(x, ei, w), lambda x: theirs(x, ei, w), [x], 1e-5)
    check_same(lambda x: APPNP(3, 0.1, normalize=False)(x, ei, w),
               lambda x: pyg_nn.APPNP(3, 0.1, normalize=False)(x, ei, w), [x], 1e-4)
    ours2, theirs2 = GCN2Conv(8, 0.2, theta=0.5, layer=2, normalize=False), pyg_nn.GCN2Conv(8, 0.2, 0.5, 2, normalize=False)
    theirs2.load_state_dict(ours2.state_dict())
    check_same(lambda x, x0: ours2(x, x0, ei, w), lambda x, x0: theirs2(x, x0, ei, w), [x, torch.randn(N, 8)], 1e-4)


def test_lg_conv_without_normalisation():
    ei, w = graph(6)
    x = torch.randn(N, 8)
    check_same(lambda x, w: LGConv(normalize=False)(x, ei, w),
               lambda x, w: pyg_nn.LGConv(normalize=False)(x, ei, w), [x, w], 1e-5)


def test_unsupported_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="lazy -1"):
        SAGEConv(-1, 8)
    with pytest.raises(ValueError, match="lazy -1"):
        GraphConv((16, -1), 8)
    with pytest.raises(ValueError, match="size=.*one node set"):
        GraphConv(4, 2)(torch.randn(5, 4), torch.tensor([[0], [1]]), size=(5, 3))


def _mlp(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("edge_dim", [None, 3])
@pytest.mark.parametrize("case", ["graph", "bipartite", "no-edges", "x_dst None"])
def test_gine_conv_matches_pyg(dtype, tol, edge_dim, case):
    from gnnkit.nn import GINEConv

    ours = GINEConv(_mlp(0), eps=0.3, train_eps=True, edge_dim=edge_dim).to(dtype)
    theirs = pyg_nn.GINEConv(_mlp(1), eps=0.3, train_eps=True, edge_dim=edge_dim).to(dtype)
    theirs.load_state_dict(ours.state_dict())
    ei, _ = graph(3, targets=6 if case in ("bipartite", "x_dst None") else N)
    ei = ei[:, :0] if case == "no-edges" else ei
    g = torch.Generator().manual_seed(4)
    x_src = torch.randn(N, 8, dtype=dtype, generator=g).requires_grad_()
    x = {"bipartite": (x_src, torch.randn(6, 8, dtype=dtype, generator=g)), "x_dst None": (x_src, None)}.get(case, x_src)
    size = {"size": (N, 6)} if case == "x_dst None" else {}
    edge_attr = torch.randn(ei.size(1), edge_dim or 8, dtype=dtype, generator=g).requires_grad_()
    a, b = ours(x, ei, edge_attr, **size), theirs(x, ei, edge_attr, **size)
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    leaves = [x_src, edge_attr]
    grads_a = torch.autograd.grad(a.sum(), leaves + list(ours.parameters()), allow_unused=True)
    grads_b = torch.autograd.grad(b.sum(), leaves + list(theirs.parameters()), allow_unused=True)
    for ga, gb in zip(grads_a, grads_b):
        assert (ga is None) == (gb is None)
        if ga is not None:
            torch.testing.assert_close(ga, gb, atol=tol, rtol=tol)


def test_gine_conv_dense_formula_and_errors():
    from gnnkit.nn import GINEConv

    conv = GINEConv(torch.nn.Identity(), eps=0.5).double()
    ei, _ = graph(5)
    x = torch.randn(N, 8, dtype=torch.float64)
    e = torch.randn(ei.size(1), 8, dtype=torch.float64)
    dense = (1.5 * x).index_add(0, ei[1], (x[ei[0]] + e).relu())
    torch.testing.assert_close(conv(x, ei, e), dense, atol=1e-12, rtol=1e-12)
    with pytest.raises(ValueError, match="edge_dim=3"):
        conv(x, ei, torch.randn(ei.size(1), 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="needs edge features"):
        conv(x, ei)
    with pytest.raises(ValueError, match="reads the node feature width"):
        GINEConv(torch.nn.Identity(), edge_dim=3)
    empty = torch.empty(2, 0, dtype=torch.long)
    assert conv(torch.randn(0, 8, dtype=torch.float64), empty, torch.randn(0, 8, dtype=torch.float64)).shape == (0, 8)

    class Doubled(GINEConv):  # a subclass's message takes effect
        def message(self, x_j, edge_attr):
            return 2 * super().message(x_j, edge_attr)

    doubled = Doubled(torch.nn.Identity(), eps=0.5).double()
    torch.testing.assert_close(doubled(x, ei, e) - 1.5 * x, 2 * (dense - 1.5 * x), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("aggr", ["add", "mean", "max"])
def test_graph_conv_loads_a_pyg_state_dict(aggr):
    theirs = pyg_nn.GraphConv(8, 3, aggr=aggr)
    ours = GraphConv(8, 3, aggr=aggr)
    ours.load_state_dict(theirs.state_dict())  # lin_rel.* under PyG's names; old: unexpected / missing keys
    ei, w = graph(6)
    x = torch.randn(N, 8)
    torch.testing.assert_close(ours(x, ei, w), theirs(x, ei, w), atol=1e-5, rtol=1e-5)
    again = GraphConv(8, 3, aggr=aggr)
    again.load_state_dict(ours.state_dict())  # its own names still load
    torch.testing.assert_close(again(x, ei, w), ours(x, ei, w))


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("aggr", ["mean", "sum", "max", "min"])
@pytest.mark.parametrize("out", [4, 16])  # W_1 after / before the aggregation
@pytest.mark.parametrize("bipartite", [False, True])
def test_sage_conv_project_matches_pyg(dtype, tol, aggr, out, bipartite):
    ours = SAGEConv((8, 6) if bipartite else 8, out, aggr=aggr, project=True, normalize=out == 4).to(dtype)
    theirs = pyg_nn.SAGEConv((8, 6) if bipartite else 8, out, aggr="add" if aggr == "sum" else aggr, project=True,
                             normalize=out == 4).to(dtype)
    theirs.load_state_dict(ours.state_dict())  # lin (the projection), lin_l, lin_r: PyG's names
    ei, _ = graph(7, targets=9 if bipartite else N)
    g = torch.Generator().manual_seed(8)
    x_src = torch.randn(N, 8, dtype=dtype, generator=g).requires_grad_()
    x = (x_src, torch.randn(9, 6, dtype=dtype, generator=g)) if bipartite else x_src
    a, b = ours(x, ei), theirs(x, ei)
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    names = [n for n, _ in ours.named_parameters()]
    mine, peer = dict(ours.named_parameters()), dict(theirs.named_parameters())
    grads_a = torch.autograd.grad(a.sum(), [x_src] + [mine[n] for n in names])
    grads_b = torch.autograd.grad(b.sum(), [x_src] + [peer[n] for n in names])
    for ga, gb in zip(grads_a, grads_b):
        torch.testing.assert_close(ga, gb, atol=tol, rtol=tol)


def test_gine_conv_names_bad_edge_features():
    from gnnkit.nn import GINEConv

    ei, x = torch.tensor([[0, 1], [1, 2]]), torch.randn(3, 4)
    conv = GINEConv(torch.nn.Linear(4, 2), edge_dim=3)
    for attr, message in ((torch.randn(2, 4), "edge_attr has 4 features per edge but the layer was built with "
                                              "edge_dim=3"),
                          (torch.ones(2, 3, dtype=torch.long), "edge_attr is torch.int64 but x is torch.float32"),
                          (torch.tensor(1.0), r"edge_attr must be \[E, D\] with E = 2 edges, got \(\)")):
        with pytest.raises(ValueError, match=message):  # old: raw "mat1 and mat2 ..." / IndexError
            conv(x, ei, attr)
    with pytest.raises(ValueError, match="edge_dim must be a count >= 1"):
        GINEConv(torch.nn.Linear(4, 2), edge_dim=-1)
