"""A CSR whose index types or sizes do not match is refused with ValueError."""
from __future__ import annotations

import pytest
import torch

from gnnkit.ops import CSR, build_csr


def parts():
    csr = build_csr(torch.tensor([[0, 1, 2], [1, 1, 0]]), 3, torch.rand(3))
    return dict(rowptr=csr.rowptr, col=csr.col, value=csr.value, perm=csr.perm, num_rows=3, num_cols=3)


@pytest.mark.parametrize("change, message", [
    (dict(col=lambda p: p["col"].to(torch.int32)), "same index type"),
    (dict(perm=lambda p: p["perm"].float()), "perm must be int32 or int64"),
    (dict(value=lambda p: p["value"][:2]), "nnz = 3"),
    (dict(col=lambda p: p["col"][:2]), "nnz = 2"),
    (dict(num_rows=lambda p: 4), "num_rows \\+ 1 = 5"),
    (dict(num_cols=lambda p: 2), "matrix has 2 columns"),
    (dict(rowptr=lambda p: torch.tensor([0, 2, 1, 3])), "non-decreasing"),
    (dict(rowptr=lambda p: torch.tensor([0, 1, 2, 4])), "from 0 to the number of entries"),
    (dict(value=lambda p: torch.ones(3, dtype=torch.long)), "floating-point"),
], ids=["mixed-index-types", "perm-dtype", "value-size", "col-size", "rows", "col-range", "rowptr-order",
        "rowptr-end", "value-dtype"])
def test_bad_csr_raises(change, message):
    p = parts()
    for key, fn in change.items():
        p[key] = fn(p)
    with pytest.raises(ValueError, match=message):
        CSR(**p)


def test_good_csr_and_with_value_checks_size():
    p = parts()
    csr = CSR(**p)
    assert csr.with_value(torch.ones(3)).value.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="expected 3 values"):
        csr.with_value(torch.ones(2))
    p32 = dict(p, rowptr=p["rowptr"].int(), col=p["col"].int())
    torch.testing.assert_close(CSR(**p32).to_dense(), csr.to_dense())
