"""Issue 15's unclear errors in the sparse core: each is a ValueError that
names the problem, and the CSR key never overflows."""
from __future__ import annotations

import pytest
import torch

import gnnkit.ops.csr as csr_module
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
    monkeypatch.setattr(csr_module, "_PACK_LIMIT", 0)
    lexi = build_csr(edges, 40, weight, num_cols=40)
    assert torch.equal(packed.rowptr, lexi.rowptr) and torch.equal(packed.col, lexi.col)
    assert torch.allclose(_dense(packed), _dense(lexi))
    assert torch.equal(lexi.value, weight[lexi.perm])
    assert torch.allclose(_dense(lexi), torch.zeros(40, 40, dtype=torch.float64).index_put_(
        (edges[1], edges[0]), weight, accumulate=True))


# gcn_norm lives in gnnkit/ops/norm.py (another part of issue 15's work); these
# record what it still does wrong so that a fix shows up as XPASS.
def test_gcn_norm_with_a_non_positive_degree_is_an_error_or_finite():
    from gnnkit.ops.norm import gcn_norm

    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    try:
        _, w = gcn_norm(ei, torch.tensor([1.0, -3.0, 1.0, 1.0]), num_nodes=3)
    except ValueError as err:
        assert "node" in str(err)
    else:
        assert bool(torch.isfinite(w).all())


def test_gcn_norm_with_too_small_num_nodes_is_a_value_error():
    from gnnkit.ops.norm import gcn_norm

    with pytest.raises(ValueError, match="num_nodes"):
        gcn_norm(torch.tensor([[0, 1, 2], [1, 2, 0]]), num_nodes=2)


def test_graph_on_the_meta_device_is_a_value_error():
    from gnnkit.graph import Graph

    with pytest.raises(ValueError, match="meta"):
        Graph(edge_index=torch.tensor([[0, 1], [1, 0]], device="meta"), num_nodes=2)


@pytest.mark.parametrize("layer", ["gcn", "lg"])
def test_layers_with_a_negative_degree_name_the_node(layer):
    from gnnkit.nn import GCNConv, LGConv

    conv = GCNConv(2, 2) if layer == "gcn" else LGConv()
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    with pytest.raises(ValueError, match="node 0 has degree"):
        conv(torch.ones(3, 2), ei, torch.tensor([1.0, -3.0, 1.0, 1.0]))


def test_a_data_root_that_is_empty_or_a_file_is_named(tmp_path, monkeypatch, capsys):
    from gnnkit.cli import main
    from gnnkit.datasets import load

    afile = tmp_path / "notes.txt"
    afile.write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        load("nations", root=afile, download=False)
    with pytest.raises(ValueError, match="is empty"):  # "" would have meant the current folder
        load("nations", root="", download=False)
    monkeypatch.setenv("GNNKIT_DATA", str(afile))
    assert main(["train", "kg", "--dataset", "nations", "--no-download", "--quiet"]) == 2
    assert f"the data root {afile} (from GNNKIT_DATA) is a file" in capsys.readouterr().err


def test_missing_files_are_said_in_command_line_words_by_every_train_command(tmp_path, capsys):
    from gnnkit.cli import main

    for task, name in (("kg", "nations"), ("node", "cora"), ("rec", "ml-100k")):
        assert main(["train", task, "--dataset", name, "--root", str(tmp_path), "--no-download", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "--root DIR" in err and "root=" not in err and "load(" not in err, (task, err)
