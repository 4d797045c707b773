"""RGCNConv against the dense per-relation formula and against PyG's RGCNConv
with the same weights (outputs and gradients)."""
from __future__ import annotations

import pytest
import torch

from gnnkit.nn.conv.rgcn_conv import RGCNConv
from gnnkit_testing import require

N, R = 12, 4


def typed_graph(seed=0, edges=60):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N - 2, (2, edges), generator=g)  # the last two nodes receive nothing
    et = torch.randint(0, R - 1, (edges,), generator=g)  # relation R-1 has no edge
    ei = torch.cat([ei, ei[:, :5]], 1)  # duplicate edges count twice
    return ei, torch.cat([et, et[:5]])


def dense_reference(conv, x, ei, et, aggr):
    out = x @ conv.root + conv.bias
    for r in range(R):
        a = torch.zeros(N, N)
        m = et == r
        a.index_put_((ei[1, m], ei[0, m]), torch.ones(int(m.sum())), accumulate=True)  # A_r[i, j] = #edges j->i
        if aggr == "mean":
            a = a / a.sum(1, keepdim=True).clamp(min=1)
        w = conv.relation_weight(r)
        if conv.num_blocks:
            w = torch.block_diag(*w)
        out = out + a @ x @ w
    return out


# 60 edges: more than N * R = 48, the transform-first path (one sparse product);
# 20 edges: fewer, the per-relation messages
PATHS = pytest.mark.parametrize("edges", [60, 20], ids=["transform-first", "per-relation"])


@PATHS
@pytest.mark.parametrize("decomposition", [{}, {"num_bases": 3}, {"num_blocks": 2}])
@pytest.mark.parametrize("aggr", ["mean", "sum"])
def test_dense_formula(decomposition, aggr, edges):
    torch.manual_seed(0)
    conv = RGCNConv(6, 4, R, aggr=aggr, **decomposition)
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(N, 6)
    ei, et = typed_graph(edges=edges)
    assert torch.allclose(conv(x, ei, et), dense_reference(conv, x, ei, et, aggr), atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match="not both"):
        RGCNConv(4, 4, 2, num_bases=2, num_blocks=2)
    with pytest.raises(ValueError, match="num_blocks=3 must divide"):
        RGCNConv(4, 6, 2, num_blocks=3)
    conv = RGCNConv(4, 4, 2)
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"relation id 2 is out of range; expected 0 <= edge_type < num_relations = 2"):
        conv(torch.randn(2, 4), ei, torch.tensor([0, 2]))
    with pytest.raises(ValueError, match=r"x must be \[N, 4\]"):
        conv(torch.randn(2, 3), ei, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="one relation per edge"):
        conv(torch.randn(2, 4), ei, torch.tensor([0]))


@PATHS
@pytest.mark.parametrize("decomposition", [{}, {"num_bases": 3}, {"num_blocks": 2}])
def test_against_pyg(decomposition, edges):
    pyg_nn = require("torch_geometric.nn")
    torch.manual_seed(1)
    ours = RGCNConv(6, 4, R, **decomposition)
    theirs = pyg_nn.RGCNConv(6, 4, R, **decomposition)
    torch.nn.init.normal_(ours.bias)
    theirs.load_state_dict(ours.state_dict())
    ei, et = typed_graph(seed=2, edges=edges)
    x = torch.randn(N, 6)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a, out_b = ours(xa, ei, et), theirs(xb, ei, et)
    assert torch.allclose(out_a, out_b, atol=1e-5)
    g = torch.randn_like(out_a)
    out_a.backward(g)
    out_b.backward(g)
    assert torch.allclose(xa.grad, xb.grad, atol=1e-5)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert torch.allclose(p.grad, theirs_params[name].grad, atol=1e-5), name


@PATHS
def test_float64_is_exact(edges):
    torch.manual_seed(0)
    conv = RGCNConv(6, 4, R).double()
    x = torch.randn(N, 6, dtype=torch.float64)
    ei, et = typed_graph(edges=edges)
    ref = x @ conv.root + conv.bias
    for r in range(R):
        a = torch.zeros(N, N, dtype=torch.float64)
        m = et == r
        a.index_put_((ei[1, m], ei[0, m]), torch.ones(int(m.sum()), dtype=torch.float64), accumulate=True)
        ref = ref + (a / a.sum(1, keepdim=True).clamp(min=1)) @ x @ conv.relation_weight(r)
    torch.testing.assert_close(conv(x, ei, et), ref, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("num_edges", [30, 400])  # per-relation path, and all W_r h_j at once
@pytest.mark.parametrize("num_bases", [None, 2])
def test_featureless_ids_as_x_match_pyg_and_the_one_hot_input(num_edges, num_bases):
    """PyG's featureless RGCN: x = None (node i is entity i) or integer ids;
    the same as feeding the one-hot rows, without building them."""
    pyg_nn = require("torch_geometric.nn")
    n, r = 12, 3
    g = torch.Generator().manual_seed(num_edges)
    ei, et = torch.randint(0, n, (2, num_edges), generator=g), torch.randint(0, r, (num_edges,), generator=g)
    ours, theirs = RGCNConv(n, 5, r, num_bases=num_bases), pyg_nn.RGCNConv(n, 5, r, num_bases=num_bases)
    torch.nn.init.normal_(ours.bias)
    theirs.load_state_dict(ours.state_dict())
    ids = torch.randint(0, n, (n,), generator=g)
    for x in (None, ids):
        out = ours(x, ei, et)
        torch.testing.assert_close(out, theirs(x, ei, et), atol=1e-5, rtol=1e-5)
        one_hot = torch.eye(n)[torch.arange(n) if x is None else x]
        torch.testing.assert_close(out, ours(one_hot, ei, et), atol=1e-5, rtol=1e-5)
    out.sum().backward()  # the weights get their gradient through the row reads
    assert ours.weight.grad is not None and ours.root.grad is not None


def test_featureless_inputs_that_cannot_work_are_clear_errors():
    ei, et = torch.tensor([[0, 1], [1, 2]]), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="ids in 0..3"):
        RGCNConv(4, 2, 2)(torch.tensor([0, 1, 7]), ei, et)
    with pytest.raises(ValueError, match="num_blocks"):
        RGCNConv(4, 2, 2, num_blocks=2)(None, ei, et)
    with pytest.raises(ValueError, match="bipartite input"):
        RGCNConv((4, 16), 8, 2)
    with pytest.raises(ValueError, match="lazy -1"):
        RGCNConv(-1, 8, 2)


@pytest.mark.parametrize("decomposition", [{}, {"num_bases": 2}, {"num_blocks": 2}], ids=["full", "bases", "blocks"])
def test_zero_nodes_give_an_empty_output(decomposition):
    conv = RGCNConv(4, 8, R, **decomposition)
    out = conv(torch.randn(0, 4, requires_grad=True), torch.empty(2, 0, dtype=torch.long),
               torch.empty(0, dtype=torch.long))
    assert out.shape == (0, 8)
    out.sum().backward()  # and a backward through it, as PyG's layer allows
