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

Two declared interfaces, no attribute guessing:

* a **model** has ``inference_layers()``, returning its layers in order as
  ``(layer, post)`` pairs, ``post`` the function applied to the layer's
  output for all nodes (the activation between layers) or ``None``;
* a **layer** is an ``nn.Linear`` (applied row-wise) or a ``BlockwiseLayer``:
  its ``forward`` is ``forward_block(prepare(graph), transform(x), transform(x))``,
  and here the same three methods run with ``prepare`` on the whole graph,
  ``transform`` on blocks of rows, and ``forward_block`` on blocks of targets.
  No formula is written twice.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import Block
from gnnkit.nn.features import linear
from gnnkit.ops.sparse import CSR


@runtime_checkable
class BlockwiseLayer(Protocol):
    """A layer whose forward is split into the three steps layer-wise inference runs apart."""

    def prepare(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int,
                dtype: torch.dtype) -> Block:
        """The whole graph's operator (normalisation, loops, ...), cached per graph."""

    def transform(self, x: Tensor) -> tuple[Tensor, ...]:
        """The node-wise part: row-aligned ``[N, *]`` tensors computed from ``x``
        (an entry may be ``x`` itself)."""

    def forward_block(self, block: Block, src: tuple[Tensor, ...], dst: tuple[Tensor, ...]) -> Tensor:
        """The output rows of ``block``'s targets from the transformed state of
        its sources (``src``, one row per CSR column) and of its targets
        (``dst``, one row per CSR row)."""


def check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"inference batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def row_ranges(num_rows: int, batch_size: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` ranges of ``batch_size`` rows covering ``num_rows``
    (one empty range when there are no rows, so shapes still come out)."""
    check_batch_size(batch_size)
    for start in range(0, max(num_rows, 1), batch_size):
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
    return map_state(lambda part: (fn(part),), x, batch_size, device)[0]


def map_state(fn: Callable[[Tensor], tuple[Tensor, ...]], x: Tensor, batch_size: int,
              device: torch.device) -> tuple[Tensor, ...]:
    """``fn`` (returning row-aligned tensors) applied to blocks of rows of
    ``x`` on ``device``, assembled where ``x`` lives. An entry that is
    ``fn``'s input itself is returned as ``x``, not copied."""
    outs: list | None = None
    for start, end in row_ranges(x.size(0), batch_size):
        part = x[start:end].to(device)
        res = fn(part)
        if outs is None:
            outs = [x if r is part else torch.empty((x.size(0),) + tuple(r.shape[1:]), dtype=r.dtype, device=x.device)
                    for r in res]
        for out, r in zip(outs, res):
            if out is not x:
                out[start:end] = r.to(x.device)
    return tuple(outs)


def blocks(full: Block, batch_size: int, device: torch.device) -> Iterator[tuple[int, int, Block, Tensor | None]]:
    """``(start, end, block, src)`` for consecutive target blocks, the block
    on ``device``. When the adjacency (and so the layer input) is stored on
    another device, blocks are compacted and ``src`` (left where the input
    is) selects the input rows to move; otherwise ``src`` is ``None``."""
    adj = full.csr
    compact = adj.device != torch.device(device)
    for start, end in row_ranges(adj.num_rows, batch_size):
        csr, src = row_block(adj, start, end, compact)
        loop = None if full.loop is None else full.loop[start:end].to(device)
        src_scale = dst_scale = None
        if full.scaled:
            src_scale = (full.src_scale if src is None else full.src_scale.index_select(0, src)).to(device)
            dst_scale = full.dst_scale[start:end].to(device)
        yield start, end, Block(csr.to(device) if compact else csr, loop, src_scale, dst_scale), src


def gather(x: Tensor, index: Tensor | None, device: torch.device) -> Tensor:
    """Rows ``index`` of ``x`` on ``device`` (all of ``x`` when ``index`` is ``None``)."""
    if index is None:
        return x.to(device)
    return x.index_select(0, index.to(x.device)).to(device)


