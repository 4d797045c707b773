"""The sparse × dense product on a ``CSR`` (``gnnkit.ops.csr``), with autograd.

For the target-major adjacency ``A[i, j] = e_ij`` of the edges ``j → i``,
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
sparse tensor. In plain eager execution the same product and gradient run
as an ordinary autograd function (``spmm_parts``), skipping the operator
dispatch. ``set_spmm_backend`` chooses the kernels.
"""
from __future__ import annotations

import warnings
from typing import Optional

import torch
from torch import Tensor

from gnnkit.ops import triton as triton_ops
from gnnkit.ops.csr import CSR, build_csr  # noqa: F401  (re-exported: the historical home)


# Memory the value-gradient (SDDMM) may use for its gathered rows at once.
_SDDMM_CHUNK_BYTES = 64 * 2**20


def torch_csr(rowptr: Tensor, col: Tensor, value: Tensor, shape: tuple[int, int]) -> Tensor:
    """A torch sparse CSR tensor from its parts, the indices trusted as given
    (no invariant check: callers build them sorted).

    torch warns (once per process) that sparse CSR is "beta"; these kernels
    are the point of this module, so the notice is silenced here only, not
    process-wide, and only until it has been issued (``catch_warnings`` costs
    more than a small product).
    """
    if _CSR_NOTICE["issued"]:
        return torch.sparse_csr_tensor(rowptr, col, value, shape, check_invariants=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        out = torch.sparse_csr_tensor(rowptr, col, value, shape, check_invariants=False)
    _CSR_NOTICE["issued"] = True
    return out


def csr_to_dense(c: Tensor, out: Tensor | None = None, transpose: bool = False) -> Tensor:
    """A torch sparse CSR matrix as a dense one (one scatter; ``Tensor.to_dense``
    is several times slower), or its transpose when ``transpose``, written into
    ``out`` when given (zeroed first)."""
    crow, col = c.crow_indices(), c.col_indices()
    shape = c.shape[::-1] if transpose else c.shape
    out = torch.zeros(shape, dtype=c.dtype, device=c.device) if out is None else out.zero_()
    rows = torch.repeat_interleave(torch.arange(c.shape[0], device=c.device), crow.diff())
    if transpose:
        out[col, rows] = c.values()
    else:
        out[rows, col] = c.values()
    return out


_CSR_NOTICE = {"issued": False}


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
            adj = torch_csr(rowptr, col, v, shape)
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
        pattern = torch_csr(rowptr, col, torch.zeros(nnz, dtype=compute), (rowptr.numel() - 1, b.size(0)))
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
    return _spmm_grads(ctx, grad_out, lambda *a: torch.ops.gnnkit.spmm(*a, None, None, None, None),
                       torch.ops.gnnkit.sddmm)


def _spmm_grads(ctx, grad_out: Tensor, spmm_fn, sddmm_fn):
    rowptr, col, value, x, t_rowptr, t_col, t_perm, row = ctx.saved_tensors
    grad_value = grad_x = None
    if ctx.needs_input_grad[3]:
        if t_rowptr is None:
            raise RuntimeError("gnnkit::spmm: the gradient of x needs the transposed CSR; call spmm(csr, x)")
        value_t = None if value is None else value.index_select(0, t_perm)
        grad_x = spmm_fn(t_rowptr, t_col, value_t, grad_out)
    if ctx.needs_input_grad[2]:
        if row is None:
            raise RuntimeError("gnnkit::spmm: the gradient of value needs the row indices; call spmm(csr, x)")
        grad_value = sddmm_fn(row, col, grad_out, x, rowptr).to(value.dtype)
    return None, None, grad_value, grad_x, None, None, None, None


_spmm_op.register_autograd(_spmm_backward, setup_context=_spmm_setup_context)


class _SpmmFunction(torch.autograd.Function):
    """The operator's product and gradient as a plain autograd function: the
    eager path (the custom operator's dispatch costs 20–60 µs a call, more
    than the product itself on a small graph)."""

    @staticmethod
    def forward(ctx, rowptr, col, value, x, t_rowptr, t_col, t_perm, row):
        # (ctx in forward, not a setup_context: that style binds the arguments
        # with inspect.signature on every call, ~30 µs)
        out = _product(rowptr, col, value, (rowptr.numel() - 1, x.size(0)), x)
        _spmm_setup_context(ctx, (rowptr, col, value, x, t_rowptr, t_col, t_perm, row), out)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        return _spmm_grads(ctx, grad_out, spmm_parts, sddmm_parts)


def spmm_parts(rowptr: Tensor, col: Tensor, value: Tensor | None, x: Tensor, t_rowptr: Tensor | None = None,
               t_col: Tensor | None = None, t_perm: Tensor | None = None, row: Tensor | None = None) -> Tensor:
    """``torch.ops.gnnkit.spmm`` (arguments as there): the operator while
    ``torch.compile`` traces, a direct call otherwise (same numbers, same
    gradients, without the dispatcher's overhead)."""
    if not _eager(x):
        return torch.ops.gnnkit.spmm(rowptr, col, value, x, t_rowptr, t_col, t_perm, row)
    return _SpmmFunction.apply(rowptr, col, value, x, t_rowptr, t_col, t_perm, row)


def sddmm_parts(row: Tensor, col: Tensor, a: Tensor, b: Tensor, rowptr: Tensor | None = None) -> Tensor:
    """``torch.ops.gnnkit.sddmm`` while compiling, ``sddmm`` otherwise."""
    if not _eager(a):
        return torch.ops.gnnkit.sddmm(row, col, a, b, rowptr)
    return sddmm(row, col, a, b, rowptr)


def _eager(x: Tensor) -> bool:
    """Plain eager execution: not traced by torch.compile / export, no fake or
    functional tensors, no dispatch mode (where the operator must appear)."""
    return (type(x) in _PLAIN and not torch.compiler.is_compiling()
            and getattr(torch._C, "_len_torch_dispatch_stack", lambda: 0)() == 0)


_PLAIN = (Tensor, torch.nn.Parameter)


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
    out = spmm_parts(rowptr, col, value, x, t_rowptr, t_col, t_perm, row)
    return out.squeeze(1) if squeeze else out

