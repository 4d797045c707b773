"""Fused autograd operations for the layers' hot paths.

Each is one ``torch.autograd.Function`` whose forward and backward are
written out so that they keep as few edge- or node-sized temporaries as the
maths needs (autograd's composition of the same steps keeps several more
alive until the backward): GCN's separable product, GAT's attention
softmax, and a multi-head product over one structure. Each equals its
composed form (tested against dense formulas and ``gradcheck``).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from gnnkit.ops.sparse import sddmm_parts, spmm_parts
from gnnkit.ops.csr import CSR


class _SymmetricScaledSpmm(torch.autograd.Function):
    """``s ⊙ (A (s ⊙ x) + loop ⊙ s ⊙ x)`` with a gradient for ``x`` only, in
    at most two ``[N, F]`` temporaries each way (autograd's composition of
    the same steps keeps four alive in the backward)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor, loop: Optional[Tensor], rowptr: Tensor, col: Tensor,
                value: Optional[Tensor], t_rowptr: Optional[Tensor], t_col: Optional[Tensor],
                t_perm: Optional[Tensor]) -> Tensor:
        s = scale.unsqueeze(1)
        g = x * s
        out = spmm_parts(rowptr, col, value, g)
        if loop is not None:
            out.addcmul_(loop.unsqueeze(1), g)
        del g
        ctx.save_for_backward(scale, loop, value, t_rowptr, t_col, t_perm)
        return out.mul_(s)

    @staticmethod
    def backward(ctx, grad: Tensor):
        scale, loop, value, t_rowptr, t_col, t_perm = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return (None,) * 9
        s = scale.unsqueeze(1)
        e = grad * s
        value_t = None if value is None else value.index_select(0, t_perm)
        out = spmm_parts(t_rowptr, t_col, value_t, e)
        if loop is not None:
            out.addcmul_(loop.unsqueeze(1), e)
        del e
        return (out.mul_(s),) + (None,) * 8


def symmetric_scaled_spmm(csr: CSR, x: Tensor, scale: Tensor, loop: Tensor | None = None) -> Tensor:
    """``s ⊙ ((A + diag(loop)) (s ⊙ x))`` for a square ``A``: GCN's
    ``D^{-1/2} (A + L) D^{-1/2} X`` with ``s = d^{-1/2}``, without any
    normalised per-edge weight and with few temporaries.

    Differentiable for ``x`` only: ``scale``, ``loop`` and ``csr.value``
    must not require grad (use the composition of ``spmm`` and row scalings
    when they do). Computed in ``x``'s dtype (half precision accumulates in
    fp32 inside the product).

    Shapes:
        csr ``[N, N]``, x ``[N, F]``, scale ``[N]``, loop ``[N]`` → ``[N, F]``.
    """
    if csr.num_rows != csr.num_cols or x.dim() != 2 or x.size(0) != csr.num_cols:
        raise ValueError(f"symmetric_scaled_spmm needs a square CSR and x [N, F] with N = {csr.num_cols}, got a "
                         f"{csr.num_rows} x {csr.num_cols} CSR and x {tuple(x.shape)}")
    for name, t in (("scale", scale), ("loop", loop), ("csr.value", csr.value)):
        if t is not None and t.requires_grad:
            raise ValueError(f"symmetric_scaled_spmm: {name} requires grad, which this product does not "
                             f"differentiate; compose spmm with row scalings instead")
    rowptr, col = csr._kernel_indices()
    t_rowptr = t_col = t_perm = None
    if torch.is_grad_enabled() and x.requires_grad:
        t_rowptr, t_col, t_perm = csr._kernel_indices_t(with_perm=csr.value is not None)
    scale = scale.to(x.dtype)
    loop = None if loop is None else loop.to(x.dtype)
    return _SymmetricScaledSpmm.apply(x, scale, loop, rowptr, col, csr.value, t_rowptr, t_col, t_perm)


class _MultiHeadSpmm(torch.autograd.Function):
    """``out[:, k] = A_k @ x[:, k]`` for the heads ``k`` of one structure, the
    values of ``A_k`` being ``value[k]``; the gradients of all heads are
    written into one ``[H, nnz]`` and one ``[S, H, C]`` tensor (no per-head
    pieces to stack)."""

    @staticmethod
    def forward(ctx, value: Tensor, x: Tensor, rowptr: Tensor, col: Tensor, t_rowptr: Optional[Tensor],
                t_col: Optional[Tensor], t_perm: Optional[Tensor], row: Optional[Tensor]) -> Tensor:
        heads, rows = value.size(0), rowptr.numel() - 1
        out = x.new_empty(rows, heads, x.size(2))
        for k in range(heads):
            out[:, k] = spmm_parts(rowptr, col, value[k], x[:, k])
        ctx.save_for_backward(value, x, rowptr, col, t_rowptr, t_col, t_perm, row)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        value, x, rowptr, col, t_rowptr, t_col, t_perm, row = ctx.saved_tensors
        grad_value = grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = torch.empty_like(x)
            for k in range(value.size(0)):
                grad_x[:, k] = spmm_parts(t_rowptr, t_col, value[k].index_select(0, t_perm), grad[:, k])
        if ctx.needs_input_grad[0]:
            grad_value = torch.empty_like(value)
            for k in range(value.size(0)):
                grad_value[k] = sddmm_parts(row, col, grad[:, k], x[:, k], rowptr)
        return grad_value, grad_x, None, None, None, None, None, None


