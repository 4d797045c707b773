"""Mini-batches of sampled neighbourhoods (GraphSAGE-style), vectorised in torch.

``NeighborLoader`` walks the seed nodes in batches. For each batch it samples,
hop by hop, up to ``num_neighbors[h]`` in-neighbours of every node reached in
the previous hop (Hamilton et al. 2017, https://arxiv.org/abs/1706.02216), and
yields the induced sub-graph with local ids: the seed nodes first, then the
nodes each hop added. All sampling is tensor code over the graph's cached CSR;
the only Python loops are over hops and, for sampling without replacement,
over the ``k`` draws of Floyd's algorithm — never over nodes or edges.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import Tensor

from gnnkit.graph import Graph


@dataclass(frozen=True)
class SampledBatch:
    """One sampled sub-graph.

    Attributes:
        graph: the sub-graph with local ids (features, labels sliced); its
            first ``batch_size`` nodes are the seed nodes.
        node_ids: ``[n]`` global id of every local node.
        batch_size: number of seed nodes.
        num_sampled_nodes: nodes added per hop (seeds first).
        num_sampled_edges: edges added per hop.
    """

    graph: Graph
    node_ids: Tensor
    batch_size: int
    num_sampled_nodes: list[int]
    num_sampled_edges: list[int]

    @property
    def seed_ids(self) -> Tensor:
        return self.node_ids[: self.batch_size]


def sample_neighbors(rowptr: Tensor, nodes: Tensor, k: int, replace: bool,
                     generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Sample up to ``k`` entries of each row ``nodes`` of a CSR, uniformly.

    Without replacement a row with at most ``k`` entries gives all of them and a
    longer row gives ``k`` distinct ones (Floyd's algorithm, run for all rows at
    once). With replacement every non-empty row gives exactly ``k``.
    ``k < 0`` takes every entry.

    Returns:
        ``(which, entry)``: for every sampled entry, the position in ``nodes``
        of its row and the entry's position in the CSR (``col[entry]`` is the
        neighbour).
    """
    start = rowptr[nodes]
    deg = rowptr[nodes + 1] - start
    device = nodes.device
    if k < 0:  # full neighbourhood
        which = torch.repeat_interleave(torch.arange(nodes.numel(), device=device), deg)
        offset = torch.arange(which.numel(), device=device) - torch.repeat_interleave(deg.cumsum(0) - deg, deg)
        return which, start[which] + offset
    if replace:
        nonempty = (deg > 0).nonzero().flatten()
        u = torch.rand(nonempty.numel(), k, generator=generator, device=device)
        offset = (u * deg[nonempty, None]).long()
        which = nonempty.repeat_interleave(k)
        return which, (start[nonempty, None] + offset).flatten()
    small = deg <= k
    # Rows with at most k entries: all of them.
    idx_small = small.nonzero().flatten()
    w_small, c_small = sample_neighbors(rowptr, nodes[idx_small], -1, False)
    w_small = idx_small[w_small]
    # Longer rows: Floyd's algorithm, k vectorised steps over all such rows.
    idx_big = (~small).nonzero().flatten()
    if idx_big.numel() == 0:
        return w_small, c_small
    d = deg[idx_big]
    chosen = torch.empty(idx_big.numel(), k, dtype=torch.long, device=device)
    for step in range(k):
        j = d - k + step  # draw from [0, j]
        t = (torch.rand(idx_big.numel(), generator=generator, device=device) * (j + 1)).long()
        taken = (chosen[:, :step] == t[:, None]).any(dim=1) if step else torch.zeros_like(t, dtype=torch.bool)
        chosen[:, step] = torch.where(taken, j, t)
    w_big = idx_big.repeat_interleave(k)
    c_big = (start[idx_big, None] + chosen).flatten()
    return torch.cat([w_small, w_big]), torch.cat([c_small, c_big])


