import pytest
import torch

from gnnkit import Graph
from gnnkit.datasets.synthetic import synthetic
from gnnkit.sampling.neighbor import NeighborLoader, sample_neighbors


def star_and_chain():
    # node 0 has in-neighbours 1..20 (a hub); 21 -> 22 -> 23 is a chain
    src = list(range(1, 21)) + [21, 22]
    dst = [0] * 20 + [22, 23]
    return Graph(x=torch.arange(24, dtype=torch.float32)[:, None], edge_index=torch.tensor([src, dst]),
                 y=torch.arange(24), edge_weight=torch.arange(22, dtype=torch.float32) + 1)


def test_without_replacement_is_distinct_and_capped():
    g = star_and_chain()
    csr = g.csr()
    for seed in range(20):
        gen = torch.Generator().manual_seed(seed)
        which, entry = sample_neighbors(csr.rowptr, torch.tensor([0, 22, 5]), 5, False, gen)
        hub = csr.col[entry[which == 0]]
        assert hub.numel() == 5 and hub.unique().numel() == 5
        assert set(hub.tolist()) <= set(range(1, 21))
        assert csr.col[entry[which == 1]].tolist() == [21]  # fewer than k: all of them
        assert (which == 2).sum() == 0  # no in-neighbours


def test_floyd_sampling_is_uniform():
    g = star_and_chain()
    csr = g.csr()
    gen = torch.Generator().manual_seed(0)
    nodes = torch.zeros(4000, dtype=torch.long)  # the hub, 4000 times at once
    which, entry = sample_neighbors(csr.rowptr, nodes, 5, False, gen)
    counts = torch.bincount(csr.col[entry], minlength=21)[1:].float()
    # each of 20 neighbours expected 4000 * 5 / 20 = 1000 times
    assert counts.min() > 850 and counts.max() < 1150
    per_row = torch.bincount(which, minlength=4000)
    assert torch.all(per_row == 5)


def test_with_replacement_gives_k_per_nonempty_row():
    g = star_and_chain()
    csr = g.csr()
    which, entry = sample_neighbors(csr.rowptr, torch.tensor([0, 22, 5]), 30, True, torch.Generator().manual_seed(1))
    assert (which == 0).sum() == 30 and (which == 1).sum() == 30 and (which == 2).sum() == 0


def test_batches_are_consistent_subgraphs():
    g = synthetic(num_nodes=500, num_edges=3000, seed=1)
    loader = NeighborLoader(g, [4, 3], batch_size=64, input_nodes=g.train_mask, seed=0)
    seen = []
    full = set(map(tuple, g.edge_index.t().tolist()))
    for batch in loader:
        sub = batch.graph
        assert torch.equal(sub.x, g.x[batch.node_ids]) and torch.equal(sub.y, g.y[batch.node_ids])
        assert batch.node_ids.unique().numel() == batch.node_ids.numel()
        assert sum(batch.num_sampled_nodes) == sub.num_nodes and sum(batch.num_sampled_edges) == sub.num_edges
        # every sampled edge exists in the full graph, in the same direction
        glob = batch.node_ids[sub.edge_index]
        assert set(map(tuple, glob.t().tolist())) <= full
        # first-hop edges all point into a seed, with at most 4 per seed
        hop1 = sub.edge_index[:, : batch.num_sampled_edges[0]]
        assert torch.all(hop1[1] < batch.batch_size)
        assert torch.bincount(hop1[1]).max() <= 4
        seen.append(batch.seed_ids)
    seeds = torch.cat(seen)
    assert torch.equal(seeds.sort().values, g.train_mask.nonzero().flatten())
    assert len(loader) == len(seen)


def test_edge_weights_follow_the_sampled_edges():
    g = star_and_chain()
    batch = NeighborLoader(g, [-1], batch_size=30, shuffle=False).sample(torch.tensor([0, 23]))
    glob = batch.node_ids[batch.graph.edge_index]
    lookup = {(s, d): w for (s, d), w in zip(g.edge_index.t().tolist(), g.edge_weight.tolist())}
    assert [lookup[tuple(e)] for e in glob.t().tolist()] == batch.graph.edge_weight.tolist()


def test_fixed_seed_reproduces_batches():
    g = synthetic(num_nodes=300, num_edges=2000, seed=2)
    a = [b.node_ids for b in NeighborLoader(g, [5, 5], batch_size=50, seed=7)]
    b = [b.node_ids for b in NeighborLoader(g, [5, 5], batch_size=50, seed=7)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_bad_arguments():
    g = synthetic(num_nodes=50, num_edges=100)
    with pytest.raises(ValueError, match="one fan-out per layer"):
        NeighborLoader(g, [])
    with pytest.raises(ValueError, match="one fan-out per layer"):
        NeighborLoader(g, [5, 0])
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        NeighborLoader(g, [5], batch_size=0)
    with pytest.raises(ValueError, match="outside the graph's 50 nodes"):
        NeighborLoader(g, [5], input_nodes=torch.tensor([3, 50]))
    with pytest.raises(ValueError, match="mask must have shape"):
        NeighborLoader(g, [5], input_nodes=torch.ones(10, dtype=torch.bool))


def test_synthetic_is_homophilous_and_reproducible():
    a, b = synthetic(seed=3, num_nodes=2000, num_edges=10000), synthetic(seed=3, num_nodes=2000, num_edges=10000)
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x)
    same = (a.y[a.edge_index[0]] == a.y[a.edge_index[1]]).float().mean()
    assert same > 0.8  # 0.8 homophily plus chance agreement of the rest
    deg = torch.bincount(a.edge_index[1], minlength=2000).float()
    assert deg.max() > 10 * deg.median()  # power-law: hubs
    assert (a.train_mask.sum(), a.val_mask.sum(), a.test_mask.sum()) == (1200, 400, 400)
    with pytest.raises(ValueError, match="homophily"):
        synthetic(homophily=1.5)
