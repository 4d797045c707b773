import torch

from gnnkit.ops import add_self_loops, coalesce, degree, remove_self_loops, to_undirected
from gnnkit.ops.scatter import scatter, segment


def edges(t):
    return set(map(tuple, t.t().tolist()))


def test_self_loops_round_trip():
    ei = torch.tensor([[0, 1, 2, 2], [1, 1, 0, 2]])
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    ei2, w2 = remove_self_loops(ei, w)
    assert edges(ei2) == {(0, 1), (2, 0)} and w2.tolist() == [1.0, 3.0]
    ei3, w3 = add_self_loops(ei2, w2, num_nodes=4, fill_value=0.5)
    assert edges(ei3) == {(0, 1), (2, 0), (0, 0), (1, 1), (2, 2), (3, 3)}
    assert w3[-4:].tolist() == [0.5] * 4


def test_coalesce_merges_duplicates():
    ei = torch.tensor([[1, 0, 1, 0], [2, 1, 2, 1]])
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    out, wo = coalesce(ei, w, 3)
    assert out.tolist() == [[0, 1], [1, 2]]
    assert wo.tolist() == [6.0, 4.0]
    _, wmax = coalesce(ei, w, 3, reduce="max")
    assert wmax.tolist() == [4.0, 3.0]


def test_the_mean_of_integer_weights_is_not_truncated():
    ei = torch.tensor([[0, 0, 1], [1, 1, 2]])
    _, mean = coalesce(ei, torch.tensor([1, 2, 7]), 3, reduce="mean")
    assert mean.dtype == torch.get_default_dtype() and mean.tolist() == [1.5, 7.0]
    _, summed = coalesce(ei, torch.tensor([1, 2, 7]), 3)
    assert summed.dtype == torch.int64 and summed.tolist() == [3, 7]  # sums of integers stay integers
    index = torch.tensor([0, 0, 1])
    for deterministic in (False, True):
        assert scatter(torch.tensor([1, 2, 3]), index, 2, "mean", deterministic).tolist() == [1.5, 3.0]
    assert segment(torch.tensor([1, 2, 3]), torch.tensor([0, 2, 3]), "mean").tolist() == [1.5, 3.0]


def test_to_undirected_and_degree():
    ei = torch.tensor([[0, 1, 1], [1, 0, 2]])
    out, _ = to_undirected(ei, num_nodes=3)
    assert edges(out) == {(0, 1), (1, 0), (1, 2), (2, 1)} and out.size(1) == 4
    assert degree(out[1], 4).tolist() == [1.0, 2.0, 1.0, 0.0]
    assert degree(ei[1], 3, weight=torch.tensor([1.0, 2.0, 0.5])).tolist() == [2.0, 1.0, 0.5]


def test_degree_refuses_ids_outside_num_nodes():
    import pytest

    with pytest.raises(ValueError, match=r"ids from 0 to 5, expected 0 <= id < num_nodes = 3"):
        degree(torch.tensor([0, 5]), 3)  # old: a tensor of 6 counts, longer than the 3 nodes asked for
    with pytest.raises(ValueError, match="ids from -1"):
        degree(torch.tensor([-1, 1]), 3, weight=torch.ones(2))
    assert degree(torch.tensor([0, 2, 2]), 4).tolist() == [1.0, 0.0, 2.0, 0.0]


def test_add_self_loops_fill_values_as_pyg():
    import pytest

    from gnnkit_testing import require

    pyg_utils = require("torch_geometric.utils")
    g = torch.Generator().manual_seed(0)
    ei = torch.tensor([[0, 1, 2, 3, 1], [1, 2, 1, 1, 0]])
    for w in (torch.rand(5, generator=g, dtype=torch.float64), torch.rand(5, 3, generator=g)):
        fills = ("add", "sum", "mean", "max", "min", 2.5, torch.tensor(0.5, dtype=w.dtype),
                 torch.arange(w[0].numel(), dtype=w.dtype).view(w.shape[1:]))
        for fill in fills:
            ours = add_self_loops(ei, w, num_nodes=5, fill_value=fill)
            theirs = pyg_utils.add_self_loops(ei, w, fill_value=fill, num_nodes=5)
            assert torch.equal(ours[0], theirs[0]) and torch.allclose(ours[1], theirs[1], atol=1e-12), fill
    with pytest.raises(TypeError, match="PyG's takes fill_value third"):
        add_self_loops(ei, torch.ones(5), 2.0)  # PyG's positional fill_value; old: 2.0 taken as num_nodes, loops 1
    with pytest.raises(ValueError, match="'mul' is not a reduction"):
        add_self_loops(ei, torch.ones(5), fill_value="mul")


