"""Edge split for link prediction: no leakage, both directions together, seeding, bad input."""
from __future__ import annotations

import pytest
import torch

from gnnkit import Graph
from gnnkit.sampling import is_undirected, split_edges
from gnnkit_testing import dataset_dir


def _undirected_graph(n: int = 60, m: int = 400, seed: int = 0, loops: int = 0, dups: int = 0) -> Graph:
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, m), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    if dups:
        ei = torch.cat([ei, ei[:, :dups], ei[:, :dups].flip(0)], dim=1)
    if loops:
        ei = torch.cat([ei, torch.arange(loops).repeat(2, 1)], dim=1)
    return Graph(x=torch.randn(n, 4), edge_index=ei, y=torch.zeros(n, dtype=torch.long), num_nodes=n)


def _unordered(t: torch.Tensor) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in zip(t[0].tolist(), t[1].tolist())}


def _directed(t: torch.Tensor) -> set[tuple[int, int]]:
    return set(zip(t[0].tolist(), t[1].tolist()))


def check_no_leakage(graph: Graph, split) -> None:
    """Every property that keeps val/test out of training, checked on plain Python sets."""
    everything = _unordered(graph.edge_index[:, graph.edge_index[0] != graph.edge_index[1]])
    mp = split.graph.edge_index
    train, val, test = _unordered(split.train_pos), _unordered(split.val_pos), _unordered(split.test_pos)
    # the three parts partition the edges, each undirected edge once
    assert train | val | test == everything
    assert not (train & val) and not (train & test) and not (val & test)
    assert split.train_pos.size(1) == len(train) and split.val_pos.size(1) == len(val)
    # the message-passing graph holds exactly the training edges, in both directions, nothing held out
    assert _directed(mp) == {(u, v) for u, v in train} | {(v, u) for u, v in train}
    assert mp.size(1) == 2 * len(train)
    assert not (_unordered(mp) & (val | test))
    # negatives: not edges of any part, no self-loops, distinct, val and test apart, u < v
    for neg in (split.val_neg, split.test_neg):
        assert bool((neg[0] < neg[1]).all())
        assert not (_unordered(neg) & everything)
        assert len(_unordered(neg)) == neg.size(1)
    assert not (_unordered(split.val_neg) & _unordered(split.test_neg))
    assert split.val_neg.size(1) == len(val) and split.test_neg.size(1) == len(test)


def test_split_has_no_leakage_and_the_gae_fractions():
    g = _undirected_graph()
    split = split_edges(g, seed=3)
    check_no_leakage(g, split)
    total = len(_unordered(g.edge_index))
    assert split.test_pos.size(1) == int(0.10 * total) and split.val_pos.size(1) == int(0.05 * total)
    assert split.graph.x is g.x and split.graph.y is g.y  # the node data is kept as it is
    pairs, labels = split.pairs("test")
    assert pairs.size(1) == labels.numel() == 2 * split.test_pos.size(1)
    assert labels[: split.test_pos.size(1)].eq(1).all() and labels[split.test_pos.size(1):].eq(0).all()


def test_split_is_seeded():
    g = _undirected_graph()
    a, b, c = split_edges(g, seed=1), split_edges(g, seed=1), split_edges(g, seed=2)
    for name in ("train_pos", "val_pos", "val_neg", "test_pos", "test_neg"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.test_pos, c.test_pos)


def test_self_loops_and_duplicates_are_handled():
    g = _undirected_graph(loops=5, dups=7)
    split = split_edges(g, val=0.1, test=0.2, seed=0)
    check_no_leakage(g, split)
    plain = _undirected_graph()
    already = plain.num_edges - 2 * len(_unordered(plain.edge_index))  # random edges repeat now and then
    assert split.num_self_loops == 5 and split.num_duplicates == already + 14
    assert bool((split.graph.edge_index[0] != split.graph.edge_index[1]).all())


def test_edge_weights_follow_their_edges():
    g = _undirected_graph()
    # symmetric weights: the weight of (u, v) is a function of the unordered pair
    w = (g.edge_index.min(0).values * 1000 + g.edge_index.max(0).values).float()
    split = split_edges(g.replace(edge_weight=w), seed=0)
    mp = split.graph.edge_index
    assert torch.equal(split.graph.edge_weight, (mp.min(0).values * 1000 + mp.max(0).values).float())


def test_directed_split():
    g0 = torch.Generator().manual_seed(0)
    ei = torch.randint(0, 50, (2, 300), generator=g0)
    g = Graph(edge_index=ei, num_nodes=50)
    with pytest.raises(ValueError, match="directed.*to_undirected.*undirected=False"):
        split_edges(g)
    split = split_edges(g, undirected=False, seed=0)
    edges = _directed(ei[:, ei[0] != ei[1]])
    parts = [_directed(t) for t in (split.train_pos, split.val_pos, split.test_pos)]
    assert parts[0] | parts[1] | parts[2] == edges and sum(map(len, parts)) == len(edges)
    assert _directed(split.graph.edge_index) == parts[0]
    assert not (_directed(split.test_neg) & edges) and not (_directed(split.val_neg) & edges)


def test_neg_ratio():
    split = split_edges(_undirected_graph(), neg_ratio=3, seed=0)
    assert split.test_neg.size(1) == 3 * split.test_pos.size(1)


@pytest.mark.parametrize("graph, kwargs, match", [
    (Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=0), {}, "no edges"),
    (Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=10), {}, "no edges"),
    (Graph(edge_index=torch.tensor([[0, 1], [0, 1]]), num_nodes=2), {}, "only self-loops"),
    (Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3), {}, "too few for val"),
    (None, dict(val=-0.1), "val must be a fraction"),
    (None, dict(test=1.0), "test must be a fraction"),
    (None, dict(val=0.5, test=0.5), "sum below 1"),
    (None, dict(neg_ratio=0), "neg_ratio"),
])
def test_bad_input(graph, kwargs, match):
    with pytest.raises(ValueError, match=match):
        split_edges(graph if graph is not None else _undirected_graph(), **kwargs)


def test_not_a_graph_and_not_enough_non_edges():
    with pytest.raises(ValueError, match="gnnkit.Graph"):
        split_edges(torch.tensor([[0, 1], [1, 0]]))
    # a complete graph on 6 nodes: 15 edges, no non-edge for the 1 val + 3 test negatives
    full = torch.tensor([(u, v) for u in range(6) for v in range(6) if u != v]).t()
    with pytest.raises(ValueError, match="non-edges"):
        split_edges(Graph(edge_index=full, num_nodes=6), val=0.1, test=0.2)


def test_is_undirected():
    assert is_undirected(torch.tensor([[0, 1], [1, 0]]))
    assert not is_undirected(torch.tensor([[0], [1]]))


@pytest.mark.data
@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_real_split_has_no_leakage(name, data_root):
    from gnnkit.datasets import load

    dataset_dir(data_root, name)
    g = load(name, root=data_root, download=False, progress=False)
    split = split_edges(g, seed=0)
    check_no_leakage(g, split)
    total = len(_unordered(g.edge_index))
    assert (split.val_pos.size(1), split.test_pos.size(1)) == (total // 20, total // 10)
