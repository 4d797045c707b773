"""CSR SpMM and SDDMM as Triton kernels, with degree-aware scheduling.

``spmm(rowptr, col, value, x, num_rows)`` computes ``out[i] = Σ_j e_ij · x[j]``
for a CSR given by parts; ``sddmm(row, col, a, b)`` computes
``out[k] = <a[row[k]], b[col[k]]>``. Both accumulate in fp32 and use no
atomics, so they are deterministic. ``gnnkit.ops.sparse`` calls them for CUDA
tensors; this module only launches kernels and plans the work.

Scheduling. Rows are split once per sparsity pattern (the *plan*, cached per
``rowptr`` tensor):

* short rows (``degree ≤ long_row``) are sorted by degree and handled
  ``BLOCK_R`` at a time by one program, which loops over the entries of its
  rows in lock-step — rows of a block have nearly the same degree, so few
  lanes idle;
* long rows are cut into chunks of ``long_row`` entries; one program sums a
  chunk into an fp32 buffer, and a second pass adds each row's chunks in
  order. A few rows of degree 10⁵ therefore spread over many programs instead
  of serialising the kernel behind one.

triton itself is imported on first use only: without it (or without a GPU and
outside ``TRITON_INTERPRET=1``) ``unsupported_reason`` says why and
``gnnkit.ops.sparse`` stays on the torch path.
"""
from __future__ import annotations

import importlib.util
import weakref
from dataclasses import dataclass

import torch
from torch import Tensor

# Rows per program in the short-row kernel, and the entry count beyond which a
# row is chunked (also the chunk length).
BLOCK_R = 16
LONG_ROW = 256
SUPPORTED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def is_available() -> bool:
    """Whether the ``triton`` package is installed (it is not imported here)."""
    return importlib.util.find_spec("triton") is not None


def _kernels():
    from gnnkit.ops.triton import kernels  # imports triton: only on first launch

    return kernels


def interpreted() -> bool:
    """Whether the kernels run in triton's CPU interpreter (``TRITON_INTERPRET=1``
    was set before they were first imported)."""
    return type(_kernels().spmm_rows_kernel).__name__ == "InterpretedFunction"


def unsupported_reason(device: torch.device, *dtypes: torch.dtype) -> str | None:
    """``None`` when the kernels can run on ``device`` for these dtypes, else why not."""
    if not is_available():
        return "triton is not installed (pip install triton)"
    bad = [d for d in dtypes if d not in SUPPORTED_DTYPES]
    if bad:
        return f"the triton kernels take float32/bfloat16/float16, got {bad[0]}"
    if device.type == "cuda":
        return None
    if device.type == "cpu" and interpreted():
        return None
    return f"the triton kernels run on CUDA (or on CPU under TRITON_INTERPRET=1), not on {device.type}"


@dataclass(frozen=True)
class Plan:
    """How the rows of one sparsity pattern are split among programs.

    Attributes:
        row_order: ``[num_short]`` short rows, by increasing degree (int32).
        block_degree: ``[num_blocks]`` largest degree in each block of
            ``block_rows`` consecutive ``row_order`` entries (int32).
        long_rows: ``[num_long]`` rows with more than ``long_row`` entries.
        long_chunk_ptr: ``[num_long + 1]`` first chunk of each long row.
        chunk_start, chunk_end: ``[num_chunks]`` entry range of each chunk (int64).
    """

    row_order: Tensor
    block_degree: Tensor
    long_rows: Tensor
    long_chunk_ptr: Tensor
    chunk_start: Tensor
    chunk_end: Tensor
    block_rows: int
    long_row: int

    @property
    def num_blocks(self) -> int:
        return self.block_degree.numel()

    @property
    def num_long(self) -> int:
        return self.long_rows.numel()

    @property
    def num_chunks(self) -> int:
        return self.chunk_start.numel()


