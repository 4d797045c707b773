"""APPNP and GCN2Conv (GCNII): against PyG's layers with the same weights
(outputs and every gradient, fp32 1e-5 / fp64 1e-10), against their dense
float64 formulas, on empty graphs, and block-wise (layer-wise inference)."""
import math

import pytest
import torch

from gnnkit.nn import APPNP, GCN2Conv
from gnnkit.nn.inference import layerwise_inference
from gnnkit.nn.models import APPNPNet, GCNII
from gnnkit.ops import build_csr
from gnnkit_testing import require

N = 40


def graph(seed, directed=True):
    """Multi-edges, at most one loop per node (PyG keeps one of several), 3 isolated nodes."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N - 3, (2, 160), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    if not directed:
        ei = torch.cat([ei, ei.flip(0)], dim=1)
    ei = torch.cat([ei, torch.arange(0, N - 3, 5).repeat(2, 1), ei[:, :12]], dim=1)
    return ei, torch.rand(ei.size(1), generator=g, dtype=torch.float64) + 0.1


def dense_norm(ei, w):
    """``D^{-1/2} (A + I) D^{-1/2}`` in float64, existing loops keeping their weight."""
    a = torch.zeros(N, N, dtype=torch.float64)
    w = torch.ones(ei.size(1), dtype=torch.float64) if w is None else w.double()
    a.index_put_((ei[1], ei[0]), w, accumulate=True)
    has_loop = torch.zeros(N, dtype=torch.bool)
    has_loop[ei[0, ei[0] == ei[1]]] = True
    a = a + torch.diag((~has_loop).double())
    dinv = a.sum(1).pow(-0.5)
    return dinv[:, None] * a * dinv[None, :]


def run(layer, inputs, ei, w, dtype):
    """Output and gradients (inputs, edge weight, parameters) for a random upstream gradient."""
    leaves = [t.clone().to(dtype).requires_grad_() for t in inputs]
    wl = None if w is None else w.clone().to(dtype).requires_grad_()
    out = layer(*leaves, ei) if wl is None else layer(*leaves, ei, wl)
    out.backward(torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=dtype))
    grads = [t.grad for t in leaves] + ([] if wl is None else [wl.grad])
    return out, grads, {n: p.grad for n, p in layer.named_parameters()}


def check_against(ours, theirs, inputs, ei, w, dtype):
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    ours, theirs = ours.to(dtype), theirs.to(dtype)
    theirs.load_state_dict(ours.state_dict())
    out_a, grads_a, params_a = run(ours, inputs, ei, w, dtype)
    out_b, grads_b, params_b = run(theirs, inputs, ei, w, dtype)
    torch.testing.assert_close(out_a, out_b, atol=tol, rtol=tol)
    for ga, gb in zip(grads_a, grads_b):
        torch.testing.assert_close(ga, gb, atol=tol, rtol=tol)
    for name, g in params_a.items():
        torch.testing.assert_close(g, params_b[name], atol=tol, rtol=tol, msg=f"gradient of {name}")


@pytest.fixture(scope="module")
def pyg_nn():
    return require("torch_geometric.nn", "torch_geometric is part of the [dev] extra")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("directed", [True, False], ids=["directed", "undirected"])
def test_appnp_matches_pyg(pyg_nn, dtype, weighted, directed):
    ei, w = graph(0, directed)
    x = torch.randn(N, 7, generator=torch.Generator().manual_seed(2))
    check_against(APPNP(K=6, alpha=0.15), pyg_nn.APPNP(K=6, alpha=0.15), [x], ei, w if weighted else None, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shared_weights", [True, False])
@pytest.mark.parametrize("directed", [True, False], ids=["directed", "undirected"])
def test_gcn2_conv_matches_pyg(pyg_nn, dtype, weighted, shared_weights, directed):
    ei, w = graph(3, directed)
    g = torch.Generator().manual_seed(4)
    x, x0 = torch.randn(N, 8, generator=g), torch.randn(N, 8, generator=g)
    torch.manual_seed(5)
    kwargs = dict(alpha=0.2, theta=0.5, layer=3, shared_weights=shared_weights)
    check_against(GCN2Conv(8, **kwargs), pyg_nn.GCN2Conv(8, **kwargs), [x, x0], ei, w if weighted else None, dtype)


@pytest.mark.parametrize("weighted", [False, True])
def test_appnp_dense_formula(weighted):
    ei, w = graph(6)
    w = w if weighted else None
    x = torch.randn(N, 5, dtype=torch.float64)
    a = dense_norm(ei, w)
    expected = x
    for _ in range(4):
        expected = 0.9 * a @ expected + 0.1 * x
    torch.testing.assert_close(APPNP(4, 0.1)(x, ei, w), expected, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("shared_weights", [True, False])
def test_gcn2_conv_dense_formula(shared_weights):
    ei, w = graph(7)
    g = torch.Generator().manual_seed(8)
    x, x0 = torch.randn(N, 6, generator=g, dtype=torch.float64), torch.randn(N, 6, generator=g, dtype=torch.float64)
    layer = GCN2Conv(6, alpha=0.1, theta=0.5, layer=4, shared_weights=shared_weights).double()
    beta = math.log(0.5 / 4 + 1)
    assert layer.beta == pytest.approx(beta)
    h, h0 = 0.9 * dense_norm(ei, w) @ x, 0.1 * x0
    eye = torch.eye(6, dtype=torch.float64)
    w1 = (1 - beta) * eye + beta * layer.weight1
    w2 = w1 if shared_weights else (1 - beta) * eye + beta * layer.weight2
    torch.testing.assert_close(layer(x, x0, ei, w), h @ w1 + h0 @ w2, atol=1e-12, rtol=1e-12)


def test_beta_is_one_without_theta_or_layer():
    assert GCN2Conv(4, alpha=0.1).beta == 1.0
    assert GCN2Conv(4, alpha=0.1, theta=0.5).beta == 1.0


@pytest.mark.parametrize("nodes", [0, 5])
def test_empty_graphs(nodes):
    ei = torch.empty(2, 0, dtype=torch.long)
    x = torch.randn(nodes, 4)
    out = APPNP(3, 0.1)(x, ei)
    assert out.shape == (nodes, 4)
    torch.testing.assert_close(out, x)  # no edges: only the (weight-1) self-loop, a fixed point
    conv = GCN2Conv(4, alpha=0.1, theta=0.5, layer=1)
    assert conv(x, x, ei).shape == (nodes, 4)


def test_appnp_edge_dropout():
    ei, _ = graph(9)
    x = torch.randn(N, 3)
    layer = APPNP(5, 0.1, dropout=0.5)
    layer.eval()
    torch.testing.assert_close(layer(x, ei), APPNP(5, 0.1)(x, ei))  # off in evaluation
    layer.train()
    torch.manual_seed(0)
    a = layer(x, ei)
    torch.manual_seed(1)
    assert not torch.allclose(a, layer(x, ei))  # a new mask per call
    # the expectation of one dropped step is the step itself (within 5 standard errors)
    one = APPNP(1, 0.1, dropout=0.5).train()
    samples = torch.stack([one(x, ei) for _ in range(2000)]).double()
    error = samples.std(0) / 2000 ** 0.5
    assert bool(((samples.mean(0) - APPNP(1, 0.1)(x, ei).double()).abs() <= 5 * error + 1e-6).all())
    # every edge and loop dropped: only the teleport term is left (PyG's test_appnp_dropout; old: refused)
    torch.testing.assert_close(APPNP(2, 0.1, dropout=1.0).train()(x, ei), 0.1 * x)


@pytest.mark.parametrize("model", [lambda: APPNPNet(6, 16, 3, K=4, edge_dropout=0.5),
                                   lambda: GCNII(6, 16, 3, num_layers=5)], ids=["appnp", "gcnii"])
def test_layerwise_inference_equals_forward(model):
    ei, _ = graph(10)
    adj = build_csr(ei, N)
    x = torch.randn(N, 6)
    torch.manual_seed(0)
    m = model().eval()
    expected = m(x, adj)
    for batch_size in (7, 64):
        torch.testing.assert_close(layerwise_inference(m, x, adj, batch_size=batch_size), expected,
                                   atol=1e-6, rtol=1e-6)


def test_forward_block_of_appnp_needs_the_whole_graph():
    ei, _ = graph(11)
    layer = APPNP(2, 0.1)
    block = layer.prepare(build_csr(ei, N), None, N)
    from gnnkit.nn.inference import row_block
    from gnnkit.nn.adjacency import Block

    part, _ = row_block(block.csr, 0, 5, compact=False)
    x = torch.randn(N, 3)
    with pytest.raises(ValueError, match="one step at a time"):
        layer.forward_block(Block(part, block.loop[:5]), (x, x), (x[:5], x[:5]))


def test_argument_errors():
    with pytest.raises(ValueError, match="K must be"):
        APPNP(-1, 0.1)
    with pytest.raises(ValueError, match="alpha"):
        APPNP(3, 1.5)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\]"):
        APPNP(3, 0.1, dropout=1.5)
    with pytest.raises(ValueError, match="layer is the 1-based depth"):
        GCN2Conv(4, 0.1, 0.5, layer=0)
    ei = torch.empty(2, 0, dtype=torch.long)
    with pytest.raises(ValueError, match="x_0 has 3 rows"):
        GCN2Conv(4, 0.1)(torch.randn(4, 4), torch.randn(3, 4), ei)


def test_reprs():
    assert repr(APPNP(10, 0.1)) == "APPNP(K=10, alpha=0.1)"
    assert repr(GCN2Conv(64, 0.1, 0.5, 1)) == f"GCN2Conv(64, alpha=0.1, beta={math.log(1.5)})"  # as PyG prints it
    assert repr(GCN2Conv(16, alpha=0.2)) == "GCN2Conv(16, alpha=0.2, beta=1.0)"
