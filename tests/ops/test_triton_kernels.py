"""The Triton SpMM / SDDMM kernels against scatter and dense references.

Without a GPU the kernels run in triton's CPU interpreter (``TRITON_INTERPRET=1``
is set here, before the kernels are first imported); with CUDA they run for
real. triton is in the ``[dev]`` extra, so these tests run in CI: a missing
triton is a failure, not a skip.
"""
from __future__ import annotations

import importlib
import os
import warnings

import pytest
import torch

if not torch.cuda.is_available():
    os.environ["TRITON_INTERPRET"] = "1"  # must precede the kernels' import

import gnnkit.ops.sparse as sparse
from gnnkit.ops import build_csr, scatter, spmm
from gnnkit.ops import triton as triton_ops

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture(scope="module", autouse=True)
def triton_backend():
    assert triton_ops.is_available(), "triton is missing: `pip install -e .[dev]` installs it"
    if DEVICE.type == "cpu" and not triton_ops.interpreted():
        # The kernels were imported earlier in this process without the
        # interpreter: re-decorate them now that TRITON_INTERPRET is set.
        importlib.reload(triton_ops._kernels())
    assert triton_ops.unsupported_reason(DEVICE, torch.float32) is None
    previous = sparse.get_spmm_backend()
    sparse.set_spmm_backend("triton")
    yield
    sparse.set_spmm_backend(previous)


