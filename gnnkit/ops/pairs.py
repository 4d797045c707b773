"""Scores of node pairs: ``out[k] = <z[src_k], z[dst_k]>`` (the inner-product
decoder of GAE and of most link predictors), with autograd.

Gathering both rows of every pair, multiplying and summing writes three
``[P, D]`` temporaries forward and four backward, and the backward's
scatter-add into ``[N, D]`` is the slowest part of a link-prediction epoch
on the CPU. Grouped by source and by target instead (two sorts of ``P``
integers), the forward is one sampled dense–dense product (torch's
``sampled_addmm``) and the backward two sparse × dense products,
``S z + Sᵀ z`` with ``S[u, v]`` the summed gradients of the pairs ``(u, v)``:
no ``[P, D]`` tensor exists at all. Elsewhere (CUDA, half precision,
autocast, ``torch.compile``) it is the gather form, which autograd
differentiates.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gnnkit.ops.sparse import torch_csr

# Below this, a node id fits numpy's int16 and its stable sort is a radix sort.
_RADIX_LIMIT = 2**15


def _group(key: Tensor, other: Tensor, num_nodes: int) -> tuple[Tensor, Tensor, Tensor]:
    """``(rowptr, col, perm)`` of the pairs grouped by ``key``: ``perm`` lists
    the pairs in row order, ``col = other[perm]``."""
    k = key.numpy()
    # numpy's stable sort of 16-bit keys is a radix sort, several times faster
    # than torch.sort on the CPU; both orders are deterministic.
    perm = torch.from_numpy(np.argsort(k.astype(np.int16) if num_nodes <= _RADIX_LIMIT else k, kind="stable"))
    rowptr = key.new_zeros(num_nodes + 1)
    torch.cumsum(torch.bincount(key, minlength=num_nodes), 0, out=rowptr[1:])
    return rowptr, other.index_select(0, perm), perm


class _Groups:
    """The pairs grouped by source (forward) and, once a backward asks, by
    target; kept on the pairs tensor itself (``_gnnkit_pair_groups``) with its
    version and ``N``, so a pair set scored every epoch (the training
    positives, the validation pairs) is sorted once and an in-place change of
    it is noticed. Kept from the second call on: a one-off tensor (sampled
    negatives) carries nothing."""

    def __init__(self, src: Tensor, dst: Tensor, num_nodes: int) -> None:
        self.src, self.dst, self.num_nodes = src, dst, num_nodes
        self.by_src = _group(src, dst, num_nodes)
        self.by_dst: tuple[Tensor, Tensor, Tensor] | None = None

    def targets(self) -> tuple[Tensor, Tensor, Tensor]:
        if self.by_dst is None:
            self.by_dst = _group(self.dst, self.src, self.num_nodes)
        return self.by_dst

    @staticmethod
    def of(pairs: Tensor, src: Tensor, dst: Tensor, num_nodes: int) -> _Groups:
        key = (pairs._version, num_nodes, pairs.data_ptr())
        kept = getattr(pairs, "_gnnkit_pair_groups", None)
        if isinstance(kept, tuple) and kept[0] == key:
            if kept[1] is not None:
                return kept[1]
            groups = _Groups(src, dst, num_nodes)  # the second call: keep it from now on
            pairs._gnnkit_pair_groups = (key, groups)
            return groups
        pairs._gnnkit_pair_groups = (key, None)  # seen once
        return _Groups(src, dst, num_nodes)


class _PairDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: Tensor, groups: _Groups) -> Tensor:
        n = z.size(0)
        s_ptr, s_col, s_perm = groups.by_src
        pattern = torch_csr(s_ptr, s_col, z.new_zeros(s_col.numel()), (n, n))
        values = torch.sparse.sampled_addmm(pattern, z, z.t(), beta=0.0).values()
        out = torch.empty_like(values)
        out[s_perm] = values
        ctx.save_for_backward(z)
        ctx.groups = groups
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        (z,) = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None
        n = z.size(0)
        grad = grad.contiguous()
        s_ptr, s_col, s_perm = ctx.groups.by_src
        d_ptr, d_col, d_perm = ctx.groups.targets()
        out = torch.empty_like(z)
        # row u of the result: Σ over pairs (u, v) of g·z[v], then over pairs (v, u) of g·z[v]
        torch.addmm(out, torch_csr(s_ptr, s_col, grad.index_select(0, s_perm), (n, n)), z, beta=0.0, out=out)
        torch.addmm(out, torch_csr(d_ptr, d_col, grad.index_select(0, d_perm), (n, n)), z, beta=1.0, out=out)
        return out, None


def pair_dot(z: Tensor, pairs: Tensor) -> Tensor:
    """Inner products of node pairs: ``out[k] = Σ_d z[pairs[0, k], d] · z[pairs[1, k], d]``.

    Differentiable for ``z``. On the CPU in float32/float64 it runs as one
    sampled dense–dense product forward and two sparse products backward
    (see the module docstring); otherwise (CUDA, half precision, autocast,
    under ``torch.compile``) as gathered rows.

    Shapes:
        z ``[N, D]``, pairs ``[2, P]`` integer → ``[P]`` in ``z``'s dtype.
    """
    if z.dim() != 2 or pairs.dim() != 2 or pairs.size(0) != 2:
        raise ValueError(f"pair_dot expects z [N, D] and pairs [2, P], got z {tuple(z.shape)} and pairs "
                         f"{tuple(pairs.shape)}")
    if pairs.dtype.is_floating_point or pairs.dtype.is_complex or pairs.dtype == torch.bool:
        raise TypeError(f"pair_dot: pairs must hold integer node ids, got {pairs.dtype}")
    if pairs.device != z.device:
        raise ValueError(f"pair_dot: pairs are on {pairs.device} but z is on {z.device}; move one with .to()")
    src, dst = pairs[0].to(torch.int64), pairs[1].to(torch.int64)
    # torch's sampled_addmm refuses more entries than the matrix has cells (repeated pairs on a tiny graph).
    if (z.device.type != "cpu" or z.dtype not in (torch.float32, torch.float64) or pairs.size(1) == 0
            or z.size(1) == 0 or torch.is_autocast_enabled("cpu") or pairs.size(1) > z.size(0) ** 2
            or torch.compiler.is_compiling()):  # (the grouping sorts in numpy: no graph break when compiled)
        return (z.index_select(0, src) * z.index_select(0, dst)).sum(-1)
    kept = getattr(pairs, "_gnnkit_pair_groups", None)
    if not (isinstance(kept, tuple) and kept[0] == (pairs._version, z.size(0), pairs.data_ptr())):
        low, high = (int(v) for v in torch.aminmax(pairs))  # (checked when the pairs were last grouped)
        if low < 0 or high >= z.size(0):
            raise IndexError(f"pair_dot: pairs refer to node {low if low < 0 else high} but z has {z.size(0)} rows")
    return _PairDot.apply(z.contiguous(), _Groups.of(pairs, src.contiguous(), dst.contiguous(), z.size(0)))


__all__ = ["pair_dot"]
