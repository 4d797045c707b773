"""max / min aggregation through torch's reducing CSR product (CPU): the same
outputs and gradients as the per-edge gather + scatter it replaces."""
import pytest
import torch

from gnnkit.nn import GraphConv, SAGEConv

N = 30


class PerEdge(SAGEConv):
    """The same layer forced onto the per-edge path (an overridden aggregate)."""

    def aggregate(self, messages, index, num_nodes):
        return super().aggregate(messages, index, num_nodes)


def graph():
    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, N - 3, (2, 120), generator=g)
    return torch.cat([ei, ei[:, :20], torch.arange(5).repeat(2, 1)], dim=1)  # multi-edges, loops, isolated nodes


@pytest.mark.parametrize("aggr", ["max", "min"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_equals_per_edge(aggr, dtype, monkeypatch):
    ei = graph()
    torch.manual_seed(0)
    fused, per_edge = SAGEConv(6, 4, aggr=aggr).to(dtype), PerEdge(6, 4, aggr=aggr).to(dtype)
    per_edge.load_state_dict(fused.state_dict())
    calls = []
    real = torch.sparse.mm
    monkeypatch.setattr(torch.sparse, "mm", lambda *a, **k: calls.append(k.get("reduce")) or real(*a, **k))
    xa = torch.randn(N, 6, dtype=dtype, requires_grad=True)
    xb = xa.detach().clone().requires_grad_()
    out_a, out_b = fused(xa, ei), per_edge(xb, ei)
    assert calls == ["amax" if aggr == "max" else "amin"]
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(out_a, out_b, atol=tol, rtol=tol)
    grad = torch.randn_like(out_a)
    out_a.backward(grad)
    out_b.backward(grad)
    torch.testing.assert_close(xa.grad, xb.grad, atol=tol, rtol=tol)
    for (name, p), q in zip(fused.named_parameters(), per_edge.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=tol, rtol=tol, msg=name)


class PerEdgeGraphConv(GraphConv):
    def aggregate(self, messages, index, num_nodes):
        return super().aggregate(messages, index, num_nodes)


@pytest.mark.parametrize("trainable", [False, True])
def test_edge_weights(trainable):
    """Weights are part of the message (``max_j e_ij x_j``); weights that need a
    gradient take the per-edge path (torch's product returns value gradients
    per coalesced entry, which multi-edges break)."""
    ei = graph()
    torch.manual_seed(1)
    layer, reference = GraphConv(6, 4, aggr="max").double(), PerEdgeGraphConv(6, 4, aggr="max").double()
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(N, 6, dtype=torch.float64)
    w = torch.rand(ei.size(1), dtype=torch.float64) + 0.1
    wa, wb = w.clone().requires_grad_(trainable), w.clone().requires_grad_(trainable)
    out_a, out_b = layer(x, ei, wa), reference(x, ei, wb)
    torch.testing.assert_close(out_a, out_b, atol=1e-12, rtol=1e-12)
    if trainable:
        out_a.sum().backward()
        out_b.sum().backward()
        torch.testing.assert_close(wa.grad, wb.grad, atol=1e-12, rtol=1e-12)


def test_empty_graph():
    out = SAGEConv(6, 4, aggr="max")(torch.randn(4, 6), torch.empty(2, 0, dtype=torch.long))
    assert out.shape == (4, 4)
