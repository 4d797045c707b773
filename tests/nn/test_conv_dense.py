"""Every layer against its formula, computed with dense matrices in float64."""
import pytest
import torch
import torch.nn.functional as F

from gnnkit.nn import GATConv, GCNConv, GraphConv, LGConv, SAGEConv
from gnnkit.ops import build_csr

N = 30


def dense_adj(ei, w, include_loops=True):
    a = torch.zeros(N, N, dtype=torch.float64)
    w = torch.ones(ei.size(1), dtype=torch.float64) if w is None else w.double()
    keep = torch.ones(ei.size(1), dtype=torch.bool) if include_loops else ei[0] != ei[1]
    a.index_put_((ei[1, keep], ei[0, keep]), w[keep], accumulate=True)
    return a


def lin(x, layer):
    return x.double() @ layer.weight.double().t() + (0 if layer.bias is None else layer.bias.double())


@pytest.fixture(params=[False, True], ids=["unweighted", "weighted"])
def graph(request, make_graph):
    ei, w = make_graph(num_nodes=N, weighted=request.param)
    return ei, w, torch.randn(N, 6)


def test_graph_conv(graph):
    ei, w, x = graph
    for out_channels in (3, 9):  # W before (out < in) and after the aggregation
        layer = GraphConv(6, out_channels, activation=torch.tanh)
        torch.nn.init.normal_(layer.bias)
        root = lin(x, layer.lin_root)
        expected = torch.tanh(dense_adj(ei, w) @ lin(x, layer.lin) + layer.bias.double() + root)
        torch.testing.assert_close(layer(x, ei, w).double(), expected, atol=1e-5, rtol=1e-5)
        # isolated nodes (the last 3) get exactly act(b + W_root x_i)
        torch.testing.assert_close(layer(x, ei, w)[-1].double(), torch.tanh(layer.bias.double() + root[-1]),
                                   atol=1e-6, rtol=0)
        # without the root weight: the plain weighted-sum convolution
        plain = GraphConv(6, out_channels, activation=torch.tanh, root_weight=False)
        assert plain.lin_root is None
        torch.nn.init.normal_(plain.bias)
        expected = torch.tanh(dense_adj(ei, w) @ lin(x, plain.lin) + plain.bias.double())
        torch.testing.assert_close(plain(x, ei, w).double(), expected, atol=1e-5, rtol=1e-5)


def test_gcn_conv(graph):
    ei, w, x = graph
    layer = GCNConv(6, 4)
    torch.nn.init.normal_(layer.bias)
    a = dense_adj(ei, w, include_loops=False)
    loops = dense_adj(ei, w) - a  # existing loops (summed), replacing the added loop of weight 1
    diag = torch.where(loops.diag() > 0, loops.diag(), torch.ones(N, dtype=torch.float64))
    a_hat = a + torch.diag(diag)
    dinv = a_hat.sum(1).pow(-0.5)
    expected = (dinv[:, None] * a_hat * dinv[None, :]) @ lin(x, layer.lin) + layer.bias.double()
    torch.testing.assert_close(layer(x, ei, w).double(), expected, atol=1e-5, rtol=1e-5)


def test_gcn_conv_without_normalisation(graph):
    ei, w, x = graph
    layer = GCNConv(6, 4, normalize=False, add_self_loops=False, bias=False)
    torch.testing.assert_close(layer(x, ei, w).double(), dense_adj(ei, w) @ lin(x, layer.lin), atol=1e-5, rtol=1e-5)


def test_sage_conv(graph):
    ei, w, x = graph
    for out_channels in (3, 9):
        layer = SAGEConv(6, out_channels)
        a = dense_adj(ei, w)
        count = dense_adj(ei, None).sum(1).clamp(min=1)
        # isolated nodes aggregate to 0, so they get b + W_r x
        expected = (a / count[:, None]) @ (x.double() @ layer.lin_l.weight.double().t()) + layer.lin_l.bias.double() \
            + x.double() @ layer.lin_r.weight.double().t()
        torch.testing.assert_close(layer(x, ei, w).double(), expected, atol=1e-5, rtol=1e-5)


def test_lg_conv(graph):
    ei, w, x = graph
    a = dense_adj(ei, w)
    deg = a.sum(1)
    dinv = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    expected = (dinv[:, None] * a * dinv[None, :]) @ x.double()
    torch.testing.assert_close(LGConv()(x, ei, w).double(), expected, atol=1e-5, rtol=1e-5)


def dense_gat(layer, x, ei, concat, input_masks=None, feature_mask=None):
    """GAT by its formula, per target node, in float64. ``input_masks[k]``
    multiplies head k's input and ``feature_mask`` the transformed features
    before the aggregation (the reference implementation's dropout)."""
    heads, c = layer.heads, layer.out_channels
    weight = layer.lin.weight.double().view(heads, c, -1)
    xs = [x.double() * (1 if input_masks is None else input_masks[k].double()) for k in range(heads)]
    h = torch.stack([xs[k] @ weight[k].t() for k in range(heads)], dim=1)  # [N, H, C]
    s_src = (h * layer.att_src.double()).sum(-1)
    s_dst = (h * layer.att_dst.double()).sum(-1)
    values = h if feature_mask is None else h * feature_mask.double()
    # edge list with loops replaced by one loop per node; duplicates stay separate
    keep = ei[0] != ei[1]
    src = torch.cat([ei[0, keep], torch.arange(N)])
    dst = torch.cat([ei[1, keep], torch.arange(N)])
    out = torch.zeros(N, heads, c, dtype=torch.float64)
    for i in range(N):
        edges = (dst == i).nonzero().flatten()
        logits = F.leaky_relu(s_src[src[edges]] + s_dst[i], 0.2)  # [deg, H]
        alpha = torch.softmax(logits, dim=0)
        out[i] = (alpha[:, :, None] * values[src[edges]]).sum(0)
    return (out.reshape(N, -1) if concat else out.mean(1)) + layer.bias.double()


