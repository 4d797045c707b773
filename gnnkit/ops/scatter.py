"""Scatter and segment reductions, with a choice of backend.

``scatter(src, index, dim_size, reduce)`` computes, for every output row ``i``,
``out[i] = reduce({src[k] : index[k] == i})``; rows that receive nothing are 0.
``segment(src, rowptr, reduce)`` does the same for ``src`` already grouped by
row, ``rowptr`` holding the start of each row (CSR offsets).

Backends: ``"torch"`` (``Tensor.scatter_reduce_``, CPU and CUDA, the default)
and ``"torch_scatter"`` (the optional ``torch-scatter`` package, extra
``[scatter]``). ``set_backend("auto")`` picks ``torch_scatter`` when installed.
Half-precision inputs are accumulated in float32 and cast back.
``deterministic=True`` sorts by index and reduces contiguous segments, so the
result is bit-identical run to run (no atomics).
"""
from __future__ import annotations

import importlib.util

import torch
from torch import Tensor

REDUCTIONS = ("sum", "mean", "max", "min")
BACKENDS = ("torch", "torch_scatter")

_state = {"backend": "torch"}
_TORCH_REDUCE = {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin"}


def available_backends() -> list[str]:
    """The scatter backends that can run here: always ``"torch"``, plus
    ``"torch_scatter"`` when that package imports."""
    names = ["torch"]
    if importlib.util.find_spec("torch_scatter") is not None:
        names.append("torch_scatter")
    return names


def set_backend(name: str) -> str:
    """Choose the scatter backend: ``"torch"``, ``"torch_scatter"`` or ``"auto"``.

    Returns the backend now in use. ``"auto"`` takes ``torch_scatter`` when it
    is installed and ``torch`` otherwise.
    """
    if name == "auto":
        name = "torch_scatter" if "torch_scatter" in available_backends() else "torch"
    if name not in BACKENDS:
        raise ValueError(f"unknown scatter backend {name!r}: expected one of {BACKENDS + ('auto',)}")
    if name not in available_backends():
        raise ValueError(
            f"scatter backend {name!r} is not installed: `pip install gnnkit[scatter]`, "
            f"or use set_backend('torch')"
        )
    _state["backend"] = name
    return name


def get_backend() -> str:
    """The scatter backend in use."""
    return _state["backend"]


def _check_reduce(reduce: str) -> None:
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduce {reduce!r}: expected one of {REDUCTIONS}")


def _accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    # fp16/bf16 sums lose digits fast; accumulate in fp32 and cast back once.
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def scatter(
    src: Tensor,
    index: Tensor,
    dim_size: int | None = None,
    reduce: str = "sum",
    deterministic: bool = False,
    *,
    dim: int = 0,
) -> Tensor:
    """Reduce the rows of ``src`` into ``dim_size`` groups given by ``index``.

    ``out[i] = reduce_{k : index[k] = i} src[k]``; empty groups give 0.

    Args:
        src: values, reduced along dimension ``dim``.
        index: group of each row of ``src``, integer, ``0 <= index < dim_size``.
        dim_size: number of groups (default ``index.max() + 1``).
        reduce: ``"sum"`` (default; PyG's ``"add"`` too), ``"mean"``,
            ``"max"`` or ``"min"``. The mean of integer values is
            computed and returned in the default floating dtype.
        deterministic: sort and reduce contiguous segments instead of
            scattering with atomics; bit-identical run to run.
        dim: the dimension of ``src`` that ``index`` runs along (default 0).
            PyG's positional order ``scatter(src, index, dim, dim_size,
            reduce)`` is recognised by its integer fourth argument.

    Shapes:
        src ``[E, *]``, index ``[E]`` → out ``[dim_size, *]`` (``dim=0``).
    """
    if isinstance(reduce, int) and not isinstance(reduce, bool):  # PyG's scatter(src, index, dim, dim_size[, reduce])
        dim, dim_size = dim_size, reduce
        reduce, deterministic = (deterministic, False) if isinstance(deterministic, str) else ("sum", False)
    reduce = "sum" if reduce == "add" else reduce
    if src.dim() and dim % src.dim() != 0:
        return scatter(src.movedim(dim, 0), index, dim_size, reduce, deterministic).movedim(0, dim)
    _check_reduce(reduce)
    if index.dim() != 1 or index.numel() != src.size(0):
        raise ValueError(
            f"scatter: index must be 1-D with one entry per row of src "
            f"(src has {src.size(0)} rows, index has shape {tuple(index.shape)})"
        )
    if dim_size is None:
        dim_size = int(index.max()) + 1 if index.numel() else 0
    out_dtype = src.dtype
    if reduce == "mean" and not (src.is_floating_point() or src.is_complex()):
        out_dtype = torch.get_default_dtype()  # the mean of integers 1 and 2 is 1.5, not 1
        src = src.to(out_dtype)
    src = src.to(_accumulation_dtype(src.dtype))
    if deterministic and (src.is_floating_point() or src.is_complex()):
        # (integers: any order of additions gives the same sum, so the scatter below is deterministic already)
        out = _scatter_sorted(src, index, dim_size, reduce)
    elif get_backend() == "torch_scatter" and src.is_floating_point() and not (reduce in ("max", "min") and src.requires_grad):
        # (max/min with a gradient: torch's path, which splits a tie's gradient evenly as PyG's does;
        # torch_scatter's gives all of it to one of the tied entries, so the gradient would depend on the backend)
        import torch_scatter

        out = torch_scatter.scatter(src, index, dim=0, dim_size=dim_size, reduce=reduce)
    else:
        out = _scatter_torch(src, index, dim_size, reduce)
    return out.to(out_dtype)


def _scatter_torch(src: Tensor, index: Tensor, dim_size: int, reduce: str) -> Tensor:
    shape = (dim_size,) + tuple(src.shape[1:])
    idx = index.view((-1,) + (1,) * (src.dim() - 1)).expand_as(src)
    out = src.new_zeros(shape)
    # include_self=False: empty groups keep the 0 they start with, and max/min
    # are not polluted by that 0.
    return out.scatter_reduce(0, idx, src, reduce=_TORCH_REDUCE[reduce], include_self=False)


def _scatter_sorted(src: Tensor, index: Tensor, dim_size: int, reduce: str) -> Tensor:
    order = torch.argsort(index, stable=True)
    counts = torch.bincount(index, minlength=dim_size)
    rowptr = torch.zeros(dim_size + 1, dtype=torch.long, device=index.device)
    torch.cumsum(counts, 0, out=rowptr[1:])
    return _segment_impl(src.index_select(0, order), rowptr, reduce)


def segment(src: Tensor, rowptr: Tensor, reduce: str = "sum") -> Tensor:
    """Reduce contiguous row segments: ``out[i] = reduce(src[rowptr[i]:rowptr[i+1]])``.

    Deterministic (no atomics). Empty segments give 0.

    Shapes:
        src ``[E, *]``, rowptr ``[N + 1]`` → out ``[N, *]``.
    """
    _check_reduce(reduce)
    if rowptr.dim() != 1 or rowptr.numel() < 1:
        raise ValueError(f"segment: rowptr must be 1-D with N + 1 entries, got shape {tuple(rowptr.shape)}")
    # (a data-dependent check: skipped while torch.compile traces, where it would break the graph)
    if not torch.compiler.is_compiling() and int(rowptr[-1]) != src.size(0):
        raise ValueError(
            f"segment: rowptr[-1] = {int(rowptr[-1])} must equal the number of rows of src ({src.size(0)})"
        )
    out_dtype = src.dtype
    if reduce == "mean" and not (src.is_floating_point() or src.is_complex()):
        out_dtype = torch.get_default_dtype()  # as in scatter: a mean of integers is not truncated
        src = src.to(out_dtype)
    return _segment_impl(src.to(_accumulation_dtype(src.dtype)), rowptr, reduce).to(out_dtype)


def _segment_impl(src: Tensor, rowptr: Tensor, reduce: str) -> Tensor:
    num_rows = rowptr.numel() - 1
    if src.size(0) == 0:
        return src.new_zeros((num_rows,) + tuple(src.shape[1:]))
    if reduce in ("sum", "mean"):
        # initial=0 gives empty segments 0 (mean would give nan) and changes nothing else.
        return torch.segment_reduce(src, reduce, offsets=rowptr, axis=0, unsafe=True, initial=0)
    # For max/min an initial value would clamp every segment; empty ones come
    # back as -inf/+inf and are set to 0 here.
    out = torch.segment_reduce(src, reduce, offsets=rowptr, axis=0, unsafe=True)
    nonempty = (rowptr[1:] > rowptr[:-1]).view((-1,) + (1,) * (src.dim() - 1))
    return torch.where(nonempty, out, torch.zeros_like(out))
