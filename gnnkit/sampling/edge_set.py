"""``EdgeSet``: a set of directed node pairs with a vectorised membership test,
and the pair sorting it is built on (``lexsort_pairs``, ``first_occurrences``).

Used by negative sampling (``gnnkit.sampling.negative``) to exclude edges.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def lexsort_pairs(src: Tensor, dst: Tensor) -> Tensor:
    """The permutation that sorts pairs by ``(src, dst)`` (two stable sorts, no key packing)."""
    perm = torch.argsort(dst, stable=True)
    return perm.index_select(0, torch.argsort(src.index_select(0, perm), stable=True))


def first_occurrences(src: Tensor, dst: Tensor) -> Tensor:
    """``[n]`` bool: ``True`` at the first occurrence of every distinct pair ``(src[k], dst[k])``."""
    n = src.numel()
    keep = torch.zeros(n, dtype=torch.bool, device=src.device)
    if n == 0:
        return keep
    perm = lexsort_pairs(src, dst)
    s, d = src.index_select(0, perm), dst.index_select(0, perm)
    new = torch.ones(n, dtype=torch.bool, device=src.device)
    new[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
    # Within a run of equal pairs, stable sorting keeps the original order: the run's head is the first occurrence.
    keep[perm[new]] = True
    return keep


class EdgeSet:
    """A set of directed pairs ``(src, dst)`` with a vectorised membership test.

    Stored as the distinct sources ``keys`` (sorted), row offsets ``ptr`` and
    every source's destinations sorted in ``dst``, plus the packed keys
    ``src · B + dst`` when ids are below 2³¹; memory is ``O(E)`` whatever the
    id range, and no key ever overflows. When ``B² ≤ 2²⁴``, a set queried
    more than once also keeps a bitmap of the ``B²`` keys (at most 16 MiB).

    Args:
        edge_index: ``[2, E]`` pairs (duplicates allowed).
        undirected: also hold the reverse of every pair (default ``False``).

    Shapes:
        contains: src ``[n]``, dst ``[n]`` → ``[n]`` bool.
    """

    def __init__(self, edge_index: Tensor, undirected: bool = False) -> None:
        if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"EdgeSet needs a [2, E] integer tensor, got {getattr(edge_index, 'shape', type(edge_index))}")
        src, dst = edge_index[0].long(), edge_index[1].long()
        if undirected:
            src, dst = torch.cat([src, dst]), torch.cat([dst, src])
        keep = first_occurrences(src, dst)
        src, dst = src[keep], dst[keep]
        perm = lexsort_pairs(src, dst)
        src, self.dst = src[perm], dst[perm]
        self.keys, counts = torch.unique_consecutive(src, return_counts=True)
        self.ptr = torch.zeros(self.keys.numel() + 1, dtype=torch.long, device=src.device)
        torch.cumsum(counts, 0, out=self.ptr[1:])
        # Rounds of the in-row binary search: enough to shrink the longest row to one entry.
        self._steps = max(1, math.ceil(math.log2(int(counts.max()) + 1))) if counts.numel() else 1
        # Sorted by (src, dst), the pairs are also sorted by src * B + dst: one searchsorted answers a query.
        self._base = int(max(int(src.max()), int(self.dst.max()))) + 1 if src.numel() else 0
        self._packed = src * self._base + self.dst if 0 < self._base < 2**31 else None
        # A set queried again and again (negatives every epoch) over few ids is
        # also held as a bitmap of all B² keys: a lookup is then one gather
        # instead of a binary search.
        self._bitmap: Tensor | None = None
        self._lookups = 0

    def __len__(self) -> int:
        return self.dst.numel()

    def to(self, device: torch.device | str) -> EdgeSet:
        self.keys, self.ptr, self.dst = self.keys.to(device), self.ptr.to(device), self.dst.to(device)
        if self._packed is not None:
            self._packed = self._packed.to(device)
        if self._bitmap is not None:
            self._bitmap = self._bitmap.to(device)
        return self

    def _count_lookup(self) -> None:
        """Count a packed-key query; the second one builds the bitmap (when
        ``B² ≤ 2²⁴``): a one-off lookup does not pay for it."""
        b = self._base
        if self._bitmap is None and b * b <= _BITMAP_KEYS:
            self._lookups += 1
            if self._lookups >= 2:
                self._bitmap = torch.zeros(b * b, dtype=torch.bool, device=self._packed.device)
                self._bitmap[self._packed] = True

    def _contains_numpy(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """``contains`` for non-negative int64 numpy ids on a CPU set with packed keys."""
        b = self._base
        inside = (src < b) & (dst < b)  # ids the set never saw are in no pair of it
        key = np.where(inside, src * b + dst, 0)
        self._count_lookup()
        if self._bitmap is not None:
            return self._bitmap.numpy()[key] & inside
        packed = self._packed.numpy()
        pos = np.minimum(np.searchsorted(packed, key), packed.size - 1)
        return (packed[pos] == key) & inside

    def contains(self, src: Tensor, dst: Tensor) -> Tensor:
        """``[n]`` bool: whether each ``(src[k], dst[k])`` is in the set."""
        src, dst = src.long().to(self.dst.device), dst.long().to(self.dst.device)
        if self.keys.numel() == 0 or src.numel() == 0:
            return torch.zeros(src.shape, dtype=torch.bool, device=self.dst.device)
        if self._packed is not None:
            b = self._base
            # both ids in [0, b): their OR is non-negative and their maximum below b
            valid = (src | dst).ge(0).logical_and_(torch.maximum(src, dst) < b)
            q = torch.where(valid, src * b + dst, 0)
            self._count_lookup()
            if self._bitmap is not None:
                return valid.logical_and_(self._bitmap[q])
            pos = torch.searchsorted(self._packed, q).clamp_(max=self._packed.numel() - 1)
            return valid & (self._packed[pos] == q)
        r = torch.searchsorted(self.keys, src).clamp_(max=self.keys.numel() - 1)
        found = self.keys[r] == src
        lo, hi = self.ptr[r], self.ptr[r + 1]  # row of src: dst[lo:hi], sorted
        hi = torch.where(found, hi, lo)  # unknown source: an empty row
        # Lower bound of dst in [lo, hi), all rows at once.
        for _ in range(self._steps):
            active = lo < hi
            mid = (lo + hi) // 2
            go_right = active & (self.dst[mid.clamp(max=self.dst.numel() - 1)] < dst)
            lo = torch.where(go_right, mid + 1, lo)
            hi = torch.where(active & ~go_right, mid, hi)
        inside = lo < self.ptr[r + 1]
        return found & inside & (self.dst[lo.clamp(max=self.dst.numel() - 1)] == dst)


#: Largest ``B²`` (ids below ``B``) for which an ``EdgeSet`` keeps a bitmap (16 MiB).
_BITMAP_KEYS = 2**24


__all__ = ["EdgeSet", "first_occurrences", "lexsort_pairs"]
