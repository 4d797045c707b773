"""Compressed sparse rows and the sparse × dense product, with autograd.

The adjacency of a graph with edges ``j → i`` (``edge_index[0] = j``,
``edge_index[1] = i``) is stored by *target* row: ``A[i, j] = e_ij``, so that
the aggregation ``out[i] = Σ_j e_ij · x[j]`` is the product ``A @ x``.

``spmm`` runs the product through torch's CSR kernels (MKL on CPU, cuSPARSE on
CUDA) and differentiates it by hand: the gradient for ``x`` is ``Aᵀ @ grad``
through a transposed CSR that is built once and cached on the ``CSR`` object,
and the gradient for the edge values is the sampled dense–dense product
``grad_e[k] = <grad[row_k], x[col_k]>`` computed in bounded chunks.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch
from torch import Tensor

# torch warns once per process that sparse CSR is "beta"; these kernels are the
# point of this module, so the notice is noise for gnnkit users.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

# Memory the value-gradient (SDDMM) may use for its gathered rows at once.
_SDDMM_CHUNK_BYTES = 64 * 2**20


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

    def __post_init__(self) -> None:
        if self.rowptr.dtype not in (torch.int32, torch.int64) or self.col.dtype not in (torch.int32, torch.int64):
            raise ValueError(
                f"CSR index tensors must be int32 or int64, got rowptr {self.rowptr.dtype} and col {self.col.dtype}"
            )
        if self.rowptr.dim() != 1 or self.rowptr.numel() != self.num_rows + 1:
            raise ValueError(
                f"CSR rowptr must have num_rows + 1 = {self.num_rows + 1} entries, got shape {tuple(self.rowptr.shape)}"
            )
        nnz = self.col.numel()
        if self.perm.numel() != nnz or (self.value is not None and self.value.shape != (nnz,)):
            raise ValueError(
                f"CSR col, perm and value must all have nnz = {nnz} entries, got perm {tuple(self.perm.shape)}"
                f" and value {None if self.value is None else tuple(self.value.shape)}"
            )
        if self.rowptr.numel() and int(self.rowptr[-1]) != nnz:
            raise ValueError(f"CSR rowptr[-1] = {int(self.rowptr[-1])} must equal the number of entries ({nnz})")

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

    def with_value(self, value: Tensor | None) -> CSR:
        """The same sparsity pattern with new values, sharing the cached
        structure (row indices, transpose)."""
        if value is not None and value.shape != (self.nnz,):
            raise ValueError(f"CSR.with_value: expected {self.nnz} values, got shape {tuple(value.shape)}")
        out = CSR(self.rowptr, self.col, value, self.perm, self.num_rows, self.num_cols)
        out._cache = self._cache  # structure-only entries: safe to share
        return out

    def transpose_structure(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(rowptr_t, col_t, tperm)`` of the transpose, where entry ``k`` of
        the transpose is entry ``tperm[k]`` of this matrix (cached)."""
        if "t" not in self._cache:
            row = self.row()
            key = self.col.to(torch.int64) * max(self.num_rows, 1) + row
            tperm = torch.argsort(key)
            counts = torch.bincount(self.col.to(torch.int64), minlength=self.num_cols)
            rowptr_t = torch.zeros(self.num_cols + 1, dtype=torch.int64, device=self.device)
            torch.cumsum(counts, 0, out=rowptr_t[1:])
            self._cache["t"] = (rowptr_t, row.index_select(0, tperm), tperm)
        return self._cache["t"]

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

    def _kernel_indices_t(self) -> tuple[Tensor, Tensor, Tensor]:
        if "idx32_t" not in self._cache:
            rowptr_t, col_t, tperm = self.transpose_structure()
            dtype = self._kernel_indices()[0].dtype
            self._cache["idx32_t"] = (rowptr_t.to(dtype), col_t.to(dtype), tperm)
        return self._cache["idx32_t"]


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
    src, dst = edge_index[0].to(torch.int64), edge_index[1].to(torch.int64)
    # One sort by (target, source): rows contiguous, columns ordered within a row.
    perm = torch.argsort(dst * max(num_cols, 1) + src)
    counts = torch.bincount(dst, minlength=num_nodes)
    rowptr = torch.zeros(num_nodes + 1, dtype=torch.int64, device=edge_index.device)
    torch.cumsum(counts, 0, out=rowptr[1:])
    value = None if edge_weight is None else edge_weight.index_select(0, perm)
    return CSR(rowptr, src.index_select(0, perm), value, perm, num_nodes, num_cols)


def _torch_csr(rowptr: Tensor, col: Tensor, value: Tensor, shape: tuple[int, int]) -> Tensor:
    return torch.sparse_csr_tensor(rowptr, col, value, shape, check_invariants=False)


