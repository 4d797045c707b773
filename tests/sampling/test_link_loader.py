"""LinkNeighborLoader: pairs in local ids, negatives, sampled neighbourhoods, seeding."""
from __future__ import annotations

import pytest
import torch

from gnnkit import Graph
from gnnkit.sampling import LinkNeighborLoader, split_edges


def _graph(n: int = 80, m: int = 300, seed: int = 0) -> Graph:
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, m), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    return Graph(x=torch.arange(n, dtype=torch.float).unsqueeze(1), edge_index=torch.cat([ei, ei.flip(0)], 1),
                 num_nodes=n)


def _pairs(t: torch.Tensor) -> set[tuple[int, int]]:
    return set(zip(t[0].tolist(), t[1].tolist()))


def test_batches_cover_the_pairs_with_negatives_and_neighbourhoods():
    split = split_edges(_graph(), seed=0)
    g = split.graph
    loader = LinkNeighborLoader(g, split.train_pos, num_neighbors=[5, 3], batch_size=64, neg_ratio=2, seed=0)
    edges = _pairs(g.edge_index)
    seen = set()
    assert len(loader) == -(-split.train_pos.size(1) // 64)
    for batch in loader:
        pos = int(batch.labels.sum())
        assert batch.pairs.size(1) == 3 * pos
        glob = batch.global_pairs
        seen |= _pairs(glob[:, :pos])
        assert not (_pairs(glob[:, pos:]) & edges)  # negatives are non-edges
        # the endpoints lead the sub-graph, and its features are the global nodes' features
        assert int(batch.pairs.max()) < torch.unique(glob).numel()
        assert torch.equal(batch.graph.x.squeeze(1).long(), batch.node_ids)
        sub = batch.node_ids[batch.graph.edge_index]
        assert _pairs(sub) <= edges  # every sampled edge is an edge of the message-passing graph
    assert seen == _pairs(split.train_pos)


def test_seeded_and_labelled_pairs():
    split = split_edges(_graph(), seed=0)
    a = [b.global_pairs for b in LinkNeighborLoader(split.graph, split.train_pos, [4], batch_size=50, seed=3)]
    b = [b.global_pairs for b in LinkNeighborLoader(split.graph, split.train_pos, [4], batch_size=50, seed=3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    pairs, labels = split.pairs("test")
    batches = list(LinkNeighborLoader(split.graph, pairs, [-1], batch_size=1000, labels=labels, shuffle=False))
    assert len(batches) == 1
    assert torch.equal(batches[0].global_pairs, pairs) and torch.equal(batches[0].labels, labels)


@pytest.mark.parametrize("kwargs, match", [
    (dict(pairs=torch.tensor([0, 1])), r"\[2, P\]"),
    (dict(pairs=torch.tensor([[0], [99]])), "outside"),
    (dict(labels=torch.ones(3)), "one per pair"),
    (dict(neg_ratio=-1), "neg_ratio"),
    (dict(batch_size=0), "batch_size"),
    (dict(num_neighbors=[]), "num_neighbors"),
])
def test_bad_arguments(kwargs, match):
    g = _graph()
    args = dict(graph=g, pairs=g.edge_index[:, :10], num_neighbors=[2])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        LinkNeighborLoader(**args)


def test_negatives_per_batch_round_up_and_labels_take_no_ratio():
    split = split_edges(_graph(), seed=0)
    pos = split.train_pos[:, :3]
    for ratio, batch, expected in ((0.5, 1, 1), (0.5, 5, 3), (1.5, 3, 5), (2.0, 3, 6)):
        loader = LinkNeighborLoader(split.graph, split.train_pos[:, :batch], [2], batch_size=batch,
                                    neg_ratio=ratio, seed=0)
        batch_ = next(iter(loader))
        assert int((batch_.labels == 0).sum()) == expected, (ratio, batch)  # ceil, as PyG: 0.5 x 1 gave none
    with pytest.raises(ValueError, match="labels are given, so the pairs are taken as they are"):
        LinkNeighborLoader(split.graph, pos, [2], labels=torch.ones(3), neg_ratio=1.0)
    assert LinkNeighborLoader(split.graph, pos, [2], labels=torch.ones(3)).neg_ratio == 0.0


def test_a_fresh_loader_and_a_reseeded_one_agree():
    split = split_edges(_graph(), seed=0)
    fresh = [b.global_pairs for b in LinkNeighborLoader(split.graph, split.train_pos, [3], batch_size=16, seed=5)]
    again = LinkNeighborLoader(split.graph, split.train_pos, [3], batch_size=16, seed=1)
    again.reseed(5)
    assert all(torch.equal(a, b) for a, b in zip(fresh, [b.global_pairs for b in again]))
