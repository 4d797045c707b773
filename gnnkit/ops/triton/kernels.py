"""Triton kernels for the CSR product and the sampled dense–dense product.

Imported only by ``gnnkit.ops.triton`` when a kernel is first launched, so
gnnkit imports and runs without triton installed. Under ``TRITON_INTERPRET=1``
(set before this module is imported) the kernels run on CPU tensors in
triton's interpreter, which is how CI checks them without a GPU.

All kernels load indices as int64 before forming addresses (``col · F`` can
pass 2³¹ on large graphs), accumulate in fp32 whatever the input dtype, and
write every output element exactly once: no atomics, so results are
bit-identical run to run.
"""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _gather_rows(col, value, x, e, mask_e, offs_f, mask_f, F, HAS_VALUE: tl.constexpr):
    # Entries ``e`` (masked by ``mask_e``): the rows ``x[col[e]]`` on the
    # feature tile ``offs_f``, in fp32, times ``value[e]`` when there are values.
    c = tl.load(col + e, mask=mask_e, other=0).to(tl.int64)
    xv = tl.load(x + c[:, None] * F + offs_f[None, :], mask=mask_e[:, None] & mask_f[None, :], other=0.0)
    xv = xv.to(tl.float32)
    if HAS_VALUE:
        v = tl.load(value + e, mask=mask_e, other=0.0).to(tl.float32)
        xv = xv * v[:, None]
    return xv


@triton.jit
def spmm_rows_kernel(
    rowptr, col, value, x, out, row_order, block_degree, num_short, F,
    HAS_VALUE: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_F: tl.constexpr,
):
    # One program per block of BLOCK_R rows × one BLOCK_F tile of features.
    # Rows come in order of degree, so the rows of a block have (nearly) the
    # same degree and the loop over their entries wastes few lanes.
    pid_r = tl.program_id(0)
    pid_f = tl.program_id(1)
    offs_r = pid_r * BLOCK_R + tl.arange(0, BLOCK_R)
    mask_r = offs_r < num_short
    rows = tl.load(row_order + offs_r, mask=mask_r, other=0).to(tl.int64)
    start = tl.load(rowptr + rows, mask=mask_r, other=0).to(tl.int64)
    end = tl.load(rowptr + rows + 1, mask=mask_r, other=0).to(tl.int64)
    end = tl.where(mask_r, end, start)
    offs_f = pid_f * BLOCK_F + tl.arange(0, BLOCK_F)
    mask_f = offs_f < F
    acc = tl.zeros((BLOCK_R, BLOCK_F), dtype=tl.float32)
    max_degree = tl.load(block_degree + pid_r)
    for k in range(0, max_degree):
        e = start + k
        acc += _gather_rows(col, value, x, e, e < end, offs_f, mask_f, F, HAS_VALUE)
    tl.store(out + rows[:, None] * F + offs_f[None, :], acc.to(out.dtype.element_ty),
             mask=mask_r[:, None] & mask_f[None, :])


@triton.jit
def spmm_chunks_kernel(
    col, value, x, partial, chunk_start, chunk_end, F,
    HAS_VALUE: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr,
):
    # One program per chunk of a long row × one feature tile: the partial sum
    # of that chunk's entries, in fp32, to ``partial[chunk]``.
    pid_c = tl.program_id(0)
    pid_f = tl.program_id(1)
    start = tl.load(chunk_start + pid_c).to(tl.int64)
    end = tl.load(chunk_end + pid_c).to(tl.int64)
    offs_f = pid_f * BLOCK_F + tl.arange(0, BLOCK_F)
    mask_f = offs_f < F
    acc = tl.zeros((BLOCK_E, BLOCK_F), dtype=tl.float32)
    for e0 in range(start, end, BLOCK_E):
        e = e0 + tl.arange(0, BLOCK_E)
        acc += _gather_rows(col, value, x, e, e < end, offs_f, mask_f, F, HAS_VALUE)
    tl.store(partial + pid_c.to(tl.int64) * F + offs_f, tl.sum(acc, axis=0), mask=mask_f)


@triton.jit
def spmm_combine_kernel(
    partial, out, long_rows, long_chunk_ptr, F, BLOCK_F: tl.constexpr,
):
    # One program per long row × feature tile: its chunks' partial sums, added
    # in chunk order (a fixed order, hence deterministic).
    pid = tl.program_id(0)
    pid_f = tl.program_id(1)
    r = tl.load(long_rows + pid).to(tl.int64)
    c0 = tl.load(long_chunk_ptr + pid).to(tl.int64)
    c1 = tl.load(long_chunk_ptr + pid + 1).to(tl.int64)
    offs_f = pid_f * BLOCK_F + tl.arange(0, BLOCK_F)
    mask_f = offs_f < F
    acc = tl.zeros((BLOCK_F,), dtype=tl.float32)
    for c in range(c0, c1):
        acc += tl.load(partial + c * F + offs_f, mask=mask_f, other=0.0)
    tl.store(out + r * F + offs_f, acc.to(out.dtype.element_ty), mask=mask_f)


@triton.jit
def sddmm_kernel(row, col, a, b, out, nnz, F, BLOCK_E: tl.constexpr, BLOCK_F: tl.constexpr):
    # out[k] = <a[row[k]], b[col[k]]> for a block of BLOCK_E entries, the
    # feature dimension walked in BLOCK_F tiles, fp32 accumulation.
    pid = tl.program_id(0)
    e = pid.to(tl.int64) * BLOCK_E + tl.arange(0, BLOCK_E)
    mask_e = e < nnz
    r = tl.load(row + e, mask=mask_e, other=0).to(tl.int64)
    c = tl.load(col + e, mask=mask_e, other=0).to(tl.int64)
    acc = tl.zeros((BLOCK_E, BLOCK_F), dtype=tl.float32)
    for f0 in range(0, F, BLOCK_F):
        f = f0 + tl.arange(0, BLOCK_F)
        m = mask_e[:, None] & (f < F)[None, :]
        av = tl.load(a + r[:, None] * F + f[None, :], mask=m, other=0.0).to(tl.float32)
        bv = tl.load(b + c[:, None] * F + f[None, :], mask=m, other=0.0).to(tl.float32)
        acc += av * bv
    tl.store(out + e, tl.sum(acc, axis=1), mask=mask_e)
