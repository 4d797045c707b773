"""GATConv's edge features (``edge_dim``, ``fill_value``), head mean and
residual against PyG's layer with the same weights (outputs and every
gradient, fp32 1e-5 / fp64 1e-10) and a dense float64 formula."""
import pytest
import torch
import torch.nn.functional as F

from gnnkit.nn import GATConv
from gnnkit_testing import require

N = 30


@pytest.fixture(scope="module")
def pyg_nn():
    return require("torch_geometric.nn", "torch_geometric is part of the [dev] extra")


def graph(seed, bipartite=False):
    """Multi-edges, loops (replaced by the layer), 3 nodes without in-edges."""
    g = torch.Generator().manual_seed(seed)
    if bipartite:
        return torch.stack([torch.randint(0, N, (100,), generator=g), torch.randint(0, 12, (100,), generator=g)])
    ei = torch.randint(0, N - 3, (2, 110), generator=g)
    return torch.cat([ei, torch.arange(0, N - 3, 4).repeat(2, 1), ei[:, :10]], dim=1)


def compare(ours, theirs, x, ei, edge_attr, dtype):
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    for p in ours.parameters():
        torch.nn.init.normal_(p, std=0.5)  # zero biases would hide a missing term
    theirs.load_state_dict(ours.state_dict())
    xs = x if isinstance(x, tuple) else (x,)
    runs = []
    for layer in (ours, theirs):
        leaves = [t.to(dtype).clone().requires_grad_() for t in xs]
        ea = None if edge_attr is None else edge_attr.to(dtype).clone().requires_grad_()
        inp = tuple(leaves) if isinstance(x, tuple) else leaves[0]
        out = layer(inp, ei) if ea is None else layer(inp, ei, ea)
        out.backward(torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=dtype))
        runs.append((out, [t.grad for t in leaves] + ([] if ea is None else [ea.grad]),
                     {n: p.grad for n, p in layer.named_parameters()}))
    (out_a, grads_a, params_a), (out_b, grads_b, params_b) = runs
    torch.testing.assert_close(out_a, out_b, atol=tol, rtol=tol)
    for ga, gb in zip(grads_a, grads_b):
        torch.testing.assert_close(ga, gb, atol=tol, rtol=tol)
    assert params_a.keys() == params_b.keys()
    for name, g in params_a.items():
        torch.testing.assert_close(g, params_b[name], atol=tol, rtol=tol, msg=f"gradient of {name}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
@pytest.mark.parametrize("fill_value", ["mean", "add", "max", "min", 0.5, "tensor"])
@pytest.mark.parametrize("concat", [True, False])
def test_edge_features(pyg_nn, dtype, fill_value, concat):
    ei = graph(0)
    ea = torch.randn(ei.size(1), 3, generator=torch.Generator().manual_seed(1))
    fill = torch.tensor([0.1, -0.2, 0.3], dtype=dtype) if fill_value == "tensor" else fill_value
    torch.manual_seed(0)
    kwargs = dict(heads=2, concat=concat, edge_dim=3, fill_value=fill)
    compare(GATConv(8, 4, **kwargs), pyg_nn.GATConv(8, 4, **kwargs), torch.randn(N, 8), ei, ea, dtype)


@pytest.mark.parametrize("add_self_loops", [True, False])
def test_one_dimensional_edge_features(pyg_nn, add_self_loops):
    ei = graph(1)
    torch.manual_seed(1)
    kwargs = dict(heads=3, edge_dim=1, add_self_loops=add_self_loops)
    compare(GATConv(8, 4, **kwargs), pyg_nn.GATConv(8, 4, **kwargs), torch.randn(N, 8), ei,
            torch.rand(ei.size(1)), torch.float32)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
@pytest.mark.parametrize("concat", [True, False])
@pytest.mark.parametrize("bipartite", [False, True])
def test_residual(pyg_nn, dtype, concat, bipartite):
    ei = graph(2, bipartite)
    g = torch.Generator().manual_seed(2)
    in_channels = (8, 5) if bipartite else 8
    x = (torch.randn(N, 8, generator=g), torch.randn(12, 5, generator=g)) if bipartite else torch.randn(N, 8, generator=g)
    torch.manual_seed(2)
    kwargs = dict(heads=2, concat=concat, residual=True)
    compare(GATConv(in_channels, 4, **kwargs), pyg_nn.GATConv(in_channels, 4, **kwargs), x, ei, None, dtype)


def test_empty_graph_with_edge_features_and_residual(pyg_nn):
    layer = GATConv(4, 3, heads=2, edge_dim=2, residual=True)
    out = layer(torch.randn(5, 4), torch.empty(2, 0, dtype=torch.long), torch.empty(0, 2))
    assert out.shape == (5, 6)
    assert layer(torch.randn(0, 4), torch.empty(2, 0, dtype=torch.long), torch.empty(0, 2)).shape == (0, 6)


def test_dense_formula_with_edge_features_head_mean_and_residual():
    """Heads averaged; loops replaced by one per node whose features are the mean of its in-edges'."""
    ei = graph(3)
    ei = ei[:, ei[0] != ei[1]]  # only the layer's own loops
    g = torch.Generator().manual_seed(4)
    x = torch.randn(N, 6, generator=g, dtype=torch.float64)
    ea = torch.randn(ei.size(1), 2, generator=g, dtype=torch.float64)
    layer = GATConv(6, 3, heads=2, concat=False, edge_dim=2, residual=True).double()
    torch.nn.init.normal_(layer.bias)
    h = (x @ layer.lin.weight.t()).view(N, 2, 3)
    counts = torch.zeros(N, dtype=torch.float64).index_add(0, ei[1], torch.ones(ei.size(1), dtype=torch.float64))
    loop_attr = torch.zeros(N, 2, dtype=torch.float64).index_add(0, ei[1], ea) / counts.clamp(min=1)[:, None]
    src, dst = torch.cat([ei[0], torch.arange(N)]), torch.cat([ei[1], torch.arange(N)])
    e = (torch.cat([ea, loop_attr]) @ layer.lin_edge.weight.t()).view(-1, 2, 3)
    score = F.leaky_relu((h[src] * layer.att_src).sum(-1) + (h[dst] * layer.att_dst).sum(-1)
                         + (e * layer.att_edge).sum(-1), 0.2)  # [E + N, heads]
    expected = torch.zeros(N, 2, 3, dtype=torch.float64)
    for i in range(N):
        sel = dst == i
        alpha = torch.softmax(score[sel], dim=0)  # [deg, heads]
        expected[i] = (alpha[:, :, None] * h[src[sel]]).sum(0)
    expected = expected.mean(1) + x @ layer.res.weight.t() + layer.bias
    torch.testing.assert_close(layer(x, ei, edge_attr=ea), expected, atol=1e-12, rtol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="fill_value must be"):
        GATConv(4, 2, edge_dim=2, fill_value="mul")
    layer = GATConv(4, 2, edge_dim=2)
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="pass edge_attr"):
        layer(torch.randn(2, 4), ei)
    with pytest.raises(ValueError, match=r"edge_attr must be \[E, edge_dim\] = \[2, 2\]"):
        layer(torch.randn(2, 4), ei, torch.randn(3, 2))
    from gnnkit.nn.inference import layer_inference  # layer-wise inference cannot carry edge features
    from gnnkit.ops import build_csr

    with pytest.raises(ValueError, match="edge_dim reads edge features"):
        layer_inference(layer, torch.randn(2, 4), build_csr(ei, 2), 1, torch.device("cpu"))


def test_returned_attention_is_a_plain_edges_by_heads_tensor():
    from gnnkit.nn import GATConv

    torch.manual_seed(0)
    ei = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    conv = GATConv(4, 2, heads=3)
    _, (_, alpha) = conv(torch.randn(4, 4), ei, return_attention_weights=True)
    assert alpha.shape == (8, 3) and alpha.is_contiguous()  # 4 edges + 4 added loops
    assert alpha.view(-1).numel() == 24  # view works, as on PyG's tensor


def test_edge_weight_without_edge_dim_warns_that_it_is_ignored():
    conv = GATConv(4, 3)
    x, ei = torch.randn(5, 4), torch.tensor([[0, 1, 2], [1, 2, 3]])
    with pytest.warns(UserWarning, match="GATConv does not use edge_weight: .* edge_dim=1"):
        out = conv(x, ei, torch.rand(3))  # old: ignored without a word, even a wrong-length weight
    torch.testing.assert_close(out, conv(x, ei))