class NeighborLoader:
    """Iterate over seed nodes in batches, each with its sampled neighbourhood.

    Args:
        graph: the full graph (its cached CSR is used for sampling).
        num_neighbors: neighbours to sample per node at each hop, outermost
            layer last (e.g. ``[15, 10]`` for a 2-layer model); ``-1`` takes all.
        batch_size: seed nodes per batch (default 1024).
        input_nodes: the seeds: a boolean mask or a tensor of node ids
            (default: every node).
        shuffle: visit the seeds in a random order each epoch (default ``True``).
        replace: sample with replacement (default ``False``).
        seed: seed of the loader's own generator; the same seed gives the same
            batches (default ``None``: draws from torch's global generator).
        drop_last: drop a last, smaller batch (default ``False``).

    Raises:
        ValueError: empty ``num_neighbors``, non-positive ``batch_size``,
            ``input_nodes`` outside the graph.
    """

    def __init__(self, graph: Graph, num_neighbors: Sequence[int], batch_size: int = 1024,
                 input_nodes: Tensor | None = None, shuffle: bool = True, replace: bool = False,
                 seed: int | None = None, drop_last: bool = False) -> None:
        if not isinstance(graph, Graph):
            raise ValueError(f"NeighborLoader needs a gnnkit.Graph, got {type(graph).__name__}")
        num_neighbors = [int(k) for k in num_neighbors]
        if not num_neighbors or any(k == 0 or k < -1 for k in num_neighbors):
            raise ValueError(
                f"num_neighbors must list one fan-out per layer, each > 0 or -1 (all), got {num_neighbors}"
            )
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be a positive number of seed nodes, got {batch_size}")
        self.graph, self.num_neighbors, self.batch_size = graph, num_neighbors, int(batch_size)
        self.shuffle, self.replace, self.drop_last = shuffle, replace, drop_last
        self.input_nodes = self._seeds(input_nodes)
        self._generator = None
        if seed is not None:
            self._generator = torch.Generator(device=graph.device).manual_seed(seed)
        csr = graph.csr()
        self._rowptr, self._col, self._value = csr.rowptr, csr.col.to(torch.int64), csr.value

    def _seeds(self, input_nodes: Tensor | None) -> Tensor:
        n = self.graph.num_nodes
        if input_nodes is None:
            return torch.arange(n, device=self.graph.device)
        if input_nodes.dtype == torch.bool:
            if input_nodes.shape != (n,):
                raise ValueError(f"input_nodes mask must have shape [{n}], got {tuple(input_nodes.shape)}")
            return input_nodes.nonzero().flatten()
        ids = input_nodes.long().flatten()
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= n):
            bad = int(ids.min()) if int(ids.min()) < 0 else int(ids.max())
            raise ValueError(f"input_nodes contains node {bad}, outside the graph's {n} nodes (0 <= id < {n})")
        return ids

    def __len__(self) -> int:
        full, rest = divmod(self.input_nodes.numel(), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[SampledBatch]:
        seeds = self.input_nodes
        if self.shuffle:
            seeds = seeds[torch.randperm(seeds.numel(), generator=self._generator, device=seeds.device)]
        for b in range(len(self)):
            yield self.sample(seeds[b * self.batch_size : (b + 1) * self.batch_size])

    def sample(self, seeds: Tensor) -> SampledBatch:
        """The sampled sub-graph around ``seeds`` (global ids, distinct)."""
        n, device = self.graph.num_nodes, seeds.device
        local = torch.full((n,), -1, dtype=torch.long, device=device)  # global -> local id
        local[seeds] = torch.arange(seeds.numel(), device=device)
        node_ids, frontier = [seeds], seeds
        frontier_start, count = 0, seeds.numel()
        src_parts, dst_parts, weight_parts = [], [], []
        num_nodes, num_edges = [seeds.numel()], []
        for k in self.num_neighbors:
            which, entry = sample_neighbors(self._rowptr, frontier, k, self.replace, self._generator)
            picked = self._col[entry]
            if self._value is not None:
                weight_parts.append(self._value[entry])
            new = torch.unique(picked[local[picked] < 0])
            local[new] = torch.arange(count, count + new.numel(), device=device)
            src_parts.append(local[picked])
            dst_parts.append(which + frontier_start)
            node_ids.append(new)
            num_nodes.append(new.numel())
            num_edges.append(picked.numel())
            frontier_start, count, frontier = count, count + new.numel(), new
        ids = torch.cat(node_ids)
        edge_index = torch.stack([torch.cat(src_parts), torch.cat(dst_parts)])
        g = self.graph
        sub = Graph(
            x=None if g.x is None else g.x[ids],
            edge_index=edge_index,
            edge_weight=torch.cat(weight_parts) if weight_parts else None,
            y=None if g.y is None else g.y[ids],
            num_nodes=ids.numel(),
        )
        return SampledBatch(sub, ids, seeds.numel(), num_nodes, num_edges)

__all__ = ["NeighborLoader", "SampledBatch", "sample_neighbors"]