class CarryInitial:
    """A layer that reads the initial representation ``H^{(0)}`` beside ``H``
    (APPNP's steps, GCN2Conv), run by layer-wise inference on ``[H | H^{(0)}]``.

    Layer-wise inference hands each layer one tensor; here it is the two
    concatenated (``2 · width`` columns), so every block gets the rows of
    both. ``compute(block, (H, H0)_src, (H, H0)_dst)`` gives the block's new
    ``H``, and ``H^{(0)}`` of its targets is carried on unchanged.

    Args:
        layer: gives ``prepare`` (the whole graph's operator).
        width: columns of ``H`` (and of ``H^{(0)}``).
        compute: the block computation (default ``layer.forward_block``).
    """

    def __init__(self, layer: nn.Module, width: int,
                 compute: Callable[[Block, tuple, tuple], Tensor] | None = None) -> None:
        self.layer, self.width = layer, width
        self.compute = layer.forward_block if compute is None else compute

    def prepare(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int,
                dtype: torch.dtype) -> Block:
        return self.layer.prepare(edge_index, edge_weight, num_nodes, dtype)

    def transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x[:, :self.width], x[:, self.width:]

    def forward_block(self, block: Block, src: tuple[Tensor, ...], dst: tuple[Tensor, ...]) -> Tensor:
        return torch.cat([self.compute(block, src, dst), dst[1]], dim=1)


def carry(fn: Callable[[Tensor], Tensor] | None, width: int) -> Callable[[Tensor], Tensor]:
    """The ``post`` function for ``[H | H^{(0)}]``: ``fn`` on ``H``, ``H^{(0)}`` kept.

    Args:
        fn: the activation applied to ``H`` (``None``: the identity).
        width: columns of ``H``.
    """
    return lambda t: torch.cat([t[:, :width] if fn is None else fn(t[:, :width]), t[:, width:]], dim=1)


@torch.no_grad()
def layer_inference(layer: nn.Module, x: Tensor, adj: CSR, batch_size: int, device: torch.device) -> Tensor:
    """One layer's output for all nodes, over blocks of ``batch_size`` targets
    on ``device``; the result is kept on ``x``'s device.

    ``layer`` is an ``nn.Linear`` or a ``BlockwiseLayer``; graph-wide
    quantities (GCN's degrees, the mean's in-degrees) come from ``prepare`` on
    the whole graph, so the result equals the layer's forward."""
    if isinstance(layer, nn.Linear):
        return map_rows(lambda part: linear(part, layer), x, batch_size, device)
    if not isinstance(layer, BlockwiseLayer):
        raise ValueError(f"layerwise_inference: {type(layer).__name__} is neither an nn.Linear nor a layer with "
                         f"prepare / transform / forward_block (gnnkit.nn.inference.BlockwiseLayer)")
    full = layer.prepare(adj, None, x.size(0), x.dtype)
    state = map_state(layer.transform, x, batch_size, device)
    out = None
    for start, end, block, src in blocks(full, batch_size, device):
        part = layer.forward_block(block, tuple(gather(t, src, device) for t in state),
                                   tuple(t[start:end].to(device) for t in state))
        if out is None:
            out = torch.empty((x.size(0),) + tuple(part.shape[1:]), dtype=part.dtype, device=x.device)
        out[start:end] = part.to(x.device)
    return out


@torch.no_grad()
def layerwise_inference(model: nn.Module, x: Tensor | CSR, adj: CSR, batch_size: int = 4096,
                        device: torch.device | str | None = None) -> Tensor:
    """The eval-mode output of ``model`` for every node, one layer at a time
    over blocks of ``batch_size`` target nodes.

    Args:
        model: a model with ``inference_layers()`` (``GCN``, ``GraphSAGE``,
            ``GAT``, ``MLP``; see the module docstring).
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
    if not callable(getattr(model, "inference_layers", None)):
        raise ValueError(f"layerwise_inference needs a model with inference_layers() returning (layer, post) pairs "
                         f"(GCN, GraphSAGE, GAT, MLP); got {type(model).__name__}")
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
        for layer, post in model.inference_layers():
            h = layer_inference(layer, h, adj, batch_size, device)
            if post is not None:
                h = post(h)
        return h
    finally:
        model.train(was_training)


__all__ = ["BlockwiseLayer", "CarryInitial", "carry", "layer_inference", "layerwise_inference", "row_block"]
