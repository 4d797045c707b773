"""A small message-passing base: message → aggregate → update.

``propagate`` computes ``update(aggregate(message(x_j, e_ij)), x_i)`` over the
edges ``j → i``. Subclasses override any of the three steps; their
parameters are bound by name (``x_j``, ``x_i``, ``edge_weight``, ``index``,
..., see ``gnnkit.nn.message_args``), and PyG's calling convention
``propagate(edge_index, x=..., **kwargs)`` works as in PyG. A layer that keeps the
default ``message`` (``e_ij · x_j``) and ``aggregate`` with a ``"sum"`` or
``"mean"`` aggregation never builds the ``[E, F]`` message tensor:
``propagate`` takes the fused sparse product ``spmm`` instead; ``"max"`` /
``"min"`` on CPU tensors (without implicit loops or trainable edge weights)
take torch's reducing sparse product ``torch.sparse.mm(..., reduce="amax")``
instead of a gather and a scatter. Overriding
``message`` or ``aggregate`` switches to the per-edge path, so the override is
what runs; ``update`` is always called.

Every built-in layer whose formula is a message/aggregate/update
(``GraphConv``, ``GCNConv``, ``SAGEConv``, ``GATConv``, ``LGConv``,
``GINConv``) calls ``propagate``, so the same overrides work on a subclass
of any of them.
"""
from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, Block, as_csr
from gnnkit.ops.scatter import scatter
from gnnkit.ops.fused import symmetric_scaled_spmm
from gnnkit.ops.sparse import CSR, spmm

AGGREGATIONS = ("sum", "mean", "max", "min")


