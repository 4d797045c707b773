"""The compressed-sparse-row matrix every layer and product works on, and
how an edge list becomes one.

The adjacency of a graph with edges ``j → i`` (``edge_index[0] = j``,
``edge_index[1] = i``) is stored by *target* row: ``A[i, j] = e_ij``, so that
the aggregation ``out[i] = Σ_j e_ij · x[j]`` is the product ``A @ x``
(``gnnkit.ops.sparse.spmm``). A ``CSR`` caches what is derived from its
structure alone (row indices, the transpose, 32-bit index copies for the
kernels), shared by every copy made with ``with_value``.
"""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field

import torch
from torch import Tensor


@dataclass(eq=False)
class CSR:
    """A sparse matrix in compressed-row form, with the way back to edge order.

    Attributes:
        rowptr: ``[num_rows + 1]`` start of each row's entries.
        col: ``[nnz]`` column of each entry, sorted within a row.
        value: ``[nnz]`` entry values, or ``None`` for all ones.
        perm: ``[nnz]`` position of each entry in the edge list it was built
            from (``value = edge_weight[perm]``).
        num_rows, num_cols: the matrix shape.
    """

    rowptr: Tensor
    col: Tensor
    value: Tensor | None
    perm: Tensor
    num_rows: int
    num_cols: int
    _cache: dict = field(default_factory=dict, repr=False)
    _check: InitVar[bool] = True

    def __post_init__(self, _check: bool) -> None:
        if _check:  # with_value skips it: the structure was checked when first built
            self._validate()

    def _validate(self) -> None:
        index_dtypes = (torch.int32, torch.int64)
        if self.rowptr.dtype not in index_dtypes or self.col.dtype not in index_dtypes:
            raise ValueError(
                f"CSR index tensors must be int32 or int64, got rowptr {self.rowptr.dtype} and col {self.col.dtype}"
            )
        if self.rowptr.dtype != self.col.dtype:
            raise ValueError(
                f"CSR rowptr and col must have the same index type, got {self.rowptr.dtype} and {self.col.dtype}; "
                f"convert both with .to(torch.int64)"
            )
        if self.perm.dtype not in index_dtypes:
            raise ValueError(f"CSR perm must be int32 or int64, got {self.perm.dtype}")
        devices = {t.device for t in (self.rowptr, self.col, self.perm, self.value) if t is not None}
        if len(devices) > 1:
            raise ValueError(f"CSR tensors must be on one device, got {sorted(map(str, devices))}; move them with .to()")
        if self.value is not None and not self.value.dtype.is_floating_point:
            raise ValueError(f"CSR value must be a floating-point tensor, got {self.value.dtype}")
        if self.num_rows < 0 or self.num_cols < 0:
            raise ValueError(f"CSR shape must be non-negative, got {self.num_rows} x {self.num_cols}")
        if self.rowptr.dim() != 1 or self.rowptr.numel() != self.num_rows + 1:
            raise ValueError(
                f"CSR rowptr must have num_rows + 1 = {self.num_rows + 1} entries, got shape {tuple(self.rowptr.shape)}"
            )
        nnz = self.col.numel()
        if self.col.dim() != 1 or self.perm.shape != (nnz,) or (self.value is not None and self.value.shape != (nnz,)):
            raise ValueError(
                f"CSR col, perm and value must all be 1-D with nnz = {nnz} entries, got col {tuple(self.col.shape)}, "
                f"perm {tuple(self.perm.shape)} and value {None if self.value is None else tuple(self.value.shape)}"
            )
        if int(self.rowptr[0]) != 0 or int(self.rowptr[-1]) != nnz:
            raise ValueError(
                f"CSR rowptr must run from 0 to the number of entries ({nnz}), "
                f"got {int(self.rowptr[0])} .. {int(self.rowptr[-1])}"
            )
        if self.num_rows and bool((self.rowptr[1:] < self.rowptr[:-1]).any()):
            raise ValueError("CSR rowptr must be non-decreasing (row i holds entries rowptr[i] .. rowptr[i+1] - 1)")
        if nnz:
            lo, hi = int(self.col.min()), int(self.col.max())
            if lo < 0 or hi >= self.num_cols:
                raise ValueError(
                    f"CSR col holds column {lo if lo < 0 else hi} but the matrix has {self.num_cols} columns "
                    f"(0 <= col < num_cols); pass num_cols large enough"
                )

    @property
    def nnz(self) -> int:
        return self.col.numel()

    @property
    def device(self) -> torch.device:
        return self.col.device

    def row(self) -> Tensor:
        """``[nnz]`` row of each entry (cached)."""
        if "row" not in self._cache:
            counts = self.rowptr[1:] - self.rowptr[:-1]
            self._cache["row"] = torch.repeat_interleave(
                torch.arange(self.num_rows, device=self.device), counts, output_size=self.nnz
            )
        return self._cache["row"]

    def degree(self) -> Tensor:
        """``[num_rows]`` number of entries per row."""
        return self.rowptr[1:] - self.rowptr[:-1]

    def self_loops(self) -> Tensor | None:
        """``[L]`` positions of the entries on the diagonal (``row == col``),
        or ``None`` when there are none (cached; most graphs have no loops,
        and then nothing is kept)."""
        if "loops" not in self._cache:
            row = self._cache.get("row")
            if row is None:  # not cached for this alone: it is edge-sized
                row = torch.repeat_interleave(torch.arange(self.num_rows, device=self.device), self.degree(),
                                              output_size=self.nnz)
            loops = (row == self.col.to(torch.int64)).nonzero().view(-1)
            self._cache["loops"] = loops if loops.numel() else None
        return self._cache["loops"]

    def off_diagonal(self) -> CSR:
        """This matrix without its diagonal entries (``self`` when it has
        none); ``perm`` still points into the original edge list. The
        structure is built once and cached, with its own caches."""
        loops = self.self_loops()
        if loops is None:
            return self
        if "offdiag" not in self._cache:
            keep = torch.ones(self.nnz, dtype=torch.bool, device=self.device)
            keep[loops] = False
            kept = torch.zeros(self.num_rows, dtype=torch.int64, device=self.device)
            kept.index_add_(0, self.col.to(torch.int64)[loops], torch.ones_like(loops))  # loops per row
            rowptr = torch.zeros_like(self.rowptr)
            torch.cumsum(self.degree() - kept.to(self.rowptr.dtype), 0, out=rowptr[1:])
            keep_idx = keep.nonzero().view(-1)
            structure = CSR(rowptr, self.col.index_select(0, keep_idx), None, self.perm.index_select(0, keep_idx),
                            self.num_rows, self.num_cols, _check=False)
            self._cache["offdiag"] = (structure, keep_idx)
        structure, keep_idx = self._cache["offdiag"]
        return structure if self.value is None else structure.with_value(self.value.index_select(0, keep_idx))

    def with_value(self, value: Tensor | None) -> CSR:
        """The same sparsity pattern with new values, sharing the cached
        structure (row indices, transpose)."""
        if value is not None and value.shape != (self.nnz,):
            raise ValueError(f"CSR.with_value: expected {self.nnz} values, got shape {tuple(value.shape)}")
        # Structure-only cache entries are safe to share; the structure was
        # validated when this CSR was built, so it is not checked again.
        return CSR(self.rowptr, self.col, value, self.perm, self.num_rows, self.num_cols, self._cache, False)

    def transpose_structure(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(rowptr_t, col_t, tperm)`` of the transpose, where entry ``k`` of
        the transpose is entry ``tperm[k]`` of this matrix (cached)."""
        if "t" not in self._cache:
            self._cache["t"] = self._transpose()
        return self._cache["t"]

    def _transpose(self) -> tuple[Tensor, Tensor, Tensor]:
        # The rows are taken from the cache when something else keeps them, else made and dropped.
        row = self._cache.get("row")
        if row is None:
            row = torch.repeat_interleave(torch.arange(self.num_rows, device=self.device), self.degree(),
                                          output_size=self.nnz)
        key = self.col.to(torch.int64) * max(self.num_rows, 1) + row
        tperm = torch.argsort(key)
        del key
        counts = torch.bincount(self.col.to(torch.int64), minlength=self.num_cols)
        rowptr_t = torch.zeros(self.num_cols + 1, dtype=torch.int64, device=self.device)
        torch.cumsum(counts, 0, out=rowptr_t[1:])
        return rowptr_t, row.index_select(0, tperm), tperm

    def t(self) -> CSR:
        """The transposed matrix as a CSR (``perm`` maps into the same edge list)."""
        rowptr_t, col_t, tperm = self.transpose_structure()
        value = None if self.value is None else self.value.index_select(0, tperm)
        return CSR(rowptr_t, col_t, value, self.perm.index_select(0, tperm), self.num_cols, self.num_rows)

    def to(self, device: torch.device | str) -> CSR:
        return CSR(
            self.rowptr.to(device),
            self.col.to(device),
            None if self.value is None else self.value.to(device),
            self.perm.to(device),
            self.num_rows,
            self.num_cols,
        )

    def to_dense(self) -> Tensor:
        """Dense ``[num_rows, num_cols]`` matrix (duplicates summed); for tests."""
        value = self.value if self.value is not None else torch.ones(self.nnz, device=self.device)
        out = torch.zeros(self.num_rows, self.num_cols, dtype=value.dtype, device=self.device)
        out.index_put_((self.row(), self.col.to(torch.int64)), value, accumulate=True)
        return out

    def _kernel_indices(self) -> tuple[Tensor, Tensor]:
        # 32-bit indices make the MKL / cuSPARSE kernels ~20% faster; cached.
        if "idx32" not in self._cache:
            if self.nnz < 2**31 - 1 and self.num_cols < 2**31 - 1:
                self._cache["idx32"] = (self.rowptr.to(torch.int32), self.col.to(torch.int32))
            else:
                self._cache["idx32"] = (self.rowptr.to(torch.int64), self.col.to(torch.int64))
        return self._cache["idx32"]

    def _kernel_indices_t(self, with_perm: bool = True) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(rowptr_t, col_t, tperm)`` in the kernels' index type; ``tperm``
        (which puts values into transposed order) only when ``with_perm``:
        an unweighted product never reads it, so it is kept only once asked for."""
        # Only the kernels' copy of the transpose is kept: an int64 one beside it would
        # double its memory for nothing (t() builds and caches its own when asked).
        if "idx32_t" not in self._cache or (with_perm and "tperm" not in self._cache):
            rowptr_t, col_t, tperm = self._cache["t"] if "t" in self._cache else self._transpose()
            dtype = self._kernel_indices()[0].dtype
            self._cache["idx32_t"] = (rowptr_t.to(dtype), col_t.to(dtype))
            if with_perm:
                self._cache["tperm"] = tperm.to(dtype)
        rowptr_t, col_t = self._cache["idx32_t"]
        return rowptr_t, col_t, (self._cache["tperm"] if with_perm else None)


def build_csr(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Tensor | None = None,
    num_cols: int | None = None,
) -> CSR:
    """Compress an edge list ``j → i`` into the target-major CSR ``A[i, j] = e_ij``.

    Duplicate edges stay as separate entries (they sum in a product).

    Args:
        edge_index: ``[2, E]``, row 0 sources ``j``, row 1 targets ``i``.
        num_nodes: number of rows (targets).
        edge_weight: optional ``[E]`` values.
        num_cols: number of columns (sources), default ``num_nodes``.
    """
    num_cols = num_nodes if num_cols is None else num_cols
    _check_edges(edge_index, num_nodes, num_cols)
    src, dst = edge_index[0].to(torch.int64), edge_index[1].to(torch.int64)
    # Sort by (target, source): rows contiguous, columns ordered within a row.
    if num_nodes * max(num_cols, 1) <= _PACK_LIMIT:  # the packed key target * num_cols + source fits int64
        perm = torch.argsort(dst * max(num_cols, 1) + src)
    else:  # lexicographic: by source, then stably by target
        perm = torch.argsort(src, stable=True)
        perm = perm.index_select(0, torch.argsort(dst.index_select(0, perm), stable=True))
    counts = torch.bincount(dst, minlength=num_nodes)
    rowptr = torch.zeros(num_nodes + 1, dtype=torch.int64, device=edge_index.device)
    torch.cumsum(counts, 0, out=rowptr[1:])
    value = None if edge_weight is None else edge_weight.index_select(0, perm)
    col = src.index_select(0, perm)
    if perm.numel() < 2**31 - 1:
        perm = perm.to(torch.int32)  # kept for the graph's life: half the memory (it indexes as well)
    return CSR(rowptr, col, value, perm, num_nodes, num_cols)


_PACK_LIMIT = 2**63 - 1  # largest int64: keys up to it are exact


def _check_edges(edge_index: Tensor, num_rows: int, num_cols: int) -> None:
    """``ValueError`` naming the problem when ``edge_index`` cannot be compressed."""
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"build_csr: edge_index must be a [2, E] tensor, got "
                         f"{tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__}")
    if edge_index.is_meta:
        raise ValueError("build_csr: edge_index is on the meta device (a shape without values); "
                         "build it on a real device ('cpu' or 'cuda') first")
    if edge_index.dtype.is_floating_point or edge_index.dtype == torch.bool:
        raise ValueError(f"build_csr: edge_index must be integer, got {edge_index.dtype}; convert it with .long()")
    if num_rows < 0 or num_cols < 0:
        raise ValueError(f"build_csr: num_nodes and num_cols must be >= 0, got {num_rows} and {num_cols}")
    if edge_index.numel() == 0:
        return
    for row, name, bound, what in ((0, "source", num_cols, "num_cols"), (1, "target", num_rows, "num_nodes")):
        ids = edge_index[row]
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= bound:
            bad = lo if lo < 0 else hi
            raise ValueError(f"build_csr: {name} id {bad} (edge_index[{row}]) is out of range for {what} = {bound}; "
                             f"ids must satisfy 0 <= id < {what}: pass the right {what} or fix the edge list")