@pytest.mark.parametrize("concat", [True, False])
def test_gat_conv(make_graph, concat):
    ei, _ = make_graph(num_nodes=N, weighted=False)
    x = torch.randn(N, 6)
    layer = GATConv(6, 4, heads=3, concat=concat)
    torch.nn.init.normal_(layer.bias)
    torch.testing.assert_close(layer(x, ei).double(), dense_gat(layer, x, ei, concat), atol=1e-5, rtol=1e-5)


def test_gat_conv_reference_head_dropout(make_graph):
    """head_dropout: each head drops its own copy of the input, and the
    transformed features are dropped again before the aggregation (the
    attention scores see them undropped). Replaying the RNG gives the masks."""
    ei, _ = make_graph(num_nodes=N, weighted=False)
    x = torch.randn(N, 6)
    heads, c, p = 3, 4, 0.5
    layer = GATConv(6, c, heads=heads, head_dropout=p).train()
    torch.nn.init.normal_(layer.bias)
    torch.manual_seed(7)
    out = layer(x, ei)
    torch.manual_seed(7)
    input_masks = [F.dropout(torch.ones_like(x), p, training=True) for _ in range(heads)]
    feature_mask = F.dropout(torch.ones(N, heads, c), p, training=True)
    assert not torch.equal(input_masks[0], input_masks[1])  # one mask per head
    expected = dense_gat(layer, x, ei, True, input_masks, feature_mask)
    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-5)
    # in eval mode there is no dropout: the plain formula
    torch.testing.assert_close(layer.eval()(x, ei).double(), dense_gat(layer, x, ei, True), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="head_dropout must be in"):
        GATConv(6, c, head_dropout=1.0)


@pytest.mark.parametrize("layer_factory", [
    lambda: GraphConv(6, 4), lambda: GCNConv(6, 4), lambda: SAGEConv(6, 4), lambda: GATConv(6, 4, heads=2), LGConv,
])
def test_csr_input_equals_edge_index_input(graph, layer_factory):
    ei, w, x = graph
    layer = layer_factory()
    csr = build_csr(ei, N, None)
    torch.testing.assert_close(layer(x, csr), layer(x, ei), atol=1e-6, rtol=1e-6)


def test_graph_with_no_edges():
    x = torch.randn(5, 6)
    empty = torch.empty(2, 0, dtype=torch.long)
    gcn = GCNConv(6, 4)
    torch.nn.init.normal_(gcn.bias)
    # only the self-loop remains: Â = I
    torch.testing.assert_close(gcn(x, empty), gcn.lin(x) + gcn.bias)
    assert GATConv(6, 4)(x, empty).shape == (5, 4)
    assert torch.equal(LGConv()(x, empty), torch.zeros(5, 6))


@pytest.mark.parametrize("aggr", ["sum", "mean", "max", "min"])
def test_graph_conv_bipartite_aggregations(aggr):
    g = torch.Generator().manual_seed(3)
    src, dst = 9, 4
    ei = torch.stack([torch.randint(0, src, (25,), generator=g), torch.randint(0, dst - 1, (25,), generator=g)])
    x_src = torch.randn(src, 6, dtype=torch.float64)
    layer = GraphConv((6, 2), 3, aggr=aggr).double()  # the root term reads the targets' 2 features
    torch.nn.init.normal_(layer.bias)
    rows = []
    for i in range(dst):  # the last target has no in-edges: aggregates to 0
        msgs = x_src[ei[0, ei[1] == i]]
        reduce = {"sum": lambda m: m.sum(0), "mean": lambda m: m.mean(0), "max": lambda m: m.max(0).values,
                  "min": lambda m: m.min(0).values}[aggr]
        rows.append(reduce(msgs) if len(msgs) else torch.zeros(6, dtype=torch.float64))
    x_dst = torch.randn(dst, 2, dtype=torch.float64)
    expected = torch.stack(rows) @ layer.lin.weight.t() + layer.bias + x_dst @ layer.lin_root.weight.t()
    out = layer((x_src, x_dst), ei)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-12)
    csr = build_csr(ei, dst, num_cols=src)  # a rectangular [targets, sources] CSR works the same
    torch.testing.assert_close(layer((x_src, x_dst), csr), expected, atol=1e-12, rtol=1e-12)
    # PyG's (x_src, None): no root term; the targets counted by size=, the CSR's rows or the largest id
    no_root = expected - x_dst @ layer.lin_root.weight.t()
    torch.testing.assert_close(layer((x_src, None), ei, size=(src, dst)), no_root, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(layer((x_src, None), csr), no_root, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(layer((x_src, None), ei), no_root[: dst - 1], atol=1e-12, rtol=1e-12)
    with pytest.raises(ValueError, match="size=.* does not match"):
        layer((x_src, x_dst), ei, size=(src, dst + 1))
