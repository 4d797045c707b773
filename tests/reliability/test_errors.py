"""Issue 15's unclear errors in the sparse core: each is a ValueError that
names the problem, and the CSR key never overflows."""
from __future__ import annotations

import pytest
import torch

import gnnkit.ops.sparse as sparse
from gnnkit.ops.sparse import build_csr


def _dense(csr) -> torch.Tensor:
    out = torch.zeros(csr.num_rows, csr.num_cols, dtype=torch.float64)
    rows = torch.repeat_interleave(torch.arange(csr.num_rows), csr.rowptr.diff())
    values = csr.value if csr.value is not None else torch.ones(csr.nnz, dtype=torch.float64)
    out.index_put_((rows, csr.col), values.double(), accumulate=True)
    return out


def test_build_csr_meta_device_is_named():
    with pytest.raises(ValueError, match="meta device"):
        build_csr(torch.tensor([[0, 1], [1, 0]], device="meta"), 2)


@pytest.mark.parametrize("edges, n, cols, message", [
    ([[0, 1, 2], [1, 2, 0]], 2, None, "source id 2 .* out of range for num_cols = 2"),
    ([[0, 1], [1, 5]], 4, 4, "target id 5 .* out of range for num_nodes = 4"),
    ([[0, -1], [1, 0]], 3, None, "source id -1"),
])
def test_build_csr_out_of_range_ids_are_named(edges, n, cols, message):
    with pytest.raises(ValueError, match=message):
        build_csr(torch.tensor(edges), n, num_cols=cols)


def test_build_csr_lexicographic_order_equals_the_packed_key(monkeypatch):
    """Where ``target * num_cols + source`` could overflow int64 the CSR is
    built by two stable sorts; both give the same matrix and row order."""
    g = torch.Generator().manual_seed(0)
    edges, weight = torch.randint(0, 40, (2, 500), generator=g), torch.rand(500, generator=g, dtype=torch.float64)
    packed = build_csr(edges, 40, weight, num_cols=40)
    monkeypatch.setattr(sparse, "_PACK_LIMIT", 0)
    lexi = build_csr(edges, 40, weight, num_cols=40)
    assert torch.equal(packed.rowptr, lexi.rowptr) and torch.equal(packed.col, lexi.col)
    assert torch.allclose(_dense(packed), _dense(lexi))
    assert torch.equal(lexi.value, weight[lexi.perm])
    assert torch.allclose(_dense(lexi), torch.zeros(40, 40, dtype=torch.float64).index_put_(
        (edges[1], edges[0]), weight, accumulate=True))
