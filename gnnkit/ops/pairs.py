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

import weakref

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
    target. Kept between calls in ``_KEPT`` (below), so a pair set scored
    every epoch (the training positives, the validation pairs) is sorted once."""

    def __init__(self, src: Tensor, dst: Tensor, num_nodes: int) -> None:
        self.num_nodes = num_nodes
        self.by_src = _group(src, dst, num_nodes)
        self.by_dst: tuple[Tensor, Tensor, Tensor] | None = None

    def targets(self, src: Tensor, dst: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if self.by_dst is None:
            self.by_dst = _group(dst, src, self.num_nodes)
        return self.by_dst


# Groupings of recently scored pair tensors, by id: (weak reference to the
# tensor, (version, N, data pointer), groups or None when seen once). A
# grouping is kept from a tensor's second call on (a one-off tensor, as sampled
# negatives, keeps nothing); an in-place change of the tensor changes its
# version; an entry goes when its tensor is freed, and the least recently used
# goes beyond _KEPT_MAX. Nothing is stored on the tensor itself, which stays
# a plain tensor to save and load.
_KEPT: dict[int, tuple[weakref.ref, tuple[int, int, int], _Groups | None]] = {}
_KEPT_MAX = 8


def _kept(pairs: Tensor, num_nodes: int) -> tuple[tuple[int, int, int], tuple | None]:
    """``(key, entry)``: the tensor's key now and its live entry in ``_KEPT`` with that key, if any."""
    key = (pairs._version, num_nodes, pairs.data_ptr())
    entry = _KEPT.get(id(pairs))
    if entry is None or entry[0]() is not pairs or entry[1] != key:
        return key, None
    return key, entry


def _groups_of(pairs: Tensor, src: Tensor, dst: Tensor, num_nodes: int) -> _Groups:
    key, entry = _kept(pairs, num_nodes)
    if entry is not None:
        _KEPT.pop(id(pairs))  # re-inserted last: least recently used first in the dict
        groups = entry[2] if entry[2] is not None else _Groups(src, dst, num_nodes)
        _KEPT[id(pairs)] = (entry[0], key, groups)
        return groups
    while len(_KEPT) >= _KEPT_MAX:
        _KEPT.pop(next(iter(_KEPT)))
    ident = id(pairs)

    def forget(ref: weakref.ref) -> None:
        if _KEPT.get(ident, (None,))[0] is ref:
            del _KEPT[ident]
    _KEPT[ident] = (weakref.ref(pairs, forget), key, None)  # seen once
    return _Groups(src, dst, num_nodes)


class _PairDot(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: Tensor, src: Tensor, dst: Tensor, groups: _Groups) -> Tensor:
        n = z.size(0)
        s_ptr, s_col, s_perm = groups.by_src
        pattern = torch_csr(s_ptr, s_col, z.new_zeros(s_col.numel()), (n, n))
        values = torch.sparse.sampled_addmm(pattern, z, z.t(), beta=0.0).values()
        out = torch.empty_like(values)
        out[s_perm] = values
        ctx.save_for_backward(z, src, dst)
        ctx.groups = groups
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        z, src, dst = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        n = z.size(0)
        grad = grad.contiguous()
        s_ptr, s_col, s_perm = ctx.groups.by_src
        d_ptr, d_col, d_perm = ctx.groups.targets(src, dst)
        out = torch.empty_like(z)
        # row u of the result: Σ over pairs (u, v) of g·z[v], then over pairs (v, u) of g·z[v]
        torch.addmm(out, torch_csr(s_ptr, s_col, grad.index_select(0, s_perm), (n, n)), z, beta=0.0, out=out)
        torch.addmm(out, torch_csr(d_ptr, d_col, grad.index_select(0, d_perm), (n, n)), z, beta=1.0, out=out)
        return out, None, None, None


# Without a gradient to keep, up to this many pairs are scored from gathered
# rows: cheaper than the sampled product's setup (~20 against ~55 µs for the
# ~500 validation pairs of a citation graph).
_GATHER_MAX = 2048


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
    small = pairs.size(1) <= _GATHER_MAX and not (z.requires_grad and torch.is_grad_enabled())
    if small or _kept(pairs, z.size(0))[1] is None:  # (a kept tensor was checked when first grouped)
        low, high = (int(v) for v in torch.aminmax(pairs))
        if low < 0 or high >= z.size(0):
            raise IndexError(f"pair_dot: pairs refer to node {low if low < 0 else high} but z has {z.size(0)} rows")
    if small:
        return (z.index_select(0, src) * z.index_select(0, dst)).sum(-1)
    src, dst = src.contiguous(), dst.contiguous()
    return _PairDot.apply(z.contiguous(), src, dst, _groups_of(pairs, src, dst, z.size(0)))


__all__ = ["pair_dot"]
