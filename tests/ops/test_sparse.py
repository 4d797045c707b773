import pytest
import torch

from gnnkit.ops import CSR, build_csr, scatter, spmm


def dense_adjacency(edge_index, weight, n):
    a = torch.zeros(n, n, dtype=torch.float64)
    w = torch.ones(edge_index.size(1), dtype=torch.float64) if weight is None else weight.double()
    a.index_put_((edge_index[1], edge_index[0]), w, accumulate=True)  # A[i, j] for edge j -> i
    return a


@pytest.mark.parametrize("weighted", [False, True])
def test_spmm_equals_dense_product(make_graph, weighted):
    ei, w = make_graph(weighted=weighted)
    n = 30
    x = torch.randn(n, 5)
    out = spmm(build_csr(ei, n, w), x)
    torch.testing.assert_close(out.double(), dense_adjacency(ei, w, n) @ x.double(), atol=1e-5, rtol=1e-5)
    # and the same as gather + scatter over the edge list
    msg = x[ei[0]] * (1 if w is None else w[:, None])
    torch.testing.assert_close(out, scatter(msg, ei[1], n), atol=1e-5, rtol=1e-5)


def test_csr_structure_and_perm(make_graph):
    ei, w = make_graph()
    csr = build_csr(ei, 30, w)
    assert csr.rowptr[-1] == ei.size(1) and csr.nnz == ei.size(1)
    # perm maps CSR entries back to the original edges
    assert torch.equal(csr.col, ei[0, csr.perm])
    assert torch.equal(csr.row(), ei[1, csr.perm])
    assert torch.equal(csr.value, w[csr.perm])
    assert torch.all(csr.row()[1:] >= csr.row()[:-1])
    t = csr.t()
    torch.testing.assert_close(t.to_dense(), csr.to_dense().t())


def test_spmm_gradcheck(make_graph):
    ei, w = make_graph(num_nodes=12, num_edges=40)
    csr = build_csr(ei, 12, w.double())
    value = csr.value.clone().requires_grad_()
    x = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, x: spmm(csr.with_value(v), x), (value, x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_spmm_dtypes(make_graph, dtype):
    ei, w = make_graph()
    x = torch.randn(30, 4)
    ref = spmm(build_csr(ei, 30, w), x)
    out = spmm(build_csr(ei, 30, w.to(dtype)), x.to(dtype))
    assert out.dtype == dtype
    tol = 1e-6 if dtype == torch.float64 else 3e-2
    torch.testing.assert_close(out.float(), ref, atol=tol, rtol=tol)


def test_spmm_empty_graph_and_rectangular():
    csr = build_csr(torch.empty(2, 0, dtype=torch.long), 4)
    assert torch.equal(spmm(csr, torch.ones(4, 2)), torch.zeros(4, 2))
    ei = torch.tensor([[0, 1, 2], [0, 0, 1]])  # 3 sources, 2 targets
    out = spmm(build_csr(ei, 2, num_cols=3), torch.tensor([[1.0], [2.0], [4.0]]))
    assert out.flatten().tolist() == [3.0, 4.0]


def test_spmm_is_deterministic(make_graph):
    ei, w = make_graph(num_nodes=2000, num_edges=50000, isolated=0)
    csr = build_csr(ei, 2000, w)
    x = torch.randn(2000, 16)
    assert torch.equal(spmm(csr, x), spmm(csr, x))


def test_spmm_bad_input():
    csr = build_csr(torch.tensor([[0, 1], [1, 0]]), 2)
    with pytest.raises(ValueError, match="shape \\[2, F\\]"):
        spmm(csr, torch.ones(3, 2))
    with pytest.raises(ValueError, match="CSR"):
        spmm(torch.eye(2), torch.ones(2, 2))
    with pytest.raises(ValueError, match="rowptr"):
        CSR(torch.tensor([0, 1]), torch.tensor([0, 1]), None, torch.tensor([0, 1]), 1, 2)
    with pytest.raises(ValueError, match="int32 or int64"):
        CSR(torch.tensor([0.0, 1.0]), torch.tensor([0]), None, torch.tensor([0]), 1, 1)


def test_eager_path_and_operator_agree():
    # Eager calls skip the custom operator; both give the same product and gradients (x and values).
    from gnnkit.ops.sparse import _eager, spmm_parts

    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, 30, (2, 200), generator=g)
    csr = build_csr(ei, 30, torch.rand(200, generator=g, dtype=torch.float64))
    rowptr, col = csr._kernel_indices()
    t_rowptr, t_col, t_perm = csr._kernel_indices_t(with_perm=True)
    results = []
    for use_op in (False, True):
        x = torch.randn(30, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
        value = csr.value.clone().requires_grad_()
        args = (rowptr, col, value, x, t_rowptr, t_col, t_perm, csr.row())
        out = torch.ops.gnnkit.spmm(*args) if use_op else spmm_parts(*args)
        out.pow(2).sum().backward()
        results.append((out.detach(), x.grad, value.grad))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    assert _eager(torch.zeros(1)) and _eager(torch.nn.Parameter(torch.zeros(1)))


def test_torch_csr_and_csr_to_dense_round_trip_both_ways():
    from gnnkit.ops.sparse import csr_to_dense, torch_csr

    dense = torch.tensor([[0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 4.0, 0.0]])
    rowptr = torch.tensor([0, 2, 2, 4])
    col = torch.tensor([1, 3, 0, 2])
    c = torch_csr(rowptr, col, torch.tensor([2.0, 1.0, 3.0, 4.0]), (3, 4))
    assert torch.equal(csr_to_dense(c), dense)
    out = torch.full((4, 3), float("nan"))  # zeroed first: no NaN survives
    assert csr_to_dense(c, out, transpose=True) is out and torch.equal(out, dense.t())