def build_plan(rowptr: Tensor, block_rows: int = BLOCK_R, long_row: int = LONG_ROW) -> Plan:
    """Split the rows of ``rowptr`` into degree-sorted short-row blocks and
    chunks of long rows (see the module docstring)."""
    if block_rows < 1 or long_row < 1:
        raise ValueError(f"block_rows and long_row must be ≥ 1, got {block_rows} and {long_row}")
    rowptr = rowptr.to(torch.int64)
    degree = rowptr[1:] - rowptr[:-1]
    is_long = degree > long_row
    short = torch.nonzero(~is_long).flatten()
    row_order = short.index_select(0, torch.argsort(degree.index_select(0, short), stable=True))
    num_short = row_order.numel()
    num_blocks = -(-num_short // block_rows)
    last = ((torch.arange(num_blocks, device=rowptr.device) + 1) * block_rows - 1).clamp(max=max(num_short - 1, 0))
    block_degree = degree.index_select(0, row_order).index_select(0, last) if num_blocks else last

    long_rows = torch.nonzero(is_long).flatten()
    per_row = (degree.index_select(0, long_rows) + long_row - 1) // long_row
    long_chunk_ptr = torch.zeros(long_rows.numel() + 1, dtype=torch.int64, device=rowptr.device)
    torch.cumsum(per_row, 0, out=long_chunk_ptr[1:])
    num_chunks = int(long_chunk_ptr[-1])
    chunk_row = torch.repeat_interleave(long_rows, per_row, output_size=num_chunks)
    within = torch.arange(num_chunks, device=rowptr.device) - torch.repeat_interleave(
        long_chunk_ptr[:-1], per_row, output_size=num_chunks
    )
    chunk_start = rowptr.index_select(0, chunk_row) + within * long_row
    chunk_end = torch.minimum(chunk_start + long_row, rowptr.index_select(0, chunk_row + 1))
    return Plan(
        row_order.to(torch.int32), block_degree.to(torch.int32), long_rows.to(torch.int32),
        long_chunk_ptr.to(torch.int32), chunk_start, chunk_end, block_rows, long_row,
    )


class _PlanCache:
    """One plan per live ``rowptr`` tensor, dropped when the tensor is freed.

    Keyed on identity and in-place version: the CSR caches its kernel index
    tensors, so the same ``rowptr`` object comes back call after call (also
    through ``torch.compile``, which passes graph inputs through unchanged).
    """

    def __init__(self) -> None:
        self._plans: dict[int, tuple[weakref.ref, int, Plan]] = {}

    def get(self, rowptr: Tensor) -> Plan:
        key = id(rowptr)
        hit = self._plans.get(key)
        if hit is not None and hit[0]() is rowptr and hit[1] == rowptr._version:
            return hit[2]
        plan = build_plan(rowptr)
        ref = weakref.ref(rowptr, lambda _, key=key, plans=self._plans: plans.pop(key, None))
        self._plans[key] = (ref, rowptr._version, plan)
        return plan


_plans = _PlanCache()


def _feature_block(F: int, cap: int) -> int:
    return min(cap, triton_next_power_of_2(F))


def triton_next_power_of_2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def spmm(rowptr: Tensor, col: Tensor, value: Tensor | None, x: Tensor, num_rows: int,
         plan: Plan | None = None) -> Tensor:
    """``out = A @ x`` for the CSR ``(rowptr, col, value)`` with ``num_rows`` rows.

    Args:
        rowptr, col: CSR indices (int32 or int64).
        value: ``[nnz]`` entries, or ``None`` for all ones.
        x: ``[num_cols, F]`` dense input (float32, bfloat16 or float16).
        plan: row split; default ``build_plan(rowptr)``, cached per ``rowptr``.

    Shapes:
        x ``[M, F]`` → out ``[num_rows, F]`` in ``x.dtype``, accumulated in fp32.
    """
    k = _kernels()
    x = x.contiguous()
    F = x.size(1)
    out = torch.empty(num_rows, F, dtype=x.dtype, device=x.device)
    if F == 0 or num_rows == 0:
        return out
    plan = _plans.get(rowptr) if plan is None else plan
    value_arg = x if value is None else value.contiguous()  # dummy pointer when HAS_VALUE is off
    block_f = _feature_block(F, 128)
    num_f = -(-F // block_f)
    if plan.num_blocks:
        k.spmm_rows_kernel[(plan.num_blocks, num_f)](
            rowptr, col, value_arg, x, out, plan.row_order, plan.block_degree, plan.row_order.numel(), F,
            HAS_VALUE=value is not None, BLOCK_R=plan.block_rows, BLOCK_F=block_f,
        )
    if plan.num_long:
        partial = torch.empty(plan.num_chunks, F, dtype=torch.float32, device=x.device)
        k.spmm_chunks_kernel[(plan.num_chunks, num_f)](
            col, value_arg, x, partial, plan.chunk_start, plan.chunk_end, F,
            HAS_VALUE=value is not None, BLOCK_E=max(1, 2048 // block_f), BLOCK_F=block_f,
        )
        k.spmm_combine_kernel[(plan.num_long, num_f)](
            partial, out, plan.long_rows, plan.long_chunk_ptr, F, BLOCK_F=block_f,
        )
    return out


def sddmm(row: Tensor, col: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``out[k] = <a[row[k]], b[col[k]]>`` in fp32.

    Shapes:
        row, col ``[nnz]``; a ``[R, F]``; b ``[C, F]`` → out ``[nnz]`` (float32).
    """
    k = _kernels()
    a, b = a.contiguous(), b.contiguous()
    nnz, F = row.numel(), a.size(1)
    out = torch.zeros(nnz, dtype=torch.float32, device=a.device)
    if nnz == 0 or F == 0:
        return out
    block_f = _feature_block(F, 64)
    block_e = max(16, 2048 // block_f)
    k.sddmm_kernel[(-(-nnz // block_e),)](row, col, a, b, out, nnz, F, BLOCK_E=block_e, BLOCK_F=block_f)
    return out
