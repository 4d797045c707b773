"""GCN's normalisation in separable form: D^-1/2 (A + L) D^-1/2 as row scalings
around the adjacency as given, and the fused product that uses it."""
import pytest
import torch

from gnnkit.nn import APPNP, GCNConv, LGConv
from gnnkit.ops import build_csr, spmm
from gnnkit.ops.norm import gcn_norm_factors
from gnnkit.ops.fused import symmetric_scaled_spmm


def dense_gcn(ei, w, n, fill=1.0, loops=True):
    """D^-1/2 (A + L) D^-1/2 in float64, existing loops keeping their weight."""
    a = torch.zeros(n, n, dtype=torch.float64)
    w = torch.ones(ei.size(1), dtype=torch.float64) if w is None else w.double()
    a.index_put_((ei[1], ei[0]), w, accumulate=True)
    if loops:
        diag = a.diagonal().clone()
        has = torch.zeros(n, dtype=torch.bool)
        has[ei[0][ei[0] == ei[1]]] = True
        a.diagonal().copy_(torch.where(has, diag, torch.full_like(diag, fill)))
    deg = a.sum(1)
    dinv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    return dinv[:, None] * a * dinv[None, :]


GRAPHS = {
    # no loops, unweighted: the CSR stays unweighted
    "plain": (torch.tensor([[0, 1, 2, 3, 3, 4], [1, 2, 0, 0, 1, 2]]), None),
    # a loop and a double loop on node 2, unweighted
    "loops": (torch.tensor([[0, 1, 2, 2, 2, 3, 1], [1, 2, 0, 2, 2, 0, 1]]), None),
    # weighted, with a loop of weight 0.5 and an isolated node 4
    "weighted": (torch.tensor([[0, 1, 2, 3, 3], [1, 2, 0, 3, 1]]), torch.tensor([2.0, 0.5, 1.5, 0.5, 3.0])),
}


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("fill", [1.0, 2.0])
def test_factors_rebuild_the_dense_normalisation(name, fill):
    ei, w = GRAPHS[name]
    n = 5
    csr = build_csr(ei, n, None if w is None else w.double())
    adj, loop, dinv = gcn_norm_factors(csr, fill_value=fill, dtype=torch.float64)
    if w is None:
        assert adj.value is None  # nothing edge-sized is made for an unweighted graph
    assert bool((adj.row() != adj.col).all())  # the loops left the structure
    a = adj.to_dense().double() if adj.value is not None else adj.with_value(torch.ones(adj.nnz, dtype=torch.float64)).to_dense()
    rebuilt = dinv[:, None] * (a + torch.diag(loop)) * dinv[None, :]
    torch.testing.assert_close(rebuilt, dense_gcn(ei, w, n, fill), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("name", GRAPHS)
def test_symmetric_scaled_spmm_value_and_gradient(name):
    ei, w = GRAPHS[name]
    n = 5
    csr = build_csr(ei, n, None if w is None else w.double())
    adj, loop, dinv = gcn_norm_factors(csr, dtype=torch.float64)
    x = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    expected = dense_gcn(ei, w, n)
    torch.testing.assert_close(symmetric_scaled_spmm(adj, x, dinv, loop), expected @ x, atol=1e-12, rtol=1e-12)
    torch.autograd.gradcheck(lambda t: symmetric_scaled_spmm(adj, t, dinv, loop), (x,))


def test_symmetric_scaled_spmm_refuses_a_trainable_scale():
    csr = build_csr(GRAPHS["plain"][0], 5)
    scale = torch.ones(5, requires_grad=True)
    with pytest.raises(ValueError, match="scale requires grad"):
        symmetric_scaled_spmm(csr, torch.randn(5, 2), scale)


@pytest.mark.parametrize("name", GRAPHS)
def test_gcn_with_trainable_weights_matches_dense_gradients(name):
    """Trainable edge weights take the composed (differentiable) scalings."""
    ei, w = GRAPHS[name]
    w = torch.rand(ei.size(1), dtype=torch.float64) + 0.1 if w is None else w.double()
    conv = GCNConv(3, 2).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    wa, wb = w.clone().requires_grad_(), w.clone().requires_grad_()
    conv(x, ei, wa).square().sum().backward()
    h = x @ conv.lin.weight.t()
    (dense_gcn(ei, wb, 5) @ h + conv.bias).square().sum().backward()
    torch.testing.assert_close(wa.grad, wb.grad, atol=1e-10, rtol=1e-10)


def test_lgconv_keeps_an_unweighted_graph_unweighted():
    ei = GRAPHS["loops"][0]
    layer = LGConv()
    block = layer.prepare(ei, None, 5, torch.float32)
    assert block.csr.value is None and block.scaled
    # ... and the scaled block equals its weights multiplied out
    x = torch.randn(5, 3)
    weighted = block.weighted()
    dense = weighted.csr.to_dense() + (0 if weighted.loop is None else torch.diag(weighted.loop))
    torch.testing.assert_close(layer.propagate(x, block), dense @ x, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("layer", [GCNConv(3, 3), APPNP(K=2, alpha=0.1)], ids=["gcn", "appnp"])
def test_gcn_normalisation_of_an_unweighted_graph_is_computed_once_per_structure(layer, monkeypatch):
    import gnnkit.nn.conv.gcn_conv as gcn_conv

    ei = GRAPHS["loops"][0]
    block = layer.prepare(ei, None, 5, torch.float32)
    assert not block.scaled  # the normalised weights, multiplied out once
    dense = dense_gcn(ei, torch.ones(ei.size(1), dtype=torch.float64), 5).float()
    x = torch.randn(5, 3)
    torch.testing.assert_close(layer.propagate(x, block), dense @ x, atol=1e-6, rtol=1e-5)
    # a second call (no cached=True) reuses them: nothing edge-sized is computed again
    monkeypatch.setattr(gcn_conv, "gcn_norm_factors", lambda *a, **k: pytest.fail("normalised again"))
    again = layer.prepare(ei, None, 5, torch.float32)
    assert again.csr.value is block.csr.value
    monkeypatch.undo()
    # a weighted graph of the same structure (sharing the CSR's cache) does not read them
    w = torch.full((ei.size(1),), 2.0)
    weighted = layer.prepare(ei, w, 5, torch.float32)
    torch.testing.assert_close(layer.propagate(x, weighted), dense_gcn(ei, w, 5).float() @ x, atol=1e-6, rtol=1e-5)


def test_cpu_product_rows_without_entries_are_zero_in_reused_memory():
    """The CPU product writes into uninitialised memory (beta = 0): rows
    without entries must still come out 0, never old contents."""
    ei = torch.tensor([[0, 1, 2], [0, 0, 1]])  # rows 2..199 have no entries
    csr = build_csr(ei, 200)
    for _ in range(5):
        garbage = torch.full((200, 16), float("nan"))
        del garbage  # the allocator hands this block to the product next
        out = spmm(csr, torch.ones(200, 16))
        assert torch.equal(out[2:], torch.zeros(198, 16))
        assert out[0].tolist() == [2.0] * 16 and out[1].tolist() == [1.0] * 16


def _dense_attention(a_src, a_dst, ei, n_dst, slope, edge_logits=None):
    """Per edge (in the given order): softmax over each target of LeakyReLU scores, [E, H]."""
    logits = a_src[ei[0]] + a_dst[ei[1]]
    if edge_logits is not None:
        logits = logits + edge_logits
    logits = torch.nn.functional.leaky_relu(logits, slope)
    out = torch.empty_like(logits)
    for t in range(n_dst):
        at = ei[1] == t
        if at.any():
            out[at] = torch.softmax(logits[at], dim=0)
    return out


def test_attention_softmax_matches_the_formula_and_its_gradient():
    from gnnkit.ops.fused import attention_softmax

    torch.manual_seed(0)
    ei = torch.tensor([[0, 1, 2, 3, 3, 1, 0], [1, 1, 0, 0, 2, 2, 2]])  # target 3 has no in-edges
    n_src, n_dst, heads = 4, 4, 3
    csr = build_csr(ei, n_dst, num_cols=n_src)
    a_src = torch.randn(n_src, heads, dtype=torch.float64, requires_grad=True)
    a_dst = torch.randn(n_dst, heads, dtype=torch.float64, requires_grad=True)
    e = torch.randn(ei.size(1), heads, dtype=torch.float64, requires_grad=True)
    e_csr = e.index_select(0, csr.perm)  # CSR order
    got = attention_softmax(a_src, a_dst, csr, 0.2, e_csr)
    assert got.shape == (heads, ei.size(1))
    expected = _dense_attention(a_src, a_dst, ei, n_dst, 0.2, e).index_select(0, csr.perm)
    torch.testing.assert_close(got.t(), expected, atol=1e-12, rtol=1e-12)
    torch.autograd.gradcheck(lambda s, d, x: attention_softmax(s, d, csr, 0.2, x.index_select(0, csr.perm)),
                             (a_src, a_dst, e))


def test_multi_head_spmm_equals_one_product_per_head_with_gradients():
    from gnnkit.ops.fused import multi_head_spmm

    torch.manual_seed(1)
    ei = torch.tensor([[0, 1, 2, 3, 3, 1, 0], [1, 1, 0, 0, 2, 2, 2]])
    csr = build_csr(ei, 4, num_cols=5)
    value = torch.rand(3, csr.nnz, dtype=torch.float64, requires_grad=True)
    x = torch.randn(5, 3, 2, dtype=torch.float64, requires_grad=True)
    out = multi_head_spmm(csr, value, x)
    for k in range(3):
        dense = csr.with_value(value[k].detach()).to_dense()
        torch.testing.assert_close(out[:, k], dense @ x[:, k].detach(), atol=1e-12, rtol=1e-12)
    torch.autograd.gradcheck(lambda v, t: multi_head_spmm(csr, v, t), (value, x))
    with pytest.raises(ValueError, match="expected value"):
        multi_head_spmm(csr, value[:, :3], x)


@pytest.mark.parametrize("x_grad", [False, True])
@pytest.mark.parametrize("widths", [(3, 8), (8, 8), (8, 3)])
def test_gcn_either_order_gives_the_same_values_and_gradients(x_grad, widths):
    """GCNConv aggregates first ((Â X) W) when that runs fewer product columns;
    the result and every gradient equal the transform-first Â (X W)."""
    torch.manual_seed(0)
    ei, _ = GRAPHS["loops"]
    conv = GCNConv(*widths).double()
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(5, widths[0], dtype=torch.float64, requires_grad=x_grad)
    out = conv(x, ei)
    grads = torch.autograd.grad(out.square().sum(), [conv.lin.weight, conv.bias] + ([x] if x_grad else []))
    expected = dense_gcn(ei, None, 5) @ (x @ conv.lin.weight.t()) + conv.bias
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-12)
    ref = torch.autograd.grad(expected.square().sum(), [conv.lin.weight, conv.bias] + ([x] if x_grad else []))
    for g, r in zip(grads, ref):
        torch.testing.assert_close(g, r, atol=1e-10, rtol=1e-10)
    block = conv.prepare(ei, None, 5, torch.float64)
    assert conv._aggregate_first(x, block) == (widths[0] * (2 if x_grad else 1) < widths[1] * 2)


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("loops", [True, False])
def test_split_self_loops_rebuilds_a_plus_l(name, loops):
    from gnnkit.ops.norm import split_self_loops

    ei, w = GRAPHS[name]
    csr = build_csr(ei, 5, None if w is None else w.double())
    adj, loop = split_self_loops(csr, loops, fill_value=2.0, dtype=torch.float64)
    a = torch.zeros(5, 5, dtype=torch.float64)
    a.index_put_((ei[1], ei[0]), torch.ones(ei.size(1), dtype=torch.float64) if w is None else w.double(),
                 accumulate=True)
    if loops:
        has = torch.zeros(5, dtype=torch.bool)
        has[ei[0][ei[0] == ei[1]]] = True
        a.diagonal().copy_(torch.where(has, a.diagonal(), torch.full((5,), 2.0, dtype=torch.float64)))
        assert bool((adj.row() != adj.col).all()) and (w is not None or adj.value is None)
    else:
        assert loop is None
    dense = (adj.to_dense().double() if adj.value is not None
             else adj.with_value(torch.ones(adj.nnz, dtype=torch.float64)).to_dense())
    torch.testing.assert_close(dense + (torch.diag(loop) if loop is not None else 0), a)
