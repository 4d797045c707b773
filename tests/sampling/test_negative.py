"""Negative sampling: exclusion of positives, seeding, degree weighting, bipartite, large ids."""
from __future__ import annotations

import pytest
import torch

from gnnkit.sampling import EdgeSet, NegativeSamplingError, bipartite_negative_sampling, negative_sampling
from gnnkit.sampling.negative import first_occurrences, lexsort_pairs


def _pairs(t: torch.Tensor) -> set[tuple[int, int]]:
    return set(zip(t[0].tolist(), t[1].tolist()))


def _undirected(n: int = 40, m: int = 150, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, m), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    return torch.cat([ei, ei.flip(0)], dim=1)


# ----------------------------------------------------------------- EdgeSet
def test_edge_set_matches_a_python_set():
    ei = _undirected()
    es = EdgeSet(ei)
    truth = _pairs(ei)
    assert len(es) == len(truth)
    g = torch.Generator().manual_seed(1)
    q = torch.randint(0, 45, (2, 5000), generator=g)  # also ids beyond every edge
    got = es.contains(q[0], q[1]).tolist()
    assert got == [(a, b) in truth for a, b in zip(q[0].tolist(), q[1].tolist())]


def test_edge_set_bitmap_answers_like_the_binary_search():
    # From the second query on, a set over few ids answers from a bitmap: same answers, out-of-range ids included.
    ei = _undirected(n=60, m=400, seed=3)
    es = EdgeSet(ei)
    truth = _pairs(ei)
    g = torch.Generator().manual_seed(2)
    for round_ in range(3):
        q = torch.randint(-3, 66, (2, 3000), generator=g)
        got = es.contains(q[0], q[1]).tolist()
        assert got == [(a, b) in truth for a, b in zip(q[0].tolist(), q[1].tolist())], round_
        assert (es._bitmap is not None) == (round_ >= 1)
    # moved with the set
    assert es.to("cpu")._bitmap is not None


def test_edge_set_undirected_holds_both_directions():
    es = EdgeSet(torch.tensor([[0, 2], [1, 3]]), undirected=True)
    assert es.contains(torch.tensor([0, 1, 2, 3, 0]), torch.tensor([1, 0, 3, 2, 2])).tolist() == [True] * 4 + [False]


def test_edge_set_ids_beyond_int64_packing():
    # src * N + dst overflows int64 for N = 5e9; the set never packs pairs into one key.
    n = 5_000_000_000
    big = torch.tensor([[n - 1, n - 2, 3, n - 1], [n - 2, 7, n - 1, 0]])
    es = EdgeSet(big)
    q_src = torch.tensor([n - 1, n - 2, 3, n - 1, n - 2, 0, n - 1])
    q_dst = torch.tensor([n - 2, 7, n - 1, 0, n - 1, 3, n - 3])
    assert es.contains(q_src, q_dst).tolist() == [True, True, True, True, False, False, False]
    # a wrapped key (src * n + dst mod 2**64) would make these two distinct pairs equal
    a = (n - 1) * n + (n - 2)
    assert a > 2**63 - 1
    neg = negative_sampling(big, n, 100, generator=torch.Generator().manual_seed(0))
    assert not (_pairs(neg) & _pairs(big))
    assert int(neg.max()) < n


def test_first_occurrences_and_lexsort():
    src = torch.tensor([3, 1, 3, 1, 2, 3])
    dst = torch.tensor([0, 5, 0, 4, 2, 1])
    assert first_occurrences(src, dst).tolist() == [True, True, False, True, True, True]
    perm = lexsort_pairs(src, dst)
    assert list(zip(src[perm].tolist(), dst[perm].tolist())) == sorted(zip(src.tolist(), dst.tolist()))


# ------------------------------------------------------- negative_sampling
def test_negatives_exclude_every_edge_and_self_loops():
    ei = _undirected()
    neg = negative_sampling(ei, 40, 3000, generator=torch.Generator().manual_seed(0))
    assert neg.shape == (2, 3000)
    assert not (_pairs(neg) & _pairs(ei))
    assert bool((neg[0] != neg[1]).all())
    assert int(neg.min()) >= 0 and int(neg.max()) < 40