class MessagePassing(nn.Module):
    r"""Base for layers of the form :math:`h_i = \mathrm{update}\big(\bigoplus_{j\in N(i)} \mathrm{message}(x_j, e_{ij}),\ x_i\big)`.

    Args:
        aggr: ``⊕``: ``"sum"`` (default; PyG's ``"add"`` is accepted),
            ``"mean"``, ``"max"`` or ``"min"``. Anything else: override
            ``aggregate``.

    Shapes:
        ``propagate``: x ``[N, *]`` or a bipartite pair ``([S, *], [T, *])``,
        edge_index ``[2, E]`` or a target-major ``CSR`` ``[T, S]``,
        edge_weight ``[E]``, loop_weight ``[T]`` → ``[T, *]``.
    """

    def __init__(self, aggr: str = "sum", *, flow: str = "source_to_target", node_dim: int = -2) -> None:
        super().__init__()
        aggr = "sum" if aggr == "add" else aggr  # PyG's name for the sum
        if aggr is None and self.overrides("aggregate"):  # PyG's aggr=None: the layer aggregates itself
            aggr = "sum"
        if aggr not in AGGREGATIONS:
            raise ValueError(f"{type(self).__name__}: aggr must be 'sum' (or 'add'), 'mean', 'max' or 'min', got "
                             f"{aggr!r}; for another reduction override aggregate(messages, index, num_nodes)")
        if flow not in ("source_to_target", "target_to_source"):
            raise ValueError(f"{type(self).__name__}: flow must be 'source_to_target' or 'target_to_source', got "
                             f"{flow!r}")
        self.aggr, self.flow, self.node_dim = aggr, flow, node_dim
        self._adjacency = AdjacencyCache()

    def message(self, x_j: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Message along edge ``j → i``: ``e_ij · x_j`` (``x_j`` when unweighted).

        ``x_j`` is ``[E, *]``; ``edge_weight`` is ``[E]`` (or ``[E, H]`` per
        head) and broadcasts over the trailing dimensions."""
        if edge_weight is None:
            return x_j
        return x_j * edge_weight.reshape(edge_weight.shape + (1,) * (x_j.dim() - edge_weight.dim()))

    def aggregate(self, messages: Tensor, index: Tensor, num_nodes: int | Tensor | None = None,
                  dim_size: int | None = None, ptr: Tensor | None = None) -> Tensor:
        """Combine the messages arriving at each target ``index`` with ``self.aggr``
        (``num_nodes`` targets; PyG's ``aggregate(inputs, index, ptr, dim_size)``
        is understood too, ``ptr`` being unused)."""
        if num_nodes is None or isinstance(num_nodes, Tensor):  # PyG's order: (inputs, index, ptr, dim_size)
            num_nodes = dim_size
        return scatter(messages, index, num_nodes, reduce=self.aggr)

    def update(self, aggr: Tensor, x: Tensor | None = None) -> Tensor:
        """Node update after aggregation (``x``: the target nodes' input); the identity by default."""
        return aggr

    def overrides(self, step: str) -> bool:
        """Whether this layer's class replaces the base's ``step``
        (``"message"``, ``"aggregate"`` or ``"update"``)."""
        return getattr(type(self), step) is not getattr(MessagePassing, step)

    def _fused(self) -> bool:
        return not self.overrides("message") and not self.overrides("aggregate") and self.aggr in ("sum", "mean")

    def adjacency(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int,
                  num_targets: int | None = None) -> CSR:
        """The graph as a target-major CSR, cached per graph (see ``AdjacencyCache``)."""
        size = num_nodes if num_targets is None else (num_nodes, num_targets)
        return self._adjacency.get(edge_index, edge_weight, size,
                                   lambda: as_csr(edge_index, edge_weight, num_nodes, num_targets))

    def prepare(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int | tuple[int, int],
                dtype: torch.dtype = torch.float32) -> Block:
        """The graph as the ``Block`` a layer's ``forward_block`` reads: here the
        adjacency itself (cached per graph); ``num_nodes`` may be a
        ``(sources, targets)`` pair. Layers that normalise override it."""
        sources, targets = num_nodes if isinstance(num_nodes, tuple) else (num_nodes, None)
        return Block(self.adjacency(edge_index, edge_weight, sources, targets))

    def propagate(self, *args, **kwargs) -> Tensor:
        """Run message → aggregate → update over the graph.

        Two calling conventions (see ``gnnkit.nn.message_args``): gnnkit's
        ``propagate(x, edge_index, edge_weight=None, loop_weight=None)``, below,
        and PyG's ``propagate(edge_index, size=None, **kwargs)``, whose keyword
        arguments reach the steps by name (``x_j``, ``x_i``, ``NAME_j``, ...);
        the second is recognised by ``edge_index`` coming first (one positional
        argument and no ``edge_index=`` keyword, or keywords that are not
        gnnkit's four). With PyG's convention the default message is ``x_j``,
        as in PyG (pass ``edge_weight=`` and override ``message`` to use it),
        ``flow`` and ``node_dim`` apply, and a layer's
        ``message_and_aggregate(adj_t, ...)`` runs on a sparse adjacency.

        gnnkit's arguments:

        * ``x``: ``[N, *]`` node features, or ``(x_src, x_dst)`` for a
          bipartite graph or a block of target rows;
        * ``edge_index``: ``[2, E]`` (row 0 sources), a target-major ``CSR``
          (its values are the edge weights), or a ``Block`` (a CSR with its
          loops and scalings; then no ``edge_weight`` or ``loop_weight``);
        * ``edge_weight``: optional ``[E]`` weights, in edge order;
        * ``loop_weight``: optional ``[T]`` weights of implicit loops
          ``i → i`` whose message reads ``x_dst[i]`` (GCN's self-loops): a
          diagonal on the fused path, ordinary edges otherwise.
        """
        if not _pyg_convention(args, kwargs) and self.flow != "source_to_target":
            # gnnkit's arguments, PyG's flow (which only that convention has): read them by position
            named = dict(zip(("x", "edge_index", "edge_weight", "loop_weight"), args), **kwargs)
            if named.get("loop_weight") is not None:
                raise ValueError(f"{type(self).__name__}: loop_weight does not combine with flow={self.flow!r}")
            named.pop("loop_weight", None)
            args, kwargs = (named.pop("edge_index"),), named
        if _pyg_convention(args, kwargs):
            from gnnkit.nn.message_args import propagate_by_name

            edge_index = args[0] if args else kwargs.pop("edge_index")
            size = args[1] if len(args) == 2 else kwargs.pop("size", None)
            return propagate_by_name(self, edge_index, size, kwargs)
        return self._propagate(*args, **kwargs)

    def edge_updater(self, edge_index: Tensor | CSR, size: tuple[int, int] | None = None, **kwargs) -> Tensor:
        """PyG's ``edge_updater``: ``edge_update`` with its arguments by name
        (``x_i``, ``x_j``, ``NAME_i``, ``NAME_j``, ``index``, ... as in PyG's ``propagate``)."""
        from gnnkit.nn.message_args import edge_update_by_name

        return edge_update_by_name(self, edge_index, size, kwargs)

    def _propagate(self, x: Tensor | tuple[Tensor, Tensor], edge_index: Tensor | CSR | Block,
                   edge_weight: Tensor | None = None, loop_weight: Tensor | None = None) -> Tensor:
        x_src, x_dst = x if isinstance(x, tuple) else (x, x)
        if x_dst is None and loop_weight is not None:
            raise ValueError("propagate: implicit self-loops read the targets' features; x_dst is None")
        if isinstance(edge_index, Block):
            if edge_weight is not None or loop_weight is not None:
                raise ValueError("propagate: a Block carries its own weights and loops; pass edge_weight and "
                                 "loop_weight only with an edge_index or a CSR")
            block = edge_index
            if block.scaled and self._fused() and self.aggr == "sum":
                return self._update(self._scaled_sum(block, x_src, x_dst), x_dst)
            # Every other path hands per-edge weights to message(): multiply the scalings out.
            block = block.weighted()
            edge_index, loop_weight = block.csr, block.loop
        targets = _num_targets(edge_index) if x_dst is None else x_dst.size(0)  # (x_src, None): from the graph
        if isinstance(edge_index, CSR) and edge_weight is None:
            csr = as_csr(edge_index, None, x_src.size(0), targets)  # nothing to build or cache
        else:
            csr = self.adjacency(edge_index, edge_weight, x_src.size(0), targets)
        if self._fused():
            aggr = self._fused_sum(csr, x_src, x_dst, loop_weight)
        elif self._fused_extreme(csr, x_src, loop_weight):
            aggr = self._extreme(csr, x_src)
        else:
            aggr = self._edge_messages(csr, x_src, x_dst, loop_weight)
        return self._update(aggr, x_dst)

    def _update(self, aggr: Tensor, x_dst: Tensor | None) -> Tensor:
        if not self.overrides("update"):
            return aggr
        from gnnkit.nn.message_args import MISSING, call_step

        return call_step(self, "update", (aggr, x_dst), lambda name: MISSING)

    def _fused_sum(self, csr: CSR, x_src: Tensor, x_dst: Tensor, loop: Tensor | None) -> Tensor:
        """The default message and sum/mean aggregation as one sparse product;
        the mean divides the rows by the in-degree afterwards (a row scaling,
        so no per-edge ``1 / d_i`` weight is built)."""
        shape = tuple(x_src.shape[1:])
        width = math.prod(shape)  # not -1: a graph with no nodes has nothing to infer it from
        out = spmm(csr, x_src.reshape(x_src.size(0), width))
        if loop is not None:
            # In place on the product's own output (its backward does not read it): one [T, F] less.
            out = out.addcmul_(loop.to(out.dtype).unsqueeze(1), x_dst.reshape(x_dst.size(0), width))
        if self.aggr == "mean":
            count = csr.degree() + (0 if loop is None else 1)
            out = out.mul_(count.clamp(min=1).to(out.dtype).reciprocal().unsqueeze(1))
        return out.view((csr.num_rows,) + shape)

    def _scaled_sum(self, block: Block, x_src: Tensor, x_dst: Tensor) -> Tensor:
        """``t ⊙ (A (s ⊙ x_src) + loop ⊙ t ⊙ x_dst)``: a separable operator
        as two row scalings around one product with ``A`` as stored (see
        ``Block``), computed in at least float32 and returned in ``x_src``'s dtype."""
        dtype = torch.promote_types(x_src.dtype, block.dst_scale.dtype)
        shape = tuple(x_src.shape[1:])
        width = math.prod(shape)
        differentiated = [t for t in (block.src_scale, block.dst_scale, block.loop, block.csr.value)
                          if t is not None and t.requires_grad]
        if x_src is x_dst and block.src_scale is block.dst_scale and not differentiated:
            # One node set, one scaling, nothing but x to differentiate: the fused op.
            out = symmetric_scaled_spmm(block.csr, x_src.reshape(x_src.size(0), width).to(dtype),
                                        block.src_scale, block.loop)
            return out.to(x_src.dtype).view((block.csr.num_rows,) + shape)
        src = x_src.reshape(x_src.size(0), width).to(dtype) * block.src_scale.to(dtype).unsqueeze(1)
        out = spmm(block.csr, src)
        dst_scale = block.dst_scale.to(dtype).unsqueeze(1)
        if block.loop is not None:
            # In place on the product's own output (its backward does not read it): one [T, F] less.
            dst = x_dst.reshape(x_dst.size(0), width).to(dtype)
            out = out.addcmul_(block.loop.to(dtype).unsqueeze(1) * dst_scale, dst)
        # In place unless the scaling is differentiated (trainable edge weights), whose gradient reads `out`.
        out = out * dst_scale if dst_scale.requires_grad else out.mul_(dst_scale)
        return out.to(x_src.dtype).view((block.csr.num_rows,) + shape)

    def _fused_extreme(self, csr: CSR, x_src: Tensor, loop: Tensor | None) -> bool:
        """Whether max/min can run as torch's reducing CSR product: CPU, fp32/fp64,
        default steps, no implicit loops, and no edge weights that need a gradient
        (torch's product returns theirs per coalesced entry, not per edge)."""
        return (self.aggr in ("max", "min") and not self.overrides("message") and not self.overrides("aggregate")
                and loop is None and x_src.device.type == "cpu" and x_src.dtype in (torch.float32, torch.float64)
                and (csr.value is None or not csr.value.requires_grad) and csr.nnz > 0)

    def _extreme(self, csr: CSR, x_src: Tensor) -> Tensor:
        """``max_j e_ij x_j`` (or min) per target, 0 for a target without in-edges."""
        key = ("torch_csr_ones", x_src.dtype)  # structure only: safe in the cache shared by with_value copies
        adj = csr._cache.get(key) if csr.value is None else None
        if adj is None:
            value = torch.ones(csr.nnz, dtype=x_src.dtype) if csr.value is None else csr.value.to(x_src.dtype)
            with warnings.catch_warnings():  # torch labels sparse CSR "beta" on first use; nothing to act on
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                adj = torch.sparse_csr_tensor(csr.rowptr, csr.col, value, (csr.num_rows, csr.num_cols),
                                              check_invariants=False)  # built valid by CSR
            if csr.value is None:
                csr._cache[key] = adj
        shape = tuple(x_src.shape[1:])
        out = torch.sparse.mm(adj, x_src.reshape(x_src.size(0), math.prod(shape)),
                              reduce="amax" if self.aggr == "max" else "amin")
        return out.view((csr.num_rows,) + shape)

    def _edge_messages(self, csr: CSR, x_src: Tensor, x_dst: Tensor, loop: Tensor | None) -> Tensor:
        """One message per edge, then ``aggregate``."""
        x_j, weight, index = x_src.index_select(0, csr.col.to(torch.int64)), csr.value, csr.row()
        if loop is not None:  # the implicit loops become edges i → i, so message() sees them too
            x_j = torch.cat([x_j, x_dst])
            if weight is None:
                weight = torch.ones(csr.nnz, dtype=loop.dtype, device=loop.device)
            weight = torch.cat([weight, loop.to(weight.dtype)])
            index = torch.cat([index, torch.arange(csr.num_rows, device=index.device)])
        from gnnkit.nn.message_args import MISSING, call_step

        names = {"edge_weight": weight, "index": index, "edge_index_i": index,
                 "ptr": csr.rowptr if loop is None else None, "size_i": csr.num_rows, "num_nodes": csr.num_rows,
                 "dim_size": csr.num_rows, "size_j": x_src.size(0)}

        def resolve(name: str):
            if name == "edge_index_j":
                sources = csr.col.to(torch.int64)
                if loop is not None:  # the implicit loops' sources, as their messages come last
                    sources = torch.cat([sources, torch.arange(csr.num_rows, device=index.device)])
                return sources
            if name == "x_i":
                if x_dst is None:
                    raise ValueError(f"{type(self).__name__}.message reads x_i, but the targets have no features "
                                     f"(x = (x_src, None))")
                return x_dst.index_select(0, index)
            return names.get(name, MISSING)

        messages = call_step(self, "message", (x_j, weight), resolve)
        return call_step(self, "aggregate", (messages, index, csr.num_rows), resolve)


def _pyg_convention(args: tuple, kwargs: dict) -> bool:
    """Whether ``propagate`` was called PyG's way, ``propagate(edge_index, size=None, **kwargs)``:
    gnnkit's always has ``x`` first and ``edge_index`` second."""
    if len(args) == 2 and "x" in kwargs:  # PyG's propagate(edge_index, size, x=...)
        return True
    if len(args) >= 2:
        return False
    if len(args) == 1:
        return "edge_index" not in kwargs
    return not ({"x", "edge_index"} <= set(kwargs) <= {"x", "edge_index", "edge_weight", "loop_weight"})


def weight_or_size(edge_weight: Tensor | tuple[int, int] | None,
                   size: tuple[int, int] | None) -> tuple[Tensor | None, tuple[int, int] | None]:
    """``(edge_weight, size)`` of a layer whose PyG namesake takes ``size``
    third (SAGEConv, GINConv: ``conv(x, edge_index, (S, T))``): a pair of
    counts where gnnkit's ``edge_weight`` goes is that ``size``."""
    if isinstance(edge_weight, (tuple, list)) and size is None:
        return None, tuple(edge_weight)
    return edge_weight, size


def split_input(x: Tensor | tuple[Tensor, Tensor | None], size: tuple[int, int] | None = None,
                edge_index: Tensor | CSR | None = None) -> tuple[Tensor, Tensor | None, int | tuple[int, int]]:
    """``(x_src, x_dst, num_nodes)`` of a layer input.

    One node set (a tensor ``x``): ``x_dst`` is ``x_src`` itself and
    ``num_nodes`` is ``N``. A bipartite pair ``(x_src, x_dst)``: ``num_nodes``
    is ``(S, T)``. PyG's ``(x_src, None)`` (targets without features: no root
    or self term) gives ``x_dst = None`` and ``T`` from ``size`` or, without
    it, from the graph (a CSR's or ``torch.sparse`` adjacency's rows, else the
    largest target id + 1). ``size=(S, T)``, PyG's keyword, must agree with
    the features it is given with.
    """
    if size is not None:
        if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(isinstance(n, int) and n >= 0 for n in size)):
            raise ValueError(f"size must be (num_sources, num_targets), two counts >= 0, got {size!r}")
        size = (int(size[0]), int(size[1]))
    if not isinstance(x, tuple):
        if size is not None and size != (x.size(0), x.size(0)):
            raise ValueError(f"size={size} but x has {x.size(0)} rows: with one node set size is (N, N); for a "
                             f"bipartite graph pass x as (x_src, x_dst) or (x_src, None)")
        return x, x, x.size(0)
    x_src, x_dst = x
    if x_dst is None:
        targets = size[1] if size is not None else _num_targets(edge_index)
        if targets is None:
            raise ValueError("x = (x_src, None) needs the number of targets: pass size=(num_sources, num_targets) "
                             "or the graph as a CSR / torch.sparse adjacency [targets, sources]")
        num_nodes = (x_src.size(0), targets)
    else:
        num_nodes = (x_src.size(0), x_dst.size(0))
    if size is not None and size != num_nodes:
        raise ValueError(f"size={size} does not match the features: x_src has {num_nodes[0]} rows and x_dst "
                         f"{num_nodes[1]}")
    return x_src, x_dst, num_nodes


def _num_targets(edge_index: Tensor | CSR | None) -> int | None:
    """Targets of a graph given without target features: a CSR's or sparse
    adjacency's rows, or the largest target id + 1 of an ``edge_index``."""
    if isinstance(edge_index, CSR):
        return edge_index.num_rows
    if isinstance(edge_index, Tensor) and edge_index.layout != torch.strided:
        return edge_index.size(0)
    if isinstance(edge_index, Tensor) and edge_index.dim() == 2 and edge_index.size(0) == 2:
        return int(edge_index[1].max()) + 1 if edge_index.size(1) else 0
    return None
