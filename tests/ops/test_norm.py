import pytest
import torch

from gnnkit.ops import build_csr, gcn_norm, gcn_norm_csr, softmax, spmm
from gnnkit_testing import require


def test_gcn_norm_matches_dense_formula(make_graph):
    ei, w = make_graph(self_loops=False)
    n = 30
    a = torch.zeros(n, n, dtype=torch.float64)
    a.index_put_((ei[1], ei[0]), w.double(), accumulate=True)
    a_hat = a + torch.eye(n, dtype=torch.float64)
    dinv = a_hat.sum(1).pow(-0.5)
    expected = dinv[:, None] * a_hat * dinv[None, :]
    ei2, w2 = gcn_norm(ei, w, n)
    got = torch.zeros(n, n, dtype=torch.float64)
    got.index_put_((ei2[1], ei2[0]), w2.double(), accumulate=True)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-6)
    norm, diag = gcn_norm_csr(build_csr(ei, n, w))
    torch.testing.assert_close(norm.to_dense().double() + torch.diag(diag.double()), expected, atol=1e-6, rtol=1e-6)


def test_gcn_norm_keeps_existing_loop_weight():
    ei = torch.tensor([[0, 1, 1], [1, 0, 1]])  # node 1 has a loop of weight 3
    w = torch.tensor([1.0, 1.0, 3.0])
    ei2, w2 = gcn_norm(ei, w, 2)
    loops = ei2[0] == ei2[1]
    # node 0: loop 1, degree 2; node 1: loop 3, degree 4
    assert sorted(w2[loops].tolist()) == pytest.approx([0.5, 0.75])
    norm, diag = gcn_norm_csr(build_csr(ei, 2, w))
    assert diag.tolist() == pytest.approx([0.5, 0.75])
    x = torch.randn(2, 3)
    dense = torch.zeros(2, 2)
    dense.index_put_((ei2[1], ei2[0]), w2, accumulate=True)
    torch.testing.assert_close(spmm(norm, x) + diag[:, None] * x, dense @ x)


def test_softmax_groups_sum_to_one_and_ptr_agrees():
    index = torch.tensor([0, 0, 1, 1, 1, 3])
    src = torch.randn(6, 2) * 50  # large values: must stay finite
    out = softmax(src, index, 4)
    assert torch.isfinite(out).all()
    sums = torch.zeros(4, 2).index_add_(0, index, out)
    torch.testing.assert_close(sums[[0, 1, 3]], torch.ones(3, 2))
    ptr = torch.tensor([0, 2, 5, 5, 6])
    torch.testing.assert_close(softmax(src, ptr=ptr), out)
    expected = torch.softmax(src[2:5], dim=0)
    torch.testing.assert_close(out[2:5], expected)


def test_softmax_gradcheck():
    index = torch.tensor([0, 0, 1, 1, 1, 2])
    src = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: softmax(s, index, 3), (src,))
    ptr = torch.tensor([0, 2, 5, 6])
    assert torch.autograd.gradcheck(lambda s: softmax(s, ptr=ptr), (src,))


def test_softmax_and_degree_take_pygs_argument_order():
    pyg = require("torch_geometric")
    from gnnkit.ops.edges import degree

    g = torch.Generator().manual_seed(0)
    src = torch.randn(3, 6, 2, generator=g, dtype=torch.float64)
    index, ptr = torch.tensor([0, 0, 1, 1, 1, 3]), torch.tensor([0, 2, 5, 5, 6])
    U = pyg.utils
    torch.testing.assert_close(softmax(src, index, dim=1), U.softmax(src, index, dim=1))
    torch.testing.assert_close(softmax(src, None, ptr, dim=-2), U.softmax(src, None, ptr, dim=-2))
    torch.testing.assert_close(softmax(src[0], index, None, 5), U.softmax(src[0], index, None, 5))
    # gnnkit's former order (src, index, num_nodes, ptr) still means the same
    torch.testing.assert_close(softmax(src[0], index, 5), U.softmax(src[0], index, None, 5))
    torch.testing.assert_close(softmax(src[0], None, None, ptr), U.softmax(src[0], None, ptr))
    assert torch.equal(degree(index, 5, torch.long), U.degree(index, 5, torch.long))
    assert degree(index, 5, torch.long).dtype == torch.long