def skewed_graph(num_nodes=24, num_edges=90, hub=3, hub_degree=70, empty=(5, 11), seed=0):
    """Random edges, one hub row with ``hub_degree`` extra entries, and rows in
    ``empty`` that receive no edge."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, num_nodes, (num_edges + hub_degree,), generator=g)
    dst = torch.randint(0, num_nodes, (num_edges + hub_degree,), generator=g)
    dst[num_edges:] = hub
    for r in empty:
        dst[dst == r] = (r + 1) % num_nodes
    w = torch.rand(src.numel(), generator=g) + 0.1
    return torch.stack([src, dst]), w


def reference(ei, w, x, n):
    """``out[i] = Σ_j e_ij x[j]`` by gather + scatter, in float64."""
    msg = x.double()[ei[0]] * (1.0 if w is None else w.double()[:, None])
    return scatter(msg, ei[1], n)


@pytest.mark.parametrize("long_row", [8, 1000])  # hub row chunked / hub row in a block
@pytest.mark.parametrize("weighted", [True, False])
def test_spmm_kernel_matches_scatter(long_row, weighted):
    n = 24
    ei, w = skewed_graph()
    w = w if weighted else None
    csr = build_csr(ei, n, w).to(DEVICE)
    x = torch.randn(n, 37, device=DEVICE)  # 37: a ragged feature tile
    plan = triton_ops.build_plan(csr.rowptr, block_rows=4, long_row=long_row)
    assert (plan.num_long > 0) == (long_row == 8)
    out = triton_ops.spmm(csr.rowptr, csr.col, csr.value, x, n, plan=plan)
    torch.testing.assert_close(out.double().cpu(), reference(ei, w, x.cpu(), n), atol=1e-5, rtol=1e-5)
    assert torch.all(out[[5, 11]] == 0)  # empty rows are written, as zeros


def test_plan_splits_a_single_huge_row():
    # One row holds every entry: it must be cut into chunks, not left to one program.
    n, deg = 6, 150
    ei = torch.stack([torch.arange(deg) % n, torch.full((deg,), 2)])
    csr = build_csr(ei, n, torch.rand(deg)).to(DEVICE)
    plan = triton_ops.build_plan(csr.rowptr, block_rows=2, long_row=32)
    assert plan.long_rows.tolist() == [2] and plan.num_chunks == 5  # ceil(150 / 32)
    assert plan.chunk_start.tolist() == [0, 32, 64, 96, 128] and plan.chunk_end[-1].item() == deg
    assert sorted(plan.row_order.tolist()) == [0, 1, 3, 4, 5]
    x = torch.randn(n, 5, device=DEVICE)
    out = triton_ops.spmm(csr.rowptr, csr.col, csr.value, x, n, plan=plan)
    dense = csr.to_dense().double() @ x.double()
    torch.testing.assert_close(out.double(), dense, atol=1e-5, rtol=1e-5)
    assert torch.count_nonzero(out.sum(1)).item() == 1


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_accumulates_in_fp32(dtype):
    # Many small terms: summed in half precision they would lose most digits.
    n, deg = 4, 600
    ei = torch.stack([torch.zeros(deg, dtype=torch.long), torch.zeros(deg, dtype=torch.long)])
    csr = build_csr(ei, n, torch.full((deg,), 1.0, dtype=dtype)).to(DEVICE)
    x = torch.full((n, 3), 1.0, dtype=dtype, device=DEVICE)
    x[0] = 1.0 + 2.0 ** -7  # exact in bf16 and fp16
    out = spmm(csr, x)
    assert out.dtype == dtype
    exact = deg * (1.0 + 2.0 ** -7)
    assert abs(out[0, 0].item() - exact) <= exact * 2.0 ** -7  # one output rounding, not 600
    ei2, w2 = skewed_graph(seed=1)
    csr2 = build_csr(ei2, 24, w2.to(dtype)).to(DEVICE)
    x2 = torch.randn(24, 16, device=DEVICE).to(dtype)
    ref = reference(ei2, w2.to(dtype).float(), x2.float().cpu(), 24)  # same rounded inputs, exact sums
    torch.testing.assert_close(spmm(csr2, x2).double().cpu(), ref, atol=0, rtol=2.0 ** -7 if dtype == torch.bfloat16 else 2.0 ** -10)


def test_spmm_gradients_through_triton():
    n = 24
    ei, w = skewed_graph()
    csr = build_csr(ei, n, w).to(DEVICE)
    value = csr.value.clone().requires_grad_()
    x = torch.randn(n, 6, device=DEVICE, requires_grad=True)
    grad = torch.randn(n, 6, device=DEVICE)
    spmm(csr.with_value(value), x).backward(grad)
    value64 = value.detach().double().requires_grad_()
    x64 = x.detach().double().requires_grad_()
    dense = torch.zeros(n, n, dtype=torch.float64, device=DEVICE)
    dense = dense.index_put((csr.row(), csr.col), value64, accumulate=True)
    (dense @ x64).backward(grad.double())
    torch.testing.assert_close(x.grad.double(), x64.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(value.grad.double(), value64.grad, atol=1e-5, rtol=1e-5)


def test_sddmm_kernel():
    g = torch.Generator().manual_seed(2)
    row = torch.randint(0, 9, (50,), generator=g)
    col = torch.randint(0, 7, (50,), generator=g)
    a, b = torch.randn(9, 70, generator=g), torch.randn(7, 70, generator=g)  # 70: two feature tiles
    out = triton_ops.sddmm(row.to(DEVICE), col.to(DEVICE), a.to(DEVICE), b.to(DEVICE))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.cpu(), (a[row] * b[col]).sum(1), atol=1e-5, rtol=1e-5)


def test_spmm_is_deterministic_and_int32_indices_work():
    ei, w = skewed_graph(seed=3)
    csr = build_csr(ei, 24, w).to(DEVICE)
    x = torch.randn(24, 9, device=DEVICE)
    rowptr, col = csr._kernel_indices()
    assert rowptr.dtype == torch.int32
    plan = triton_ops.build_plan(rowptr, block_rows=4, long_row=8)
    runs = [triton_ops.spmm(rowptr, col, csr.value, x, 24, plan=plan) for _ in range(2)]
    assert torch.equal(runs[0], runs[1])
    torch.testing.assert_close(runs[0], spmm(csr, x))


def test_unsupported_dtype_falls_back_with_one_warning():
    ei, w = skewed_graph()
    csr = build_csr(ei, 24, w.double()).to(DEVICE)
    x = torch.randn(24, 4, dtype=torch.float64, device=DEVICE)
    sparse._FALLBACK_WARNED.clear()
    with pytest.warns(UserWarning, match="float64"):
        out = spmm(csr, x)
    torch.testing.assert_close(out.cpu(), reference(ei, w, x.cpu(), 24))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second call is silent
        spmm(csr, x)
