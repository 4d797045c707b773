"""pair_dot: inner products of node pairs, forward and gradient, against the gathered form."""
from __future__ import annotations

import pytest
import torch

from gnnkit.ops.pairs import pair_dot


def _reference(z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    return (z[pairs[0]] * z[pairs[1]]).sum(-1)


@pytest.mark.parametrize("num_nodes", [20, 40_000])  # the second beyond numpy's int16 radix sort
def test_equals_the_gathered_form_with_its_gradient(num_nodes):
    g = torch.Generator().manual_seed(num_nodes)
    z = torch.randn(num_nodes, 5, dtype=torch.float64, generator=g, requires_grad=True)
    pairs = torch.randint(0, num_nodes, (2, 300), generator=g)
    pairs[:, :4] = torch.tensor([[1, 1, 2, 3], [1, 2, 1, 3]])  # repeated pairs, both orders, self-pairs
    grad = torch.randn(300, dtype=torch.float64, generator=g)
    out = pair_dot(z, pairs)
    expected = _reference(z, pairs)
    assert out.dtype == torch.float64 and out.shape == (300,)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)
    got, = torch.autograd.grad(out, z, grad)
    want, = torch.autograd.grad(expected, z, grad)
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_more_pairs_than_cells():
    # 50 pairs on 3 nodes: repeated many times over (the sparse kernel takes at most N² entries).
    z = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    pairs = torch.randint(0, 3, (2, 50), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(pair_dot(z, pairs), _reference(z, pairs), atol=1e-12, rtol=0)


def test_gradcheck():
    z = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    pairs = torch.tensor([[0, 5, 2, 2, 4], [1, 0, 2, 3, 1]])
    assert torch.autograd.gradcheck(lambda t: pair_dot(t, pairs), (z,))


@pytest.mark.parametrize("num_pairs", [50, 5000])  # gathered rows up to _GATHER_MAX without grad, the product beyond
def test_float32_int32_pairs_and_no_grad(num_pairs):
    from gnnkit.ops.pairs import _GATHER_MAX

    assert (num_pairs <= _GATHER_MAX) == (num_pairs == 50)
    z = torch.randn(80, 8)
    pairs = torch.randint(0, 80, (2, num_pairs), dtype=torch.int32)
    with torch.no_grad():
        torch.testing.assert_close(pair_dot(z, pairs), _reference(z, pairs.long()), atol=1e-5, rtol=1e-5)
    for bad, node in (([[0, 80], [1, 2]], 80), ([[0, -1], [1, 2]], -1)):
        with torch.no_grad(), pytest.raises(IndexError, match=f"node {node} but z has 80 rows"):
            pair_dot(z, torch.tensor(bad))


def test_empty_and_bad_input():
    z = torch.randn(4, 3, requires_grad=True)
    out = pair_dot(z, torch.empty(2, 0, dtype=torch.long))
    assert out.shape == (0,)
    with pytest.raises(IndexError, match="node 4 but z has 4 rows"):
        pair_dot(z, torch.tensor([[0, 4], [1, 2]]))
    with pytest.raises(IndexError, match="node -1"):
        pair_dot(z, torch.tensor([[0, -1], [1, 2]]))
    with pytest.raises(ValueError, match=r"pairs \[2, P\]"):
        pair_dot(z, torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer node ids"):
        pair_dot(z, torch.tensor([[0.0, 1.7], [1.0, 2.0]]))


def test_compiles_without_a_graph_break():
    import torch._dynamo as dynamo

    z = torch.randn(30, 4)
    pairs = torch.randint(0, 30, (2, 40))
    explanation = dynamo.explain(lambda t: pair_dot(t, pairs))(z)
    assert explanation.graph_break_count == 0
    torch.testing.assert_close(torch.compile(lambda t: pair_dot(t, pairs))(z), _reference(z, pairs))


def test_a_pair_set_used_again_keeps_its_grouping_and_stays_a_plain_tensor(tmp_path):
    from gnnkit.ops import pairs as P

    g = torch.Generator().manual_seed(5)
    z = torch.randn(40, 6, generator=g, requires_grad=True)
    pairs = torch.randint(0, 40, (2, 300), generator=g)

    def scores_and_grad(p):
        out = pair_dot(z, p)
        (grad,) = torch.autograd.grad((out * torch.arange(out.numel())).sum(), z)
        return out, grad

    want = scores_and_grad(pairs.clone())
    for _ in range(3):  # the second call keeps the grouping, the third uses it
        got = scores_and_grad(pairs)
        assert all(torch.equal(a, b) for a, b in zip(got, want))
    assert P._kept(pairs, 40)[1][2] is not None
    pairs[1, :10] = pairs[0, :10]  # in place: a new version, grouped again
    torch.testing.assert_close(pair_dot(z, pairs), pair_dot(z, pairs.clone()))
    torch.save(pairs, tmp_path / "pairs.pt")  # nothing of gnnkit's rides on the tensor
    assert torch.equal(torch.load(tmp_path / "pairs.pt", weights_only=True), pairs)
    assert not pairs.__dict__
    ident = id(pairs)
    del pairs  # its entry goes with it
    assert ident not in P._KEPT or P._KEPT[ident][0]() is None
    many = [torch.randint(0, 40, (2, 5), generator=g) for _ in range(3 * P._KEPT_MAX)]
    for p in many:
        pair_dot(z, p)
    assert len(P._KEPT) <= P._KEPT_MAX  # bounded
