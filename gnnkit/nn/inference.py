"""Layer-wise inference over all nodes in batches of target nodes.

A mini-batch trained model must still predict every node. Running its
forward over the whole graph at once holds every layer's activations and,
for attention, a score per edge and head, all on the compute device. Here
one layer runs at a time over consecutive blocks of ``batch_size`` target
nodes: a block is those rows of the target-major adjacency (a rectangular
CSR), multiplied with the previous layer's output. The layer outputs for all
nodes stay where ``x`` lives; when that is not the compute device (``x`` in
CPU memory, blocks on a GPU), each block is compacted to the distinct source
nodes it reads and only their rows are moved, so the device holds one block
at a time. The result equals the full forward in eval mode (no neighbour
sampling: every edge is used), because each block keeps all in-edges of its
targets and the graph-wide quantities (GCN's degrees, the mean's in-degrees)
are computed on the whole graph first.

This is the layer-wise inference of GraphSAGE's reference code and PyG's
``examples/reddit.py`` (``SAGE.inference``), done without a sampler.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn

from gnnkit.nn.features import linear
from gnnkit.ops.sparse import CSR


def check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"inference batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def row_ranges(num_rows: int, batch_size: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` ranges of ``batch_size`` rows covering ``num_rows``."""
    check_batch_size(batch_size)
    for start in range(0, num_rows, batch_size):
        yield start, min(num_rows, start + batch_size)


def row_block(adj: CSR, start: int, end: int, compact: bool = True) -> tuple[CSR, Tensor | None]:
    """Rows ``[start, end)`` of a target-major CSR as a rectangular CSR.

    ``compact=True``: its columns are the distinct sources those rows read,
    returned with their global ids (sorted, so columns stay sorted within
    each row), to gather just those rows of the previous layer. Otherwise the
    columns keep their global ids (``num_cols`` unchanged) and the second
    value is ``None``: the block multiplies the whole previous layer."""
    lo, hi = int(adj.rowptr[start]), int(adj.rowptr[end])
    col = adj.col[lo:hi]
    value = None if adj.value is None else adj.value[lo:hi]
    rowptr = adj.rowptr[start:end + 1] - lo
    perm = torch.arange(hi - lo, device=col.device)
    if not compact:
        return CSR(rowptr, col, value, perm, end - start, adj.num_cols, _check=False), None
    src, local = torch.unique(col, sorted=True, return_inverse=True)
    return CSR(rowptr, local.to(col.dtype), value, perm, end - start, int(src.numel()), _check=False), src


def map_rows(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int, device: torch.device) -> Tensor:
    """``fn`` applied to ``x`` in blocks of rows on ``device``; the result is
    assembled where ``x`` lives."""
    out = None
    for start, end in row_ranges(x.size(0), batch_size):
        part = fn(x[start:end].to(device))
        if out is None:
            out = torch.empty((x.size(0),) + tuple(part.shape[1:]), dtype=part.dtype, device=x.device)
        out[start:end] = part.to(x.device)
    if out is None:  # no rows
        out = fn(x.to(device)).to(x.device)
    return out


def blocks(adj: CSR, batch_size: int, device: torch.device) -> Iterator[tuple[int, int, CSR, Tensor | None]]:
    """``(start, end, block, src)`` for consecutive target blocks, the block
    on ``device``. When the adjacency (and so the layer input) is stored on
    another device, blocks are compacted and ``src`` (left where the input
    is) selects the input rows to move; otherwise ``src`` is ``None``."""
    compact = adj.device != torch.device(device)
    for start, end in row_ranges(adj.num_rows, batch_size):
        block, src = row_block(adj, start, end, compact)
        yield start, end, (block.to(device) if compact else block), src


def gather(x: Tensor, index: Tensor | None, device: torch.device) -> Tensor:
    """Rows ``index`` of ``x`` on ``device`` (all of ``x`` when ``index`` is ``None``)."""
    if index is None:
        return x.to(device)
    return x.index_select(0, index.to(x.device)).to(device)


@torch.no_grad()
def layerwise_inference(model: nn.Module, x: Tensor | CSR, adj: CSR, batch_size: int = 4096,
                        device: torch.device | str | None = None) -> Tensor:
    """The eval-mode output of ``model`` for every node, one layer at a time
    over blocks of ``batch_size`` target nodes.

    Args:
        model: a ``GCN``, ``GraphSAGE``, ``GAT`` or ``MLP`` (a model with
            ``layers`` whose convolutions have an ``inference`` method, and an
            ``activation`` between layers).
        x: node features ``[N, F]`` (a ``CSR`` of features is made dense); the
            layer outputs are kept on ``x``'s device.
        adj: the graph as a target-major ``CSR`` ``[N, N]`` (``graph.csr()``),
            on the same device as ``x``.
        batch_size: target nodes per block (default 4096).
        device: where the blocks are computed (default: the model's device).

    Returns:
        ``[N, out_channels]`` on ``x``'s device.
    """
    check_batch_size(batch_size)
    layers = getattr(model, "layers", None)
    activation = getattr(model, "activation", None)
    if layers is None or activation is None:
        raise ValueError(f"layerwise_inference needs a model with `layers` and `activation` (GCN, GraphSAGE, GAT, "
                         f"MLP); got {type(model).__name__}")
    if isinstance(x, CSR):
        x = x.to_dense()
    if adj.num_rows != x.size(0) or adj.num_cols != x.size(0):
        raise ValueError(f"layerwise_inference: adj is {adj.num_rows}×{adj.num_cols} but x has {x.size(0)} nodes; "
                         f"pass the graph's own CSR (graph.csr())")
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else x.device
    device = torch.device(device)
    was_training = model.training
    model.eval()
    try:
        h = x
        for k, layer in enumerate(layers):
            if isinstance(layer, nn.Linear):
                h = map_rows(lambda part, lin=layer: linear(part, lin), h, batch_size, device)
            else:
                h = layer.inference(h, adj, batch_size, device)
            if k < len(layers) - 1:
                h = activation(h)
        return h
    finally:
        model.train(was_training)


__all__ = ["layerwise_inference", "row_block"]