def test_negatives_are_seeded():
    ei = _undirected()
    a = negative_sampling(ei, 40, 500, generator=torch.Generator().manual_seed(7))
    b = negative_sampling(ei, 40, 500, generator=torch.Generator().manual_seed(7))
    c = negative_sampling(ei, 40, 500, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_default_count_is_one_per_edge_and_exclude_overrides():
    ei = _undirected()
    assert negative_sampling(ei, 40).shape == (2, ei.size(1))
    only = torch.tensor([[0], [1]])
    neg = negative_sampling(ei, 40, 2000, exclude=EdgeSet(only), generator=torch.Generator().manual_seed(0))
    assert (0, 1) not in _pairs(neg)
    assert _pairs(neg) & _pairs(ei)  # only the given pairs were excluded


def test_unique_undirected_negatives_are_distinct_unordered_pairs():
    ei = _undirected(n=12, m=20)
    non_edges = {(u, v) for u in range(12) for v in range(u + 1, 12)} - {(min(a, b), max(a, b)) for a, b in _pairs(ei)}
    neg = negative_sampling(ei, 12, len(non_edges), unique=True, undirected=True,
                            generator=torch.Generator().manual_seed(0))
    got = list(zip(neg[0].tolist(), neg[1].tolist()))
    assert all(u < v for u, v in got)
    assert len(set(got)) == len(got) and set(got) == non_edges  # every non-edge once: exact, terminates
    with pytest.raises(ValueError, match="non-edges"):
        negative_sampling(ei, 12, len(non_edges) + 1, unique=True, undirected=True)


@pytest.mark.parametrize("exclude_as", ["tensor", "edge_set"])
def test_undirected_negatives_avoid_edges_stored_one_way_only(exclude_as):
    # a star stored 0 -> k only: (k, 0) drawn and returned as (0, k) is still an edge
    star = torch.tensor([[0, 0, 0], [1, 2, 3]])
    exclude = star if exclude_as == "tensor" else EdgeSet(star)
    for seed in range(50):
        neg = negative_sampling(star, 4, 3, exclude=exclude, unique=True, undirected=True,
                                generator=torch.Generator().manual_seed(seed))
        assert sorted(map(tuple, neg.t().tolist())) == [(1, 2), (1, 3), (2, 3)]
    with pytest.raises(ValueError, match="only 3 non-edges"):
        negative_sampling(star, 4, 4, exclude=exclude, unique=True, undirected=True)


def test_degree_weighting_prefers_hubs():
    # a star: node 0 joined to 1..30, plus a sparse ring on 31..99
    hub = torch.stack([torch.zeros(30, dtype=torch.long), torch.arange(1, 31)])
    ring = torch.stack([torch.arange(31, 99), torch.arange(32, 100)])
    ei = torch.cat([hub, ring], dim=1)
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    gen = torch.Generator().manual_seed(0)
    uni = negative_sampling(ei, 100, 20000, generator=gen)
    deg = negative_sampling(ei, 100, 20000, method="degree", generator=gen)
    share = lambda t: float(((t >= 1) & (t <= 30)).float().mean())  # noqa: E731
    # spokes have degree 1 like ring nodes; the hub is excluded with every spoke, so compare the ring vs spokes
    d = torch.bincount(ei[0], minlength=100).float()
    assert float(d[deg.flatten()].mean()) > float(d[uni.flatten()].mean())
    assert abs(share(uni) - 0.3) < 0.03
    assert not (_pairs(deg) & _pairs(ei))


def test_inexact_mode_skips_the_test():
    full = torch.tensor([(u, v) for u in range(4) for v in range(4) if u != v]).t()
    neg = negative_sampling(full, 4, 50, exact=False, generator=torch.Generator().manual_seed(0))
    assert _pairs(neg) <= _pairs(full)  # every pair is an edge: nothing was excluded
    with pytest.raises(RuntimeError, match="no negative"):  # as before ...
        negative_sampling(full, 4, 5, max_rounds=3)
    with pytest.raises(NegativeSamplingError, match="no negative") as err:  # ... and a ValueError, on every path
        negative_sampling(full, 4, 5, max_rounds=3, exclude=EdgeSet(full))
    assert isinstance(err.value, ValueError)
    with pytest.raises(ValueError, match="no negative"):
        negative_sampling(full, 4, 5, max_rounds=3, method="degree")


def _near_complete(n: int = 10, missing: int = 5) -> tuple[torch.Tensor, set[tuple[int, int]]]:
    """K_n without ``missing`` undirected edges: 2 * missing allowed ordered pairs."""
    pairs = [(u, v) for u in range(n) for v in range(u + 1, n)]
    gone = set(pairs[::len(pairs) // missing][:missing])
    kept = torch.tensor([p for p in pairs if p not in gone]).t()
    return torch.cat([kept, kept.flip(0)], 1), gone | {(v, u) for u, v in gone}


@pytest.mark.parametrize("path", ["torch", "numpy", "degree"])
def test_a_dense_graph_is_completed_from_the_list_of_allowed_pairs(path):
    # Rejection rounds run out on a graph with few non-edges; a small graph is then completed exactly by
    # drawing from the list of allowed pairs, with the distribution rejection converges to.
    ei, allowed = _near_complete()
    kw = {"torch": {}, "numpy": {"exclude": EdgeSet(ei)}, "degree": {"method": "degree"}}[path]
    if path == "numpy":
        kw["exclude"]._lookups = 5  # (a set queried before)
    out = negative_sampling(ei, 10, 20_000, max_rounds=1, generator=torch.Generator().manual_seed(0), **kw)
    assert _pairs(out) == allowed
    if path != "degree":  # uniform over the 10 allowed ordered pairs
        counts = torch.unique(out[0] * 10 + out[1], return_counts=True)[1].double()
        assert bool(((counts - 2000).abs() < 5 * 2000 ** 0.5).all())
    few = negative_sampling(ei, 10, 10, max_rounds=1, unique=True, generator=torch.Generator().manual_seed(1))
    assert sorted(_pairs(few)) == sorted(allowed) and few.size(1) == 10
    half = negative_sampling(ei, 10, 5, max_rounds=1, unique=True, undirected=True,
                             generator=torch.Generator().manual_seed(2))
    assert bool((half[0] < half[1]).all()) and {(u, v) for u, v in _pairs(half)} == {p for p in allowed if p[0] < p[1]}
    with pytest.raises(ValueError, match="only 10 non-edges"):
        negative_sampling(ei, 10, 11, max_rounds=1, unique=True)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_samples=-1), "non-negative"),
    (dict(num_nodes=0), "num_nodes"),
    (dict(method="popular"), "method"),
    (dict(max_rounds=0), "max_rounds"),
    (dict(num_nodes=3), "refers to node"),
])
def test_bad_arguments(kwargs, match):
    args = dict(edge_index=_undirected(), num_nodes=40, num_samples=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        negative_sampling(**args)


# ------------------------------------------------------------- bipartite
def _bipartite(users: int = 20, items: int = 30, m: int = 200, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, users, (m,), generator=g), torch.randint(0, items, (m,), generator=g)])