def multi_head_spmm(csr: CSR, value: Tensor, x: Tensor) -> Tensor:
    """One sparse product per head over a shared structure:
    ``out[i, k] = Σ_j value[k, e_ij] · x[j, k]`` (GAT's aggregation with the
    attention as values). Differentiable for ``value`` and ``x``.

    Shapes:
        csr ``[T, S]`` (its own values unused), value ``[H, nnz]`` (CSR
        order), x ``[S, H, C]`` → ``[T, H, C]``.
    """
    if value.dim() != 2 or value.size(1) != csr.nnz or x.dim() != 3 or x.size(0) != csr.num_cols \
            or x.size(1) != value.size(0):
        raise ValueError(f"multi_head_spmm: expected value [H, {csr.nnz}] and x [{csr.num_cols}, H, C], got "
                         f"value {tuple(value.shape)} and x {tuple(x.shape)}")
    rowptr, col = csr._kernel_indices()
    grad = torch.is_grad_enabled()
    t_rowptr = t_col = t_perm = row = None
    if grad and x.requires_grad:
        t_rowptr, t_col, t_perm = csr._kernel_indices_t()
    if grad and value.requires_grad:
        row = csr.row()
    return _MultiHeadSpmm.apply(value, x, rowptr, col, t_rowptr, t_col, t_perm, row)


class _AttentionSoftmax(torch.autograd.Function):
    """GAT's attention in head-major layout, computed in place: the forward
    keeps one ``[H, E]`` result and a sign mask, the backward at most three
    ``[H, E]`` temporaries (autograd's composition of the same steps holds
    about ten)."""

    @staticmethod
    def forward(ctx, a_src: Tensor, a_dst: Tensor, edge_logits: Tensor | None, rowptr: Tensor, col: Tensor,
                row: Tensor, negative_slope: float) -> Tensor:
        heads = a_src.size(1)
        offsets = rowptr.expand(heads, -1)
        logits = a_src.t().contiguous().index_select(1, col)
        logits.add_(a_dst.t().contiguous().index_select(1, row))
        if edge_logits is not None:
            logits.add_(edge_logits.t())
        positive = logits > 0  # the LeakyReLU's branch, for the backward
        torch.nn.functional.leaky_relu_(logits, negative_slope)
        # A shift by each group's maximum does not change the softmax and keeps exp finite.
        group_max = torch.segment_reduce(logits, "max", offsets=offsets, axis=1, unsafe=True)
        logits.sub_(group_max.index_select(1, row)).exp_()
        total = torch.segment_reduce(logits, "sum", offsets=offsets, axis=1, unsafe=True, initial=0)
        alpha = logits.div_(total.index_select(1, row))
        ctx.save_for_backward(alpha, positive, rowptr, col, row)
        ctx.negative_slope, ctx.num_src = negative_slope, a_src.size(0)
        return alpha

    @staticmethod
    def backward(ctx, grad: Tensor):
        alpha, positive, rowptr, col, row = ctx.saved_tensors
        heads = alpha.size(0)
        offsets = rowptr.expand(heads, -1)
        # softmax: g = α ⊙ (grad - Σ_group α ⊙ grad)
        g = alpha * grad
        weighted = torch.segment_reduce(g, "sum", offsets=offsets, axis=1, unsafe=True, initial=0)
        g.sub_(weighted.index_select(1, row).mul_(alpha))
        # LeakyReLU: slope on the negative branch
        g.mul_(positive.to(g.dtype).mul_(1.0 - ctx.negative_slope).add_(ctx.negative_slope))
        grad_src = grad_dst = grad_edge = None
        if ctx.needs_input_grad[0]:
            grad_src = g.new_zeros(heads, ctx.num_src).index_add_(1, col, g).t()
        if ctx.needs_input_grad[1]:
            grad_dst = torch.segment_reduce(g, "sum", offsets=offsets, axis=1, unsafe=True, initial=0).t()
        if ctx.needs_input_grad[2]:
            grad_edge = g.t()
        return grad_src, grad_dst, grad_edge, None, None, None, None


def attention_softmax(a_src: Tensor, a_dst: Tensor, csr: CSR, negative_slope: float = 0.2,
                      edge_logits: Tensor | None = None) -> Tensor:
    """GAT's attention coefficients over each target's in-edges, head-major.

    ``α[k, e] = softmax_{e ∈ in(i)} LeakyReLU(a_src[j, k] + a_dst[i, k] (+ edge_logits[e, k]))``
    for the entry ``e = (i, j)`` of the target-major ``csr``, computed stably
    (each group's maximum is subtracted) in at least float32. Differentiable
    for ``a_src``, ``a_dst`` and ``edge_logits``.

    Shapes:
        a_src ``[S, H]``, a_dst ``[T, H]``, csr ``[T, S]``, edge_logits
        ``[nnz, H]`` (CSR order) → ``[H, nnz]``.
    """
    dtype = torch.promote_types(torch.promote_types(a_src.dtype, a_dst.dtype), torch.float32)
    if edge_logits is not None:
        edge_logits = edge_logits.to(dtype)
    col, row = csr.col.to(torch.int64), csr.row()
    if csr.nnz == 0:
        return a_src.new_zeros(a_src.size(1), 0, dtype=dtype)
    return _AttentionSoftmax.apply(a_src.to(dtype), a_dst.to(dtype), edge_logits, csr.rowptr.to(torch.int64), col,
                                   row, float(negative_slope))
