"""Stratified splits and structural features."""
from __future__ import annotations

import networkx as nx
import pytest
import torch

from gnnkit import Graph
from gnnkit.train.node_features import row_normalize, structural_features
from gnnkit.train.splits import stratified_split


def test_fraction_split_is_stratified_disjoint_and_seeded():
    y = torch.tensor([0] * 50 + [1] * 30 + [2] * 20 + [-1] * 5)
    train, val, test = stratified_split(y, (0.6, 0.2, 0.2), seed=1)
    assert not (train & val).any() and not (train & test).any() and not (val & test).any()
    assert [int((train & (y == c)).sum()) for c in range(3)] == [30, 18, 12]
    assert [int((val & (y == c)).sum()) for c in range(3)] == [10, 6, 4]
    assert not (train | val | test)[y < 0].any()  # unlabelled nodes are never picked
    again = stratified_split(y, (0.6, 0.2, 0.2), seed=1)
    other = stratified_split(y, (0.6, 0.2, 0.2), seed=2)
    assert torch.equal(train, again[0]) and not torch.equal(train, other[0])


def test_per_class_split_like_planetoid():
    y = torch.arange(4).repeat_interleave(400)
    train, val, test = stratified_split(y, per_class=20, seed=0)
    assert [int((train & (y == c)).sum()) for c in range(4)] == [20] * 4
    assert int(val.sum()) == 500 and int(test.sum()) == 1000 and not (val & test).any()


def test_split_errors_name_the_problem():
    y = torch.tensor([0] * 50 + [1] * 2)
    with pytest.raises(ValueError, match=r"class 1 \(2 nodes\) without training nodes"):
        stratified_split(y, (0.3, 0.3, 0.4))
    with pytest.raises(ValueError, match="summing to <= 1"):
        stratified_split(y, (0.8, 0.2, 0.2))


def test_structural_features_match_networkx():
    g = nx.karate_club_graph()
    graph = Graph.from_networkx(g)
    x = structural_features(graph.edge_index, graph.num_nodes, dim=0)
    assert x.shape == (34, 4)
    torch.testing.assert_close(x.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    # Standardised columns keep the order of the statistic they come from.
    deg = torch.tensor([g.degree(v) for v in g.nodes], dtype=torch.float)
    clust = torch.tensor([nx.clustering(g, v) for v in g.nodes])
    pr = nx.pagerank(g, weight=None)  # karate_club_graph carries edge weights; ours is unweighted
    pr = torch.tensor([pr[v] for v in g.nodes])
    for column, ref in zip((0, 1, 2), (deg.log1p(), clust, pr.log())):
        standardised = (ref - ref.mean()) / ref.std(unbiased=False)
        torch.testing.assert_close(x[:, column], standardised.float(), atol=2e-3, rtol=2e-3)


def test_structural_features_are_deterministic_and_fastrp_is_seeded():
    graph = Graph.from_networkx(nx.karate_club_graph())
    a = structural_features(graph.edge_index, 34, dim=8, seed=0)
    b = structural_features(graph.edge_index, 34, dim=8, seed=0)
    c = structural_features(graph.edge_index, 34, dim=8, seed=1)
    assert a.shape == (34, 12) and torch.equal(a, b) and not torch.equal(a[:, 4:], c[:, 4:])


def test_row_normalize():
    x = torch.tensor([[1.0, 3.0], [0.0, 0.0]])
    assert torch.equal(row_normalize(x), torch.tensor([[0.25, 0.75], [0.0, 0.0]]))
    # features of both signs: a row summing to ~0 is not blown up or flipped (by the sum of |x|)
    mixed = torch.tensor([[1.0, -1.0 + 1e-7, 2.0], [-3.0, 1.0, 0.0]])
    out = row_normalize(mixed)
    torch.testing.assert_close(out.abs().sum(1), torch.ones(2))
    assert torch.equal(out.sign(), mixed.sign())


def test_link_features_normalise_sparse_rows_like_dense_ones():
    from gnnkit import Graph
    from gnnkit.nn.features import sparse_features
    from gnnkit.sampling import split_edges
    from gnnkit.train.tasks.link import LinkConfig, link_features

    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 12, generator=g) * (torch.rand(40, 12, generator=g) < 0.3)
    ring = torch.stack([torch.arange(40), (torch.arange(40) + 1) % 40])
    split = split_edges(Graph(edge_index=torch.cat([ring, ring.flip(0)], 1), num_nodes=40), seed=0)
    sparse = link_features(split, "gae", LinkConfig(), x=sparse_features(x))
    dense = row_normalize(x)
    got = torch.zeros(40, 12).index_put_((sparse.x.row(), sparse.x.col.long()), sparse.x.value)
    torch.testing.assert_close(got, dense)
