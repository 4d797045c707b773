"""Train / validation / test split of a graph's edges for link prediction, without leakage.

The protocol of graph auto-encoders (Kipf & Welling 2016,
https://arxiv.org/abs/1611.07308): the edges are shuffled with a seed; a
fraction goes to validation, one to test, the rest to training. Only the
training edges stay in the graph the encoder passes messages on, so the model
never sees a held-out edge, and validation / test get as many negative pairs,
drawn among the pairs that are edges of *no* part (not even of training).

For an undirected graph (both directions stored, as gnnkit's loaders give),
an edge and its reverse are one unit: they land in the same part, the
message-passing graph keeps both directions of every training edge, and the
positive / negative pairs are listed once with ``u < v``. Self-loops are not
links to predict: they are dropped (GCN adds its own). Duplicate edges are
merged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gnnkit.graph import Graph
from gnnkit.sampling.negative import EdgeSet, first_occurrences, negative_sampling


@dataclass(frozen=True, eq=False)
class LinkSplit:
    """The result of ``split_edges``.

    Attributes:
        graph: the message-passing graph: the input graph (features, labels,
            masks kept) with only the training edges (both directions when
            undirected).
        train_pos: ``[2, T]`` training positives (``u < v`` when undirected).
        val_pos: ``[2, V]`` validation positives.
        val_neg: ``[2, V']`` validation negatives (``V' = neg_ratio · V``).
        test_pos: ``[2, S]`` test positives.
        test_neg: ``[2, S']`` test negatives.
        undirected: whether pairs stand for undirected edges.
        num_self_loops: self-loops dropped from the input.
        num_duplicates: duplicate edges merged (an undirected edge's reverse is
            not a duplicate).
    """

    graph: Graph
    train_pos: Tensor
    val_pos: Tensor
    val_neg: Tensor
    test_pos: Tensor
    test_neg: Tensor
    undirected: bool
    num_self_loops: int = 0
    num_duplicates: int = 0

    @property
    def num_nodes(self) -> int:
        return self.graph.num_nodes

    def pairs(self, part: str) -> tuple[Tensor, Tensor]:
        """``(pairs [2, P + Q], labels [P + Q])`` of ``part`` ("val" or "test"): positives first, label 1."""
        if part not in ("val", "test"):
            raise ValueError(f"part must be 'val' or 'test', got {part!r}")
        pos, neg = getattr(self, f"{part}_pos"), getattr(self, f"{part}_neg")
        labels = torch.cat([torch.ones(pos.size(1)), torch.zeros(neg.size(1))]).to(pos.device)
        return torch.cat([pos, neg], dim=1), labels

    def to(self, device: torch.device | str) -> LinkSplit:
        return LinkSplit(self.graph.to(device), self.train_pos.to(device), self.val_pos.to(device),
                         self.val_neg.to(device), self.test_pos.to(device), self.test_neg.to(device),
                         self.undirected, self.num_self_loops, self.num_duplicates)

    def __repr__(self) -> str:
        return (f"LinkSplit(num_nodes={self.num_nodes}, train={self.train_pos.size(1)}, val={self.val_pos.size(1)}"
                f"+{self.val_neg.size(1)}, test={self.test_pos.size(1)}+{self.test_neg.size(1)}, "
                f"undirected={self.undirected})")


def is_undirected(edge_index: Tensor) -> bool:
    """Whether every edge ``u → v`` has its reverse ``v → u``."""
    return bool(EdgeSet(edge_index).contains(edge_index[1], edge_index[0]).all())


def _check_fractions(val: float, test: float, neg_ratio: float) -> None:
    for name, value in (("val", val), ("test", test)):
        if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")
    if val + test >= 1.0:
        raise ValueError(f"val + test = {val + test:g} leaves no training edges; the fractions must sum below 1 "
                         f"(the GAE protocol uses val=0.05, test=0.10)")
    if not neg_ratio > 0:
        raise ValueError(f"neg_ratio must be > 0, got {neg_ratio}")


def _distinct_pairs(ei: Tensor, undirected: bool) -> tuple[Tensor, Tensor, int]:
    """The distinct links of a loop-free ``ei`` (an undirected edge once, as
    ``min -> max``), the mask of the rows kept, and how many duplicates went."""
    if undirected:
        lonely = ~EdgeSet(ei).contains(ei[1], ei[0])
        if bool(lonely.any()):
            k = int(lonely.nonzero()[0, 0])
            raise ValueError(
                f"the graph is directed: {int(lonely.sum())} of {ei.size(1)} edges have no reverse (e.g. "
                f"{int(ei[0, k])} -> {int(ei[1, k])}); symmetrise it with gnnkit.ops.edges.to_undirected(edge_index) "
                f"or pass undirected=False to split the directed edges"
            )
        src, dst = torch.minimum(ei[0], ei[1]), torch.maximum(ei[0], ei[1])
        first = first_occurrences(src, dst)
        duplicates = int(ei.size(1) - 2 * int(first.sum()))  # a symmetric graph holds every pair twice
    else:
        src, dst = ei[0], ei[1]
        first = first_occurrences(src, dst)
        duplicates = int(ei.size(1) - int(first.sum()))
    return torch.stack([src[first], dst[first]]), first, duplicates


def _part_sizes(total: int, val: float, test: float, undirected: bool) -> tuple[int, int]:
    n_val, n_test = math.floor(val * total), math.floor(test * total)
    for name, frac, count in (("val", val, n_val), ("test", test, n_test)):
        if frac > 0 and count == 0:
            raise ValueError(
                f"the graph has {total} {'undirected ' if undirected else ''}edges, too few for {name}={frac:g} "
                f"(floor({frac:g} * {total}) = 0 edges); use a larger graph or a larger {name} fraction "
                f"(at least {1 / frac:.0f} edges are needed)"
            )
    if total - n_val - n_test < 1:
        raise ValueError(f"the graph has {total} edges: none left for training after {n_val} val and {n_test} test")
    return n_val, n_test


def split_edges(graph: Graph, val: float = 0.05, test: float = 0.10, *, undirected: bool = True, seed: int = 0,
                neg_ratio: float = 1.0) -> LinkSplit:
    """Split the edges of ``graph`` into training, validation and test links.

    ``floor(val · E)`` edges go to validation and ``floor(test · E)`` to test
    (``E`` counts an undirected edge once), chosen by a random permutation of
    the edges from ``seed``; the rest are training edges and the only edges of
    the returned message-passing graph. Validation and test each get
    ``round(neg_ratio · size)`` negative pairs: distinct, not self-loops, not
    edges of the input graph in either part, and not shared between
    validation and test.

    Args:
        graph: the graph to split.
        val: fraction of edges for validation (default 0.05, the GAE protocol).
        test: fraction of edges for test (default 0.10).
        undirected: treat the graph as undirected (default ``True``): it must
            store both directions of each edge.
        seed: seed of the permutation and the negatives (same seed, same split).
        neg_ratio: negatives per held-out positive (default 1).

    Returns:
        A ``LinkSplit``.

    Raises:
        ValueError: an edgeless graph, fractions outside ``[0, 1)`` or summing
            to 1 or more, a graph too small to give every requested part an
            edge, or (``undirected=True``) an edge without its reverse.
    """
    if not isinstance(graph, Graph):
        raise ValueError(f"split_edges needs a gnnkit.Graph, got {type(graph).__name__}; build one with "
                         f"Graph(edge_index=..., num_nodes=...)")
    _check_fractions(val, test, neg_ratio)
    n = graph.num_nodes
    ei = graph.edge_index.cpu()
    weight = None if graph.edge_weight is None else graph.edge_weight.cpu()
    loops = ei[0] == ei[1]
    ei = ei[:, ~loops]
    weight = None if weight is None else weight[~loops]
    if ei.size(1) == 0:
        what = "has no edges" if not bool(loops.any()) else "has only self-loops, which are not links to predict"
        raise ValueError(f"cannot split the edges of a graph that {what} ({n} nodes); link prediction needs edges")
    pairs, first, duplicates = _distinct_pairs(ei, undirected)
    weight = None if weight is None else weight[first]
    total = pairs.size(1)
    n_val, n_test = _part_sizes(total, val, test, undirected)

    gen = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(total, generator=gen)
    test_idx, val_idx, train_idx = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    n_val_neg, n_test_neg = round(neg_ratio * n_val), round(neg_ratio * n_test)
    # Negatives avoid every edge of the input graph, in both directions when undirected.
    everything = EdgeSet(pairs, undirected=undirected)
    neg = negative_sampling(pairs, n, n_val_neg + n_test_neg, exclude=everything, unique=True,
                            undirected=undirected, generator=gen)
    train = pairs[:, train_idx]
    train_weight = None if weight is None else weight[train_idx]
    mp_index, mp_weight = train, train_weight
    if undirected:
        mp_index = torch.cat([train, train.flip(0)], dim=1)
        mp_weight = None if weight is None else torch.cat([train_weight, train_weight])
    device = graph.device
    mp_graph = graph.replace(edge_index=mp_index.to(device),
                             edge_weight=None if mp_weight is None else mp_weight.to(device))
    return LinkSplit(
        graph=mp_graph, train_pos=train.to(device),
        val_pos=pairs[:, val_idx].to(device), val_neg=neg[:, :n_val_neg].to(device),
        test_pos=pairs[:, test_idx].to(device), test_neg=neg[:, n_val_neg:].to(device),
        undirected=undirected, num_self_loops=int(loops.sum()), num_duplicates=duplicates,
    )


__all__ = ["LinkSplit", "is_undirected", "split_edges"]