def test_bipartite_negatives_keep_the_source_and_avoid_its_items():
    ei = _bipartite()
    src = ei[0].repeat(5)
    neg = bipartite_negative_sampling(ei, 20, 30, src=src, generator=torch.Generator().manual_seed(0))
    assert torch.equal(neg[0], src)
    assert not (_pairs(neg) & _pairs(ei))
    assert int(neg[1].max()) < 30
    free = bipartite_negative_sampling(ei, 20, 30, 400, generator=torch.Generator().manual_seed(0))
    assert free.shape == (2, 400) and not (_pairs(free) & _pairs(ei))


def test_bipartite_popularity_and_saturated_user():
    items = torch.cat([torch.zeros(50, dtype=torch.long), torch.arange(1, 10)])
    users = torch.cat([torch.arange(50), torch.zeros(9, dtype=torch.long)])
    ei = torch.stack([users, items])  # item 0 is popular
    gen = torch.Generator().manual_seed(0)
    src = torch.arange(50, 60).repeat(200)  # users with no items
    pop = bipartite_negative_sampling(ei, 60, 12, src=src, method="degree", generator=gen)
    uni = bipartite_negative_sampling(ei, 60, 12, src=src, generator=gen)
    assert float((pop[1] == 0).float().mean()) > 2 * float((uni[1] == 0).float().mean())
    full = torch.stack([torch.zeros(12, dtype=torch.long), torch.arange(12)])
    with pytest.raises(ValueError, match="source 0 is linked to all 12"):
        bipartite_negative_sampling(full, 2, 12, src=torch.tensor([1, 0]))


def test_packed_and_row_search_lookups_agree():
    # the packed-key lookup (ids < 2**31) and the overflow-safe row search give the same answers
    ei = _undirected(n=300, m=3000, seed=4)
    fast = EdgeSet(ei)
    safe = EdgeSet(ei)
    safe._packed = None
    assert fast._packed is not None
    g = torch.Generator().manual_seed(2)
    q = torch.randint(-3, 310, (2, 20000), generator=g)
    q = torch.cat([q, ei[:, :500]], dim=1)
    assert torch.equal(fast.contains(q[0], q[1]), safe.contains(q[0], q[1]))
    big = EdgeSet(torch.tensor([[2**31, 5], [7, 2**33]]))
    assert big._packed is None and big.contains(torch.tensor([2**31, 5]), torch.tensor([7, 2**33])).all()


