"""Node features as a dense tensor or as a sparse ``CSR``, for a layer's input.

Bag-of-words features (Cora: 1.3 % non-zero, CiteSeer: 0.9 %) waste most of a
dense ``x @ W``. ``sparse_features`` turns them into a ``CSR`` ``[N, F]``;
``linear`` then computes ``x @ Wᵀ`` with the sparse product, whose backward
``xᵀ @ grad`` runs through the CSR's cached transpose.
"""
from __future__ import annotations

from typing import Any

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.ops.sparse import CSR, build_csr, spmm


def sparse_features(x: Tensor) -> CSR:
    """The non-zeros of a dense ``[N, F]`` matrix as a ``CSR`` (row = node)."""
    if x.dim() != 2:
        raise ValueError(f"sparse_features: x must be [num_nodes, F], got shape {tuple(x.shape)}")
    node, feat = x.nonzero(as_tuple=True)
    return build_csr(torch.stack([feat, node]), x.size(0), x[node, feat], num_cols=x.size(1))


def dense_features(x: Any) -> Any:
    """``x`` dense: a ``CSR`` or ``torch.sparse`` matrix of features is
    densified (part by part for a bipartite pair), for a layer that
    aggregates its input features themselves; anything else as it is."""
    if isinstance(x, tuple):
        return tuple(dense_features(part) for part in x)
    if isinstance(x, CSR) or (isinstance(x, Tensor) and x.layout != torch.strided):
        return x.to_dense()
    return x


def num_rows(x: Tensor | CSR) -> int:
    """Number of nodes of dense or CSR features."""
    return x.num_rows if isinstance(x, CSR) else x.size(0)


def dtype_of(x: Tensor | CSR) -> torch.dtype:
    """The dtype of dense or CSR features (a CSR without values: float32)."""
    if isinstance(x, CSR):
        return x.value.dtype if x.value is not None else torch.float32
    return x.dtype


def feature_dropout(x: Tensor | CSR, p: float, training: bool) -> Tensor | CSR:
    """Dropout on the feature values; on a CSR only the stored non-zeros are
    dropped (what dense dropout does to a sparse matrix, at nnz cost).
    Torch's ``F.dropout`` and its random stream, as the node models whose
    figures were measured with it use; ``dropout`` below is the same on a
    faster CPU stream."""
    return _on_values(x, p, training, lambda t: F.dropout(t, p, training=True))


def _on_values(x: Tensor | CSR, p: float, training: bool, drop) -> Tensor | CSR:
    """``drop`` applied to a dense ``x`` or to a CSR's stored values (no-op when not training or ``p = 0``)."""
    if not training or p == 0.0:
        return x
    if isinstance(x, CSR):
        value = x.value if x.value is not None else torch.ones(x.nnz, device=x.device)
        return x.with_value(drop(value))
    return drop(x)


def dropout(x: Tensor | CSR, p: float, training: bool) -> Tensor | CSR:
    """Inverted dropout; on a ``CSR`` only its stored values are dropped.

    On the CPU the mask comes from 16-bit uniform draws, four per 64-bit
    word of a numpy ``SFC64`` stream seeded from torch's global generator
    (so ``torch.manual_seed`` and a checkpoint's RNG state govern it), and
    is built in numpy: the same distribution as ``torch.bernoulli`` up to a
    drop probability rounded to a multiple of 1/65536. On a 2708 × 64
    input, one thread: 0.26 ms, against 1.99 ms for ``F.dropout`` (whose
    ``bernoulli_`` is slow on the CPU) and 0.52 ms for the same mask from
    torch's Mersenne Twister and its bool / int16 kernels.
    Elsewhere (and under ``torch.compile``) this is ``F.dropout``.
    """
    def drop(t: Tensor) -> Tensor:
        if t.device.type != "cpu" or torch.compiler.is_compiling():  # (numpy's generator does not trace)
            return F.dropout(t, p, training=True)
        return t * keep_mask(t.shape, p, t.dtype)

    return _on_values(x, p, training, drop)


def keep_mask(shape: torch.Size | tuple[int, ...], p: float, dtype: torch.dtype = torch.float32) -> Tensor:
    """A CPU tensor of ``shape`` holding ``1 / (1 - p)`` with probability
    ``1 - p`` (``p`` rounded to a multiple of 1/65536) and ``0`` otherwise,
    independently; ``dropout``'s mask."""
    n = math.prod(shape)
    seed = int(torch.randint(0, 2**63 - 1, (1,)))  # one draw of torch's generator seeds the stream
    draws = np.random.SFC64(seed).random_raw((n + 3) // 4).view(np.uint16)[:n]
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    mask = (draws >= round(p * 65536)).astype(np_dtype)
    mask *= np_dtype(1.0 / (1.0 - p))
    out = torch.from_numpy(mask).view(shape)
    return out if out.dtype == dtype else out.to(dtype)


def linear(x: Tensor | CSR, lin: nn.Linear) -> Tensor:
    """``x @ lin.weightᵀ (+ lin.bias)`` for dense or CSR ``x``."""
    if isinstance(x, CSR):
        if x.num_cols != lin.in_features:
            raise ValueError(f"features have {x.num_cols} columns but the layer expects {lin.in_features}")
        out = spmm(x, lin.weight.t())
        if torch.is_autocast_enabled(out.device.type):  # match what nn.Linear gives under autocast
            out = out.to(torch.get_autocast_dtype(out.device.type))
        return out if lin.bias is None else out + lin.bias
    return lin(x)
