"""Compressed sparse rows and the sparse × dense product, with autograd.

The adjacency of a graph with edges ``j → i`` (``edge_index[0] = j``,
``edge_index[1] = i``) is stored by *target* row: ``A[i, j] = e_ij``, so that
the aggregation ``out[i] = Σ_j e_ij · x[j]`` is the product ``A @ x``.

``spmm`` runs the product through torch's CSR kernels (MKL on the CPU,
cuSPARSE on CUDA), or, with ``set_spmm_backend("triton")``, through the
Triton kernels of ``gnnkit.ops.triton`` (float32/bfloat16/float16, fp32
accumulation, deterministic; measured slower than cuSPARSE on an H200, so
not the default). It is differentiated by hand: the gradient for ``x`` is
``Aᵀ @ grad`` through a transposed CSR that is built once and cached on the
``CSR`` object, and the gradient for the edge values is the sampled
dense–dense product ``grad_e[k] = <grad[row_k], x[col_k]>``.

The product is the custom operator ``torch.ops.gnnkit.spmm`` on plain tensors,
with a fake (shape) implementation and an autograd formula, so
``torch.compile`` sees one opaque node instead of breaking the graph at the
sparse tensor. ``set_spmm_backend`` chooses the kernels.
"""
from __future__ import annotations

import warnings
from dataclasses import InitVar, dataclass, field
from typing import Optional

import torch
from torch import Tensor

from gnnkit.ops import triton as triton_ops


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


def _torch_csr(rowptr: Tensor, col: Tensor, value: Tensor, shape: tuple[int, int]) -> Tensor:
    # torch warns that sparse CSR is "beta"; these kernels are the point of this
    # module, so the notice is silenced here only, not process-wide.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        return torch.sparse_csr_tensor(rowptr, col, value, shape, check_invariants=False)


SPMM_BACKENDS = ("auto", "torch", "triton")
_state = {"backend": "auto"}
_FALLBACK_WARNED: set = set()


def set_spmm_backend(name: str) -> str:
    """Choose the kernels behind ``spmm`` and ``sddmm``.

    ``"auto"`` (default) and ``"torch"``: torch's kernels, MKL on the CPU and
    cuSPARSE on CUDA (half precision computed in fp32). ``"triton"``:
    gnnkit's Triton kernels wherever they can run (CUDA, or the CPU under
    ``TRITON_INTERPRET=1``), with a one-time warning and torch's kernels for
    other devices and dtypes. On the one H200 measured (2026-11-28,
    docs/performance-gpu.md) the Triton SpMM ran at a third of cuSPARSE's
    speed in fp32 and a sixth in bf16, so ``"auto"`` does not pick it.
    Returns the backend now in use.
    """
    if name not in SPMM_BACKENDS:
        raise ValueError(f"unknown spmm backend {name!r}: expected one of {SPMM_BACKENDS}")
    if name == "triton" and not triton_ops.is_available():
        raise ValueError("spmm backend 'triton' needs the triton package: `pip install triton`, or use 'auto'")
    _state["backend"] = name
    return name


def get_spmm_backend() -> str:
    """The ``spmm`` backend in use (see ``set_spmm_backend``)."""
    return _state["backend"]


def _warn_once(key: tuple, message: str) -> None:
    if key not in _FALLBACK_WARNED:
        _FALLBACK_WARNED.add(key)
        warnings.warn(message, stacklevel=3)


def _use_triton(x: Tensor, value: Tensor | None) -> bool:
    backend = _state["backend"]
    if backend in ("torch", "auto"):
        return False
    dtypes = (x.dtype,) if value is None else (x.dtype, value.dtype)
    reason = triton_ops.unsupported_reason(x.device, *dtypes)
    if reason is not None:
        _warn_once(("triton", x.device.type) + dtypes, f"spmm: {reason}; using the torch kernels instead")
        return False
    return True


_ONES: dict = {}


