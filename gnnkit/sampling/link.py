"""Mini-batches of node pairs with the sampled neighbourhoods of their endpoints.

``LinkNeighborLoader`` is the link-prediction counterpart of
``gnnkit.sampling.neighbor.NeighborLoader``: it walks the positive pairs in batches,
adds ``neg_ratio`` sampled negative pairs per positive (non-edges of the
graph, see ``gnnkit.sampling.negative``), and samples, hop by hop, the
neighbourhoods of every endpoint with the neighbour sampler. A GNN then runs
on the small sub-graph and the decoder scores the batch's pairs in local ids,
so the memory of a step depends on the batch and the fan-outs, not on the
graph.
"""
from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import Tensor

from gnnkit.graph import Graph
from gnnkit.sampling.neighbor import NeighborLoader
from gnnkit.sampling.negative import EdgeSet, negative_sampling


@dataclass(frozen=True)
class LinkBatch:
    """One mini-batch of pairs.

    Attributes:
        graph: the sampled sub-graph with local ids; its first nodes are the
            endpoints of the pairs.
        node_ids: ``[n]`` global id of every local node.
        pairs: ``[2, B]`` the batch's pairs in local ids, positives first.
        labels: ``[B]`` float, 1 for a positive pair and 0 for a negative.
    """

    graph: Graph
    node_ids: Tensor
    pairs: Tensor
    labels: Tensor

    @property
    def global_pairs(self) -> Tensor:
        """``[2, B]`` the pairs in the graph's ids."""
        return self.node_ids[self.pairs]


class LinkNeighborLoader:
    """Iterate over pairs in batches, each with sampled negatives and neighbourhoods.

    Args:
        graph: the message-passing graph (for a split, ``LinkSplit.graph``).
        pairs: ``[2, P]`` the positive pairs to walk (e.g. ``LinkSplit.train_pos``).
        num_neighbors: neighbours sampled per node at each hop, one per layer
            (``-1`` takes all), as in ``NeighborLoader`` (at least one hop:
            ``[]`` is an error).
        batch_size: positive pairs per batch (default 1024).
        neg_ratio: negatives sampled per positive (default 1.0; 0 for none);
            a batch of ``B`` positives gets ``ceil(neg_ratio * B)`` (PyG's
            count), so a fractional ratio never rounds to none.
        labels: ``[P]`` labels of ``pairs``; when given, the pairs are taken as
            they are and no negatives are drawn (for labelled evaluation
            pairs; an explicit ``neg_ratio > 0`` beside them is an error).
        exclude: pairs the negatives must avoid (``EdgeSet`` or ``[2, E]``),
            default the graph's edges.
        method: negative sampling, ``"uniform"`` or ``"degree"``.
        shuffle: visit the pairs in a random order each epoch (default ``True``).
        replace: sample neighbours with replacement (default ``False``).
        seed: seed of the loader's generators (shuffle, negatives, neighbours);
            the same seed gives the same batches.

    Raises:
        ValueError: malformed ``pairs`` or ``labels``, ids outside the graph,
            non-positive ``batch_size``, negative ``neg_ratio``.
    """

    def __init__(self, graph: Graph, pairs: Tensor, num_neighbors: Sequence[int], batch_size: int = 1024,
                 neg_ratio: float | None = None, labels: Tensor | None = None, exclude: Tensor | EdgeSet | None = None,
                 method: str = "uniform", shuffle: bool = True, replace: bool = False,
                 seed: int | None = None) -> None:
        if not isinstance(pairs, Tensor) or pairs.dim() != 2 or pairs.size(0) != 2:
            raise ValueError(f"pairs must be a [2, P] tensor of node ids, got {getattr(pairs, 'shape', type(pairs))}")
        if pairs.numel() and (int(pairs.min()) < 0 or int(pairs.max()) >= graph.num_nodes):
            raise ValueError(f"pairs hold ids outside the graph's {graph.num_nodes} nodes (0 <= id < {graph.num_nodes})")
        if labels is not None and labels.shape != (pairs.size(1),):
            raise ValueError(f"labels must have shape [{pairs.size(1)}] (one per pair), got {tuple(labels.shape)}")
        if labels is not None and neg_ratio:  # PyG adds negatives then; gnnkit takes labelled pairs as given
            raise ValueError(f"labels are given, so the pairs are taken as they are and no negatives are drawn; "
                             f"drop neg_ratio={neg_ratio} (or the labels, to draw negatives)")
        neg_ratio = (0.0 if labels is not None else 1.0) if neg_ratio is None else neg_ratio
        if neg_ratio < 0:
            raise ValueError(f"neg_ratio must be >= 0, got {neg_ratio}")
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be a positive number of pairs, got {batch_size}")
        # The neighbour sampler does the hop-by-hop sampling; its seeds here are the batch's endpoints.
        self._neighbors = NeighborLoader(graph, num_neighbors, batch_size=1, shuffle=False, replace=replace,
                                         seed=seed)
        self.graph, self.pairs, self.labels = graph, pairs.long().to(graph.device), labels
        self.batch_size, self.neg_ratio, self.method, self.shuffle = int(batch_size), float(neg_ratio), method, shuffle
        self._exclude = None
        if labels is None and neg_ratio > 0:
            self._exclude = exclude if isinstance(exclude, EdgeSet) else EdgeSet(
                graph.edge_index if exclude is None else exclude)
        self._generator = None
        if seed is not None:  # the same streams as reseed(seed): a fresh loader and a reseeded one agree
            self.reseed(seed)

    def __len__(self) -> int:
        return -(-self.pairs.size(1) // self.batch_size)

    def reseed(self, seed: int) -> None:
        """Restart every random stream of the loader (order, negatives,
        neighbours) from ``seed``: an epoch seeded by its number comes out the
        same whether or not the run was interrupted before it."""
        self._generator = torch.Generator(device=self.graph.device).manual_seed(int(seed))
        self._neighbors._generator = torch.Generator(device=self.graph.device).manual_seed(int(seed) + 1)

    def __iter__(self) -> Iterator[LinkBatch]:
        order = torch.arange(self.pairs.size(1), device=self.pairs.device)
        if self.shuffle:
            order = torch.randperm(self.pairs.size(1), generator=self._generator, device=self.pairs.device)
        for b in range(len(self)):
            yield self.sample(order[b * self.batch_size:(b + 1) * self.batch_size])

    def sample(self, index: Tensor) -> LinkBatch:
        """The batch of the pairs ``pairs[:, index]`` (plus their negatives)."""
        pos = self.pairs[:, index]
        if self.labels is not None:
            pairs, labels = pos, self.labels[index].float()
        else:
            num_neg = math.ceil(self.neg_ratio * pos.size(1))
            neg = negative_sampling(self.graph.edge_index, self.graph.num_nodes, num_neg, method=self.method,
                                    exclude=self._exclude, generator=self._generator) if num_neg else pos[:, :0]
            pairs = torch.cat([pos, neg], dim=1)
            labels = torch.cat([torch.ones(pos.size(1)), torch.zeros(neg.size(1))]).to(pos.device)
        seeds, local = torch.unique(pairs.flatten(), return_inverse=True)
        sampled = self._neighbors.sample(seeds)  # the seeds are local nodes 0..len(seeds)-1, in this order
        return LinkBatch(sampled.graph, sampled.node_ids, local.view(2, -1), labels)


__all__ = ["LinkBatch", "LinkNeighborLoader"]