def test_numpy_lookup_and_sampling_do_not_depend_on_the_sets_history():
    # The uniform CPU sampler looks pairs up in numpy: by binary search on the first query, from the bitmap
    # after. The answers must match contains(), and the draws must not depend on which lookup answered
    # (a resumed run starts with a fresh set where the uninterrupted one had its bitmap).
    import numpy as np

    ei = _undirected(n=50, m=300, seed=6)
    truth = _pairs(ei)
    es = EdgeSet(ei)
    g = np.random.default_rng(0)
    for round_ in range(3):
        s, d = g.integers(0, 70, 4000), g.integers(0, 70, 4000)  # ids up to 69: beyond every edge's
        got = es._contains_numpy(s, d).tolist()
        assert got == [(a, b) in truth for a, b in zip(s.tolist(), d.tolist())], round_
        assert (es._bitmap is not None) == (round_ >= 1)
    used = EdgeSet(ei)
    for _ in range(3):
        negative_sampling(ei, 70, 10, exclude=used)
    assert used._bitmap is not None
    fresh = EdgeSet(ei)
    a = negative_sampling(ei, 70, 2000, exclude=fresh, generator=torch.Generator().manual_seed(3))
    b = negative_sampling(ei, 70, 2000, exclude=used, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not (_pairs(a) & truth) and bool((a[0] != a[1]).all())
    assert int(a.max()) >= 50  # nodes without edges are drawn too
    many = negative_sampling(ei, 70, 70_000, exclude=used, generator=torch.Generator().manual_seed(4))
    counts = torch.bincount(many.flatten(), minlength=70).double()
    # uniform over the allowed ordered pairs: node u is in 2 * 70000 * (69 - deg u) / sum_v (69 - deg v) of them
    free = 69.0 - torch.bincount(torch.tensor(sorted(truth)).t()[0], minlength=70).double()
    expected = 2 * 70_000 * free / free.sum()
    assert bool(((counts - expected).abs() < 5 * expected.sqrt()).all())


def test_pyg_calls_of_negative_sampling():
    # the calls of PyG's test_negative_sampling: num_nodes inferred, num_neg_samples, method names, force_undirected
    g = torch.Generator().manual_seed(0)
    ei = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
    known = set(map(tuple, ei.t().tolist()))
    for kwargs in ({}, {"method": "sparse"}, {"method": "dense"}, {"num_neg_samples": 3}):
        neg = negative_sampling(ei, generator=g, **kwargs)
        assert neg.size(1) == kwargs.get("num_neg_samples", 4) and int(neg.max()) < 4  # N inferred as 4
        assert not set(map(tuple, neg.t().tolist())) & known
    und = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4], [1, 0, 2, 1, 3, 2, 4, 3]])
    neg = negative_sampling(und, 5, force_undirected=True, generator=g)
    pairs = set(map(tuple, neg.t().tolist()))
    assert neg.size(1) == 8 and pairs == {(v, u) for u, v in pairs}  # both directions, as PyG's
    assert not pairs & set(map(tuple, und.t().tolist())) and all(u != v for u, v in pairs)
    bip = negative_sampling(ei[:, 1:], (3, 4), 5, generator=g)  # PyG's bipartite num_nodes=(S, T)
    assert int(bip[0].max()) < 3 and int(bip[1].max()) < 4
    assert not set(map(tuple, bip.t().tolist())) & set(map(tuple, ei[:, 1:].t().tolist()))


@pytest.mark.parametrize("loops", [True, False])
def test_structured_negative_sampling(loops):
    from gnnkit.sampling import structured_negative_sampling

    g = torch.Generator().manual_seed(1)
    ei = torch.randint(0, 12, (2, 60), generator=g)
    i, j, k = structured_negative_sampling(ei, 12, contains_neg_self_loops=loops, generator=g)
    assert torch.equal(i, ei[0]) and torch.equal(j, ei[1]) and k.shape == i.shape
    known = set(map(tuple, ei.t().tolist()))
    assert not {(a, c) for a, c in zip(i.tolist(), k.tolist())} & known
    if not loops:
        assert bool((k != i).all())
    assert structured_negative_sampling(ei[:, :0], 3)[2].numel() == 0


def test_negative_sampling_refuses_ids_that_are_not_node_ids():
    from gnnkit.sampling import structured_negative_sampling

    for bad, message in ((torch.tensor([[0.9, 1.2], [1.9, 0.4]]), "must hold integer node ids, got torch.float32"),
                         (torch.tensor([[True, False], [False, True]]), "must hold integer node ids, got torch.bool"),
                         (torch.tensor([[-1, 2], [0, 1]]), "holds node id -1; ids must be >= 0")):
        with pytest.raises(ValueError, match=message):  # old: 0.9 read as node 0, -1 excluded nothing
            negative_sampling(bad, 4)
        with pytest.raises(ValueError, match="structured_negative_sampling: "):
            structured_negative_sampling(bad)
    with pytest.raises(ValueError, match="num_nodes must be an int covering every id"):
        structured_negative_sampling(torch.tensor([[0, 1], [1, 2]]), 2)
    assert negative_sampling(torch.empty(2, 0, dtype=torch.long)).shape == (2, 0)  # PyG's empty graph