_FALLBACK_WARNED: set = set()


def _kernel_dtype(dtype: torch.dtype) -> torch.dtype:
    # Half precision is computed (and accumulated) in fp32 and cast back.
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _product(rowptr: Tensor, col: Tensor, value: Tensor | None, shape: tuple[int, int], x: Tensor) -> Tensor:
    """``A @ x`` for a CSR given by parts; x is 2-D, value may be None (ones)."""
    if x.size(1) == 0 or col.numel() == 0:
        return x.new_zeros(shape[0], x.size(1))
    compute = _kernel_dtype(x.dtype)
    xc = x.to(compute).contiguous()
    v = torch.ones(col.numel(), dtype=compute, device=x.device) if value is None else value.to(compute)
    try:
        out = torch.sparse.mm(_torch_csr(rowptr, col, v, shape), xc)
    except (RuntimeError, NotImplementedError) as err:  # dtype/device the kernel lacks
        key = (x.device.type, compute)
        if key not in _FALLBACK_WARNED:
            _FALLBACK_WARNED.add(key)
            warnings.warn(f"spmm: sparse kernel unavailable for {key} ({err}); using the gather/scatter path")
        row = torch.repeat_interleave(
            torch.arange(shape[0], device=x.device), (rowptr[1:] - rowptr[:-1]).to(torch.int64)
        )
        out = xc.new_zeros(shape[0], xc.size(1))
        out.index_add_(0, row, xc.index_select(0, col.to(torch.int64)) * v[:, None])
    return out.to(x.dtype)


def sddmm(row: Tensor, col: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Sampled dense–dense product: ``out[k] = <a[row[k]], b[col[k]]>``.

    Computed in chunks so that at most ~64 MiB of gathered rows exist at once.

    Shapes:
        row, col ``[nnz]``; a ``[R, F]``; b ``[C, F]`` → out ``[nnz]``.
    """
    nnz, feat = row.numel(), a.size(1)
    compute = _kernel_dtype(a.dtype)
    out = torch.empty(nnz, dtype=compute, device=a.device)
    chunk = max(1, _SDDMM_CHUNK_BYTES // max(1, 2 * feat * torch.finfo(compute).bits // 8))
    for start in range(0, nnz, chunk):
        r = row[start : start + chunk].to(torch.int64)
        c = col[start : start + chunk].to(torch.int64)
        out[start : start + chunk] = (a.index_select(0, r).to(compute) * b.index_select(0, c).to(compute)).sum(1)
    return out


class _SpMM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, value: Tensor | None, x: Tensor, csr: CSR) -> Tensor:
        rowptr, col = csr._kernel_indices()
        ctx.csr = csr
        ctx.save_for_backward(value, x)
        return _product(rowptr, col, value, (csr.num_rows, csr.num_cols), x)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        value, x = ctx.saved_tensors
        csr: CSR = ctx.csr
        grad_value = grad_x = None
        if ctx.needs_input_grad[1]:
            rowptr_t, col_t, tperm = csr._kernel_indices_t()
            value_t = None if value is None else value.index_select(0, tperm)
            grad_x = _product(rowptr_t, col_t, value_t, (csr.num_cols, csr.num_rows), grad_out)
        if ctx.needs_input_grad[0] and value is not None:
            grad_value = sddmm(csr.row(), csr.col, grad_out, x).to(value.dtype)
        return grad_value, grad_x, None


def spmm(csr: CSR, x: Tensor) -> Tensor:
    """Sparse × dense product ``out = A @ x``, i.e. ``out[i] = Σ_j A[i, j] · x[j]``.

    Differentiable for ``x`` and for ``csr.value``. Half-precision ``x`` is
    accumulated in fp32.

    Shapes:
        csr ``[N, M]``, x ``[M, F]`` (or ``[M]``) → out ``[N, F]`` (or ``[N]``).
    """
    if not isinstance(csr, CSR):
        raise ValueError(f"spmm expects a gnnkit.ops.CSR, got {type(csr).__name__}; build one with build_csr()")
    squeeze = x.dim() == 1
    if squeeze:
        x = x.unsqueeze(1)
    if x.dim() != 2 or x.size(0) != csr.num_cols:
        raise ValueError(
            f"spmm: x must have shape [{csr.num_cols}, F] to match the CSR's {csr.num_cols} columns, "
            f"got {tuple(x.shape)}"
        )
    if x.device != csr.device:
        raise ValueError(f"spmm: x is on {x.device} but the CSR is on {csr.device}; move one with .to()")
    out = _SpMM.apply(csr.value, x, csr)
    return out.squeeze(1) if squeeze else out