def _ones(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``n`` ones, a prefix of one shared buffer per dtype and device (grown
    to the largest ``n`` asked for): torch's CSR kernels need values even for
    an unweighted matrix, and a fresh ``[nnz]`` tensor per product would
    double the edge-sized memory of every unweighted layer call."""
    key = (dtype, device)
    buf = _ONES.get(key)
    if buf is None or buf.numel() < n:
        buf = _ONES[key] = torch.ones(n, dtype=dtype, device=device)
    return buf[:n]  # contiguous: the kernels take it without a copy


def _kernel_dtype(dtype: torch.dtype) -> torch.dtype:
    # Half precision is computed (and accumulated) in fp32 and cast back.
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _product(rowptr: Tensor, col: Tensor, value: Tensor | None, shape: tuple[int, int], x: Tensor) -> Tensor:
    """``A @ x`` for a CSR given by parts; x is 2-D, value may be None (ones)."""
    if x.size(1) == 0 or col.numel() == 0:
        return x.new_zeros(shape[0], x.size(1))
    if _use_triton(x, value):
        return triton_ops.spmm(rowptr, col, value, x, shape[0])
    compute = _kernel_dtype(x.dtype)
    xc = x.to(compute).contiguous()
    v = _ones(col.numel(), compute, x.device) if value is None else value.to(compute)
    try:
        # Autocast would cast the operands back to half precision, which the
        # sparse kernels do not take; the product runs in `compute` precision.
        with torch.autocast(x.device.type, enabled=False):
            adj = _torch_csr(rowptr, col, v, shape)
            if x.device.type == "cpu":
                # addmm into its own uninitialised output with beta = 0 (the
                # output's contents are ignored, NaN included) is one MKL call;
                # torch.sparse.mm zero-fills a result, multiplies into a temporary
                # and adds it: twice the time on a 2M-edge graph.
                out = torch.empty(shape[0], xc.size(1), dtype=compute, device=x.device)
                torch.addmm(out, adj, xc, beta=0.0, out=out)
            else:
                out = torch.sparse.mm(adj, xc)
    except (RuntimeError, NotImplementedError) as err:  # dtype/device the kernel lacks
        _warn_once((x.device.type, compute), f"spmm: sparse kernel unavailable for {x.device.type}/{compute} "
                                             f"({err}); using the gather/scatter path")
        row = torch.repeat_interleave(
            torch.arange(shape[0], device=x.device), (rowptr[1:] - rowptr[:-1]).to(torch.int64)
        )
        out = xc.new_zeros(shape[0], xc.size(1))
        out.index_add_(0, row, xc.index_select(0, col.to(torch.int64)) * v[:, None])
    return out.to(x.dtype)


def sddmm(row: Tensor, col: Tensor, a: Tensor, b: Tensor, rowptr: Tensor | None = None) -> Tensor:
    """Sampled dense–dense product: ``out[k] = <a[row[k]], b[col[k]]>``.

    Accumulated in fp32 for half-precision inputs (the result is fp32 then).
    The Triton kernel streams the rows. On the CPU, given the CSR offsets
    ``rowptr`` of entries sorted by row, torch's ``sampled_addmm`` computes it
    without gathering any rows (~8x faster than gathering); otherwise the
    torch path gathers in chunks so that at most ~64 MiB of rows exist at once.

    Shapes:
        row, col ``[nnz]``; a ``[R, F]``; b ``[C, F]`` → out ``[nnz]``.
    """
    if a.dtype == b.dtype and _use_triton(a, None):
        return triton_ops.sddmm(row, col, a, b).to(_kernel_dtype(a.dtype))
    nnz, feat = row.numel(), a.size(1)
    compute = _kernel_dtype(a.dtype)
    if rowptr is not None and a.device.type == "cpu" and nnz and rowptr.dtype == col.dtype:
        pattern = _torch_csr(rowptr, col, torch.zeros(nnz, dtype=compute), (rowptr.numel() - 1, b.size(0)))
        with torch.autocast("cpu", enabled=False):
            return torch.sparse.sampled_addmm(pattern, a.to(compute), b.to(compute).t(), beta=0.0).values()
    out = torch.empty(nnz, dtype=compute, device=a.device)
    chunk = max(1, _SDDMM_CHUNK_BYTES // max(1, 2 * feat * torch.finfo(compute).bits // 8))
    for start in range(0, nnz, chunk):
        r = row[start : start + chunk].to(torch.int64)
        c = col[start : start + chunk].to(torch.int64)
        out[start : start + chunk] = (a.index_select(0, r).to(compute) * b.index_select(0, c).to(compute)).sum(1)
    return out


# ---- the product as a torch custom operator (one opaque node for torch.compile)

@torch.library.custom_op("gnnkit::spmm", mutates_args=())
def _spmm_op(
    rowptr: Tensor,
    col: Tensor,
    value: Optional[Tensor],
    x: Tensor,
    t_rowptr: Optional[Tensor],
    t_col: Optional[Tensor],
    t_perm: Optional[Tensor],
    row: Optional[Tensor],
) -> Tensor:
    """``A @ x`` with ``A = (rowptr, col, value)`` of shape ``[len(rowptr) - 1, len(x)]``.

    ``t_rowptr, t_col, t_perm`` (the transpose, for the gradient of ``x``) and
    ``row`` (row of each entry, for the gradient of ``value``) are only read
    by the backward and may be ``None`` when that gradient is not needed.
    """
    return _product(rowptr, col, value, (rowptr.numel() - 1, x.size(0)), x)


@_spmm_op.register_fake
def _spmm_fake(rowptr, col, value, x, t_rowptr, t_col, t_perm, row):
    return x.new_empty(rowptr.size(0) - 1, x.size(1))


@torch.library.custom_op("gnnkit::sddmm", mutates_args=())
def _sddmm_op(row: Tensor, col: Tensor, a: Tensor, b: Tensor, rowptr: Optional[Tensor] = None) -> Tensor:
    return sddmm(row, col, a, b, rowptr)


@_sddmm_op.register_fake
def _sddmm_fake(row, col, a, b, rowptr=None):
    return a.new_empty(row.size(0), dtype=_kernel_dtype(a.dtype))


def _spmm_setup_context(ctx, inputs, output) -> None:
    rowptr, col, value, x, t_rowptr, t_col, t_perm, row = inputs
    # x is read only by the gradient of the values: without that gradient it
    # is not kept alive until the backward (often a temporary, e.g. D^-1/2 X).
    value_grad = value is not None and value.requires_grad
    ctx.save_for_backward(rowptr, col, value, x if value_grad else None, t_rowptr, t_col, t_perm, row)


def _spmm_backward(ctx, grad_out: Tensor):
    rowptr, col, value, x, t_rowptr, t_col, t_perm, row = ctx.saved_tensors
    grad_value = grad_x = None
    if ctx.needs_input_grad[3]:
        if t_rowptr is None:
            raise RuntimeError("gnnkit::spmm: the gradient of x needs the transposed CSR; call spmm(csr, x)")
        value_t = None if value is None else value.index_select(0, t_perm)
        grad_x = torch.ops.gnnkit.spmm(t_rowptr, t_col, value_t, grad_out, None, None, None, None)
    if ctx.needs_input_grad[2]:
        if row is None:
            raise RuntimeError("gnnkit::spmm: the gradient of value needs the row indices; call spmm(csr, x)")
        grad_value = torch.ops.gnnkit.sddmm(row, col, grad_out, x, rowptr).to(value.dtype)
    return None, None, grad_value, grad_x, None, None, None, None


_spmm_op.register_autograd(_spmm_backward, setup_context=_spmm_setup_context)


def spmm(csr: CSR, x: Tensor) -> Tensor:
    """Sparse × dense product ``out = A @ x``, i.e. ``out[i] = Σ_j A[i, j] · x[j]``.

    Differentiable for ``x`` and for ``csr.value``. Half-precision ``x`` is
    accumulated in fp32. Works under ``torch.compile`` without a graph break
    once the CSR's index caches exist (any eager call builds them).

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
    rowptr, col = csr._kernel_indices()
    value = csr.value
    grad = torch.is_grad_enabled()
    # Only what the backward will read is handed over (and built, once per graph).
    t_rowptr = t_col = t_perm = row = None
    if grad and x.requires_grad:
        t_rowptr, t_col, t_perm = csr._kernel_indices_t(with_perm=value is not None)
    if grad and value is not None and value.requires_grad:
        row = csr.row()
    out = torch.ops.gnnkit.spmm(rowptr, col, value, x, t_rowptr, t_col, t_perm, row)
    return out.squeeze(1) if squeeze else out


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
        out = torch.ops.gnnkit.spmm(rowptr, col, value, g, None, None, None, None)
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
        out = torch.ops.gnnkit.spmm(t_rowptr, t_col, value_t, e, None, None, None, None)
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
            out[:, k] = torch.ops.gnnkit.spmm(rowptr, col, value[k], x[:, k], None, None, None, None)
        ctx.save_for_backward(value, x, rowptr, col, t_rowptr, t_col, t_perm, row)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        value, x, rowptr, col, t_rowptr, t_col, t_perm, row = ctx.saved_tensors
        grad_value = grad_x = None
        if ctx.needs_input_grad[1]:
            grad_x = torch.empty_like(x)
            for k in range(value.size(0)):
                grad_x[:, k] = torch.ops.gnnkit.spmm(t_rowptr, t_col, value[k].index_select(0, t_perm), grad[:, k],
                                                     None, None, None, None)
        if ctx.needs_input_grad[0]:
            grad_value = torch.empty_like(value)
            for k in range(value.size(0)):
                grad_value[k] = torch.ops.gnnkit.sddmm(row, col, grad[:, k], x[:, k], rowptr)
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
