"""Each layer against PyTorch Geometric's layer with the same weights: outputs
and gradients (for x, edge weights and every parameter) within 1e-5 in fp32."""
import pytest
import torch

pyg_nn = pytest.importorskip("torch_geometric.nn", reason="torch_geometric is part of the [dev] extra")

from gnnkit.nn import GATConv, GCNConv, LGConv, SAGEConv  # noqa: E402

N = 40


def single_loop_graph(seed=0):
    # at most one loop per node (PyG's add_remaining_self_loops keeps one of several)
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N - 3, (2, 200), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    loops = torch.arange(0, N - 3, 4).repeat(2, 1)
    ei = torch.cat([ei, loops, ei[:, :15]], dim=1)  # loops and duplicate edges, 3 isolated nodes
    return ei, torch.rand(ei.size(1), generator=g) + 0.1


def compare(ours, theirs, x, ei, w=None, tol=1e-5):
    theirs.load_state_dict(ours.state_dict())
    for p in ours.parameters():
        if p.dim() == 1:  # zero-initialised biases would hide a missing bias term
            torch.nn.init.normal_(p)
    theirs.load_state_dict(ours.state_dict())
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    args_a, args_b = (xa, ei), (xb, ei)
    wa = wb = None
    if w is not None:
        wa, wb = w.clone().requires_grad_(), w.clone().requires_grad_()
        args_a, args_b = args_a + (wa,), args_b + (wb,)
    out_a, out_b = ours(*args_a), theirs(*args_b)
    torch.testing.assert_close(out_a, out_b, atol=tol, rtol=tol)
    grad = torch.randn_like(out_a)
    out_a.backward(grad)
    out_b.backward(grad)
    torch.testing.assert_close(xa.grad, xb.grad, atol=tol, rtol=tol)
    if w is not None:
        torch.testing.assert_close(wa.grad, wb.grad, atol=tol, rtol=tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, theirs_params[name].grad, atol=tol, rtol=tol, msg=f"gradient of {name}")


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("out_channels", [4, 24])
def test_gcn_conv(weighted, out_channels):
    ei, w = single_loop_graph()
    torch.manual_seed(0)
    compare(GCNConv(16, out_channels), pyg_nn.GCNConv(16, out_channels), torch.randn(N, 16), ei, w if weighted else None)


def test_gcn_conv_cached():
    ei, w = single_loop_graph()
    ours, theirs = GCNConv(16, 8, cached=True), pyg_nn.GCNConv(16, 8, cached=True)
    compare(ours, theirs, torch.randn(N, 16), ei)


@pytest.mark.parametrize("out_channels", [4, 24])
def test_sage_conv(out_channels):
    ei, _ = single_loop_graph(1)
    torch.manual_seed(1)
    compare(SAGEConv(16, out_channels), pyg_nn.SAGEConv(16, out_channels), torch.randn(N, 16), ei)


@pytest.mark.parametrize("concat", [True, False])
def test_gat_conv(concat):
    ei, _ = single_loop_graph(2)
    torch.manual_seed(2)
    compare(GATConv(16, 8, heads=4, concat=concat), pyg_nn.GATConv(16, 8, heads=4, concat=concat), torch.randn(N, 16), ei)


@pytest.mark.parametrize("weighted", [False, True])
def test_lg_conv(weighted):
    ei, w = single_loop_graph(3)
    compare(LGConv(), pyg_nn.LGConv(), torch.randn(N, 16), ei, w if weighted else None)
