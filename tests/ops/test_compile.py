"""``spmm`` and the sum/mean layers under ``torch.compile``: no graph breaks in
the hot path, the same numbers and gradients as eager.

Layers are given a prebuilt ``CSR`` (as a training loop does with
``graph.csr()``); the custom operator ``gnnkit::spmm`` is what keeps the sparse
product from breaking the graph. Kept small: compiling is slow on few cores.
"""
from __future__ import annotations

import pytest
import torch

from gnnkit.nn import APPNP, GATConv, GCNConv, GraphConv, LGConv, SAGEConv
from gnnkit.ops import build_csr, spmm
from gnnkit.ops.sparse import get_spmm_backend, set_spmm_backend


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def small_graph(n=16, e=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    return build_csr(ei, n, torch.rand(e, generator=g) + 0.1), torch.randn(n, 8, generator=g)


def test_custom_op_registrations_are_consistent():
    # fake (meta) kernel, autograd formula and schema agree with the real kernel
    csr, x = small_graph()
    rowptr, col = csr._kernel_indices()
    t_rowptr, t_col, t_perm = csr._kernel_indices_t()
    value = csr.value.clone().requires_grad_()
    x = x.requires_grad_()
    torch.library.opcheck(torch.ops.gnnkit.spmm.default,
                          (rowptr, col, value, x, t_rowptr, t_col, t_perm, csr.row()))
    torch.library.opcheck(torch.ops.gnnkit.sddmm.default, (csr.row(), col, torch.randn(16, 8), torch.randn(16, 8)))


def test_spmm_fullgraph_forward_and_backward():
    csr, x = small_graph()
    value = csr.value.clone().requires_grad_()
    x = x.requires_grad_()

    def f(value, x):
        return spmm(csr.with_value(value), x).relu().sum()

    f(value, x)  # builds the CSR's cached index tensors eagerly
    explained = torch._dynamo.explain(f)(value, x)
    assert explained.graph_break_count == 0, explained.break_reasons
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    loss = compiled(value, x)
    gv, gx = torch.autograd.grad(loss, (value, x))
    ref_loss = f(value, x)
    rv, rx = torch.autograd.grad(ref_loss, (value, x))
    torch.testing.assert_close(loss, ref_loss)
    torch.testing.assert_close(gv, rv)
    torch.testing.assert_close(gx, rx)


@pytest.mark.parametrize("make_layer", [
    lambda: GCNConv(8, 4, cached=True),
    lambda: GCNConv(8, 4, cached=False),
    lambda: GraphConv(8, 4),
    lambda: SAGEConv(8, 4),
    lambda: SAGEConv(8, 12),  # W after the aggregation
    lambda: LGConv(),
    lambda: GATConv(8, 4, heads=2),
    lambda: APPNP(K=2, alpha=0.1),
], ids=["gcn-cached", "gcn", "graph", "sage", "sage-wide", "lg", "gat", "appnp"])
def test_layer_has_no_graph_break(make_layer):
    csr, x = small_graph()
    layer = make_layer()
    x = x.requires_grad_()
    eager = layer(x, csr)  # first call fills the layer's and the CSR's caches
    explained = torch._dynamo.explain(layer)(x, csr)
    assert explained.graph_break_count == 0, explained.break_reasons
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")
    out = compiled(x, csr)
    torch.testing.assert_close(out, eager)
    (gx,) = torch.autograd.grad(out.square().sum(), x)
    (rx,) = torch.autograd.grad(layer(x, csr).square().sum(), x)
    torch.testing.assert_close(gx, rx)


@pytest.mark.parametrize("make_layer", [
    lambda: GCNConv(8, 4),
    lambda: SAGEConv(8, 4),
    lambda: GATConv(8, 4, heads=2),
    lambda: GraphConv(8, 4),
    lambda: APPNP(K=2, alpha=0.1),
], ids=["gcn", "sage", "gat", "graph", "appnp"])
def test_layer_given_edge_index_has_no_graph_break(make_layer):
    """A raw edge_index: the layer's cached CSR is found by the tensor's identity,
    so after one eager call (which builds it) the compiled call is one graph."""
    g = torch.Generator().manual_seed(0)
    ei, other = torch.randint(0, 16, (2, 50), generator=g), torch.randint(0, 16, (2, 60), generator=g)
    x = torch.randn(16, 8, generator=g, requires_grad=True)
    layer = make_layer()
    eager = layer(x, ei)
    explained = torch._dynamo.explain(layer)(x, ei)
    assert explained.graph_break_count == 0, explained.break_reasons
    compiled = torch.compile(layer, backend="aot_eager")
    torch.testing.assert_close(compiled(x, ei), eager)
    # another graph is not served the cached one (the compiled code is specialised on the tensor)
    torch.testing.assert_close(compiled(x, other), layer(x, other))
    torch.testing.assert_close(compiled(x, ei), eager)
    (gx,) = torch.autograd.grad(compiled(x, ei).square().sum(), x)
    (rx,) = torch.autograd.grad(layer(x, ei).square().sum(), x)
    torch.testing.assert_close(gx, rx)


def test_gcn_inductor_training_step_matches_eager():
    # One real inductor compile (C++ codegen on CPU) of forward + backward.
    csr, x = small_graph()
    torch.manual_seed(0)
    layer = GCNConv(8, 4, cached=True)
    layer(x, csr)
    compiled = torch.compile(layer, fullgraph=True)
    loss = compiled(x, csr).square().mean()
    loss.backward()
    grads = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    layer(x, csr).square().mean().backward()
    for g, p in zip(grads, layer.parameters()):
        torch.testing.assert_close(g, p.grad)


def test_backend_setting():
    previous = get_spmm_backend()
    try:
        assert set_spmm_backend("torch") == "torch"
        csr, x = small_graph()
        torch.testing.assert_close(spmm(csr, x), csr.to_dense() @ x)
        with pytest.raises(ValueError, match="unknown spmm backend"):
            set_spmm_backend("cusparse")
    finally:
        set_spmm_backend(previous)