def test_symmetrize_keeps_the_weight_of_an_edge_listed_both_ways():
    import warnings

    import pytest

    from gnnkit.ops import symmetrize

    ei = torch.tensor([[0, 1, 1, 2, 3], [1, 0, 2, 2, 3]])
    w = torch.tensor([1.0, 1.0, 0.5, 1.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # equal weights both ways: nothing to say
        out, wo = symmetrize(ei, w, 5)
    got = dict(zip(map(tuple, out.t().tolist()), wo.tolist()))
    # old (to_undirected): 0-1 summed to 2.0 each way
    assert got == {(0, 1): 1.0, (1, 0): 1.0, (1, 2): 0.5, (2, 1): 0.5, (2, 2): 1.5, (3, 3): 2.0}
    # an edge listed once is what to_undirected gives; duplicates are summed first, as coalesce does
    once = torch.tensor([[0, 2, 2], [1, 3, 3]])
    a, b = symmetrize(once, torch.ones(3), 4), to_undirected(once, torch.ones(3), 4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.warns(UserWarning, match=r"listed both ways with different weights \(e\.g\. 0 -> 1: 1, back: 3\)"):
        _, wo = symmetrize(torch.tensor([[0, 1], [1, 0]]), torch.tensor([1.0, 3.0]), 2)
    assert wo.tolist() == [1.0, 3.0]
    big = torch.tensor([[0, 2**40], [2**40, 0]])  # ids past int64 key packing
    out, wo = symmetrize(big, torch.tensor([2.0, 2.0]), 2**40 + 1)
    assert out.tolist() == [[0, 2**40], [2**40, 0]] and wo.tolist() == [2.0, 2.0]
    assert symmetrize(ei, None, 5)[1] is None


def test_edge_utilities_refuse_what_is_not_an_edge_list():
    import pytest

    from gnnkit.ops import symmetrize

    three_rows = torch.tensor([[0, 1, 2], [1, 2, 0], [2, 2, 2]])  # old: read as edges, the third row ignored
    for fn in (remove_self_loops, to_undirected, coalesce, symmetrize, add_self_loops):
        with pytest.raises(ValueError, match=r"must be a \[2, E\] tensor, got \(3, 3\)"):
            fn(three_rows)
        with pytest.raises(ValueError, match="must hold integer node ids, got torch.float32"):
            fn(torch.zeros(2, 2))  # old: coalesce merged float "ids"
        with pytest.raises(ValueError, match="edge_weight must have one row per edge, 3"):
            fn(three_rows[:2], torch.ones(4))
    with pytest.raises(ValueError, match="weight must be a tensor with one entry per index"):
        degree(torch.tensor([0, 1]), 2, torch.ones(3))
    with pytest.raises(ValueError, match="1-D integer tensor"):
        degree(torch.tensor([0.0, 1.0]), 2)


def test_symmetrize_keeps_a_non_finite_weight_on_its_own_direction():
    import warnings

    from gnnkit.ops import symmetrize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the two directions differ: said, and kept apart
        _, w = symmetrize(torch.tensor([[0, 1], [1, 0]]), torch.tensor([-float("inf"), 2.0]))
        assert w.tolist() == [-float("inf"), 2.0]  # old: [-inf, nan] (inf * 0 in a masked sum)
        _, w = symmetrize(torch.tensor([[0, 1], [1, 0]]), torch.tensor([float("nan"), 1.0]))
        assert w[1].item() == 1.0
    ei, w = symmetrize(torch.tensor([[0, 1], [1, 2]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))  # [E, D] weights
    got = dict(zip(map(tuple, ei.t().tolist()), w.tolist()))
    assert got == {(0, 1): [1.0, 2.0], (1, 0): [1.0, 2.0], (1, 2): [3.0, 4.0], (2, 1): [3.0, 4.0]}


def test_add_self_loops_mean_of_integer_weights_is_a_float_as_pyg():
    import pytest

    ei = torch.tensor([[0, 1, 2, 3, 0, 1], [2, 2, 2, 2, 1, 0]])
    _, w = add_self_loops(ei, torch.tensor([1, 2, 3, 4, 5, 6]), fill_value="mean")
    assert w.dtype == torch.float32 and w[-2].item() == 2.5  # old: 2 (the mean truncated to the weights' int)
    with pytest.raises(ValueError, match="refers to node 2 but num_nodes = 2"):
        add_self_loops(ei, torch.ones(6), num_nodes=2, fill_value="mean")
    with pytest.raises(ValueError, match="weight must be a tensor"):
        degree(torch.tensor([0, 1]), 2, [1.0, 2.0])
