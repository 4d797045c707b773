"""The arguments of ``MessagePassing``'s steps, bound by name.

Two calling conventions reach the same three steps:

* gnnkit's ``propagate(x, edge_index, edge_weight=None, loop_weight=None)``:
  ``message`` gets ``x_j`` first and then what its parameters name
  (``edge_weight``, ``x_i``, ``index``, ``ptr``, ``size_i``, ``size_j``,
  ``edge_index_i``, ``edge_index_j``); a required parameter with another
  name in second place gets the edge weights, as ``message(x_j, w)``.
* PyG's ``propagate(edge_index, size=None, **kwargs)``: every parameter of
  ``message``, ``aggregate``, ``update`` (and ``message_and_aggregate``,
  ``edge_update``) is looked up by name among the keyword arguments, with
  PyG's suffixes: ``NAME_j`` is the source rows and ``NAME_i`` the target
  rows of the node tensor ``NAME`` (of ``NAME[0]`` / ``NAME[1]`` for a
  bipartite pair), along the layer's ``node_dim``; plus the same special
  names. A parameter nothing supplies keeps its default, and without one is
  an error naming it: nothing is passed by position by accident.
"""
from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any, Callable

import torch
from torch import Tensor

from gnnkit.ops.scatter import scatter
from gnnkit.ops.sparse import CSR

MISSING = object()


@lru_cache(maxsize=None)
def _parameters(fn: Callable) -> tuple[tuple[str, bool], ...]:
    """``(name, required)`` of ``fn``'s named parameters after ``self``."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY,
             inspect.Parameter.POSITIONAL_ONLY)
    params = list(inspect.signature(fn).parameters.values())[1:]
    return tuple((p.name, p.default is inspect.Parameter.empty) for p in params if p.kind in kinds)


@lru_cache(maxsize=None)
def _takes_varargs(fn: Callable) -> bool:
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values())


def call_step(layer, step: str, positional: tuple, resolve: Callable[[str], Any]) -> Any:
    """Call ``layer.<step>`` with ``positional[0]`` first and every further
    parameter by name from ``resolve`` (``MISSING`` when it has nothing); a
    required parameter ``resolve`` does not know, at a position below
    ``len(positional)``, takes that positional value (gnnkit's explicit
    ``message(x_j, w)``, ``aggregate(m, idx, n)``, ``update(aggr, x)``)."""
    fn = getattr(type(layer), step)
    if _takes_varargs(fn):  # message(self, *args): everything by position
        return fn(layer, *positional)
    params = _parameters(fn)
    kwargs = {}
    for k, (name, required) in enumerate(params):
        if k == 0 and positional:
            continue
        value = resolve(name)
        if value is MISSING and required and k < len(positional):
            value = positional[k]
        if value is MISSING:
            if required:
                raise TypeError(
                    f"{type(layer).__name__}.{step}(): nothing supplies its parameter {name!r}; propagate passes "
                    f"x_j, x_i, edge_weight, index, ptr, size_i, size_j, edge_index_i, edge_index_j, and with PyG's "
                    f"propagate(edge_index, NAME=...) every NAME, NAME_i and NAME_j; give {name!r} a default or "
                    f"pass it to propagate")
            continue
        kwargs[name] = value
    first = (positional[0],) if positional and params else ()
    return fn(layer, *first, **kwargs)


class EdgeIndexError(ValueError, IndexError):
    """A node id outside the graph: a ``ValueError`` as gnnkit's other input
    errors, and an ``IndexError`` as PyG raises for it."""


class Collector:
    """What PyG's ``propagate(edge_index, size=None, **kwargs)`` makes of its
    arguments: the edges ``j → i``, the two node counts, and each step's
    arguments by name."""

    def __init__(self, layer, edge_index: Tensor | CSR, size, kwargs: dict) -> None:
        self.layer, self.kwargs = layer, kwargs
        self.node_dim = getattr(layer, "node_dim", -2)
        self.adj_t = self.ptr = None
        self.edge_index = edge_index
        sources = targets = None
        if isinstance(edge_index, CSR) or (isinstance(edge_index, Tensor) and edge_index.layout != torch.strided):
            if layer.flow != "source_to_target":
                raise ValueError(f"{type(layer).__name__}: flow={layer.flow!r} needs an edge_index [2, E]; a sparse "
                                 f"adjacency is target-major already")
            if isinstance(edge_index, CSR):
                self.ptr, value = edge_index.rowptr, edge_index.value
                self.i, self.j = edge_index.row().long(), edge_index.col.long()
                targets, sources = edge_index.num_rows, edge_index.num_cols
            else:  # torch.sparse [T, S]: its entries, values kept in the autograd graph (as PyG's to_edge_index)
                coo = (edge_index if edge_index.layout == torch.sparse_coo else edge_index.to_sparse_coo()).coalesce()
                (self.i, self.j), value, self.ptr = coo.indices(), coo.values(), None
                targets, sources = coo.size(0), coo.size(1)
            self.adj_t, self.edge_index = edge_index, None
            if value is not None:  # as PyG: a weighted adjacency's values fill edge_weight / edge_type
                for name in ("edge_weight", "edge_type"):
                    if kwargs.get(name) is None:
                        kwargs[name] = value
        elif isinstance(edge_index, Tensor) and edge_index.dim() == 2 and edge_index.size(0) == 2:
            if edge_index.dtype.is_floating_point or edge_index.dtype == torch.bool:
                raise TypeError(f"edge_index must hold integer node ids, got {edge_index.dtype}")
            src, dst = edge_index[0].long(), edge_index[1].long()
            self.j, self.i = (src, dst) if layer.flow == "source_to_target" else (dst, src)
        else:
            raise ValueError(f"propagate(edge_index, ...): edge_index must be [2, E], a CSR or a torch.sparse "
                             f"adjacency, got {getattr(edge_index, 'shape', type(edge_index).__name__)}")
        if size is not None:
            if not (isinstance(size, (tuple, list)) and len(size) == 2):
                raise ValueError(f"size must be (num_sources, num_targets), got {size!r}")
            sources = size[0] if size[0] is not None else sources
            targets = size[1] if size[1] is not None else targets
        self.sources, self.targets = self._infer_sizes(sources, targets)
        # the names PyG's steps may ask for beside the keyword arguments (built once per propagate)
        self.special = {"index": self.i, "edge_index_i": self.i, "edge_index_j": self.j, "ptr": self.ptr,
                        "size_i": self.targets, "size_j": self.sources, "dim_size": self.targets,
                        "num_nodes": self.targets, "size": (self.sources, self.targets),
                        "edge_index": self.edge_index, "adj_t": self.adj_t}

    def _infer_sizes(self, sources, targets):
        used = set()
        for step in ("message", "aggregate", "update", "message_and_aggregate", "edge_update"):
            fn = getattr(type(self.layer), step, None)
            if fn is not None:
                used.update(name for name, _ in _parameters(fn))
        for name in used:
            base, suffix = name[:-2], name[-2:]
            if suffix not in ("_i", "_j") or base not in self.kwargs:
                continue
            value = self.kwargs[base]
            src, dst = value if isinstance(value, (tuple, list)) else (value, value)
            if sources is None and isinstance(src, Tensor):
                sources = src.size(self.node_dim)
            if targets is None and isinstance(dst, Tensor):
                targets = dst.size(self.node_dim)
        if targets is None:
            targets = sources if sources is not None else (int(self.i.max()) + 1 if self.i.numel() else 0)
        if sources is None:
            sources = targets
        for what, ids, count in (("source", self.j, sources), ("target", self.i, targets)):
            low, high = (int(ids.min()), int(ids.max())) if ids.numel() else (0, -1)
            if low < 0 or high >= count:
                raise EdgeIndexError(f"edge_index refers to {what} node {low if low < 0 else high} but there are "
                                     f"{count} {what} nodes (valid indices 0 .. {count - 1}); pass "
                                     f"size=(num_sources, num_targets) or features for every node")
        return int(sources), int(targets)

    def resolve(self, name: str) -> Any:
        if name in self.kwargs:
            return self.kwargs[name]
        if name in self.special:
            return self.special[name]
        base, suffix = name[:-2], name[-2:]
        if suffix in ("_i", "_j") and base in self.kwargs:
            value = self.kwargs[base]
            if isinstance(value, (tuple, list)):
                value = value[1] if suffix == "_i" else value[0]
            if isinstance(value, Tensor):
                return value.index_select(self.node_dim, self.i if suffix == "_i" else self.j)
            if value is None:
                side = "target" if suffix == "_i" else "source"
                raise ValueError(f"{type(self.layer).__name__}: {name} needs the {side} features, but {base} has "
                                 f"None there")
            return value
        return MISSING

    def aggregate_default(self, messages: Tensor) -> Tensor:
        dim = self.node_dim if messages.dim() > 1 else 0
        return scatter(messages, self.i, self.targets, self.layer.aggr, dim=dim)


def propagate_by_name(layer, edge_index: Tensor | CSR, size, kwargs: dict) -> Tensor:
    """PyG's ``propagate``: see the module docstring."""
    c = Collector(layer, edge_index, size, kwargs)
    fused_x = kwargs.get("x")
    if c.adj_t is not None and hasattr(type(layer), "message_and_aggregate"):
        out = call_step(layer, "message_and_aggregate", (c.adj_t,), c.resolve)
    elif (not layer.overrides("message") and not layer.overrides("aggregate") and layer.aggr in ("sum", "mean")
          and c.edge_index is not None and layer.flow == "source_to_target" and _rows_are_nodes(fused_x, c)):
        x_src, x_dst = fused_x if isinstance(fused_x, (tuple, list)) else (fused_x, fused_x)
        csr = layer.adjacency(c.edge_index, None, c.sources, c.targets)  # PyG's default message ignores weights
        out = layer._fused_sum(csr, x_src, x_dst, None)
    else:
        messages = c.resolve("x_j") if not layer.overrides("message") else call_step(layer, "message", (), c.resolve)
        if messages is MISSING:
            raise TypeError(f"{type(layer).__name__}: the default message is x_j; pass x=... to propagate or "
                            f"override message()")
        if layer.overrides("aggregate"):
            out = call_step(layer, "aggregate", (messages,), c.resolve)
        else:
            out = c.aggregate_default(messages)
    if layer.overrides("update"):
        return call_step(layer, "update", (out,), c.resolve)
    return out


def _rows_are_nodes(x, c: Collector) -> bool:
    """Whether ``x`` (or both of a pair) is a 2-D tensor of nodes along dim 0, the fused product's layout."""
    pair = x if isinstance(x, (tuple, list)) else (x, x)
    return (len(pair) == 2 and isinstance(pair[0], Tensor) and pair[0].dim() == 2 and c.node_dim in (0, -2)
            and pair[0].size(0) == c.sources and (pair[1] is None or isinstance(pair[1], Tensor)))


def edge_update_by_name(layer, edge_index: Tensor | CSR, size, kwargs: dict) -> Any:
    """PyG's ``edge_updater``: ``edge_update`` with its arguments by name."""
    c = Collector(layer, edge_index, size, kwargs)
    return call_step(layer, "edge_update", (), c.resolve)


__all__ = ["Collector", "EdgeIndexError", "call_step", "edge_update_by_name", "propagate_by_name"]
