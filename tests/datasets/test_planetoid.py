"""Planetoid reader: real Cora / CiteSeer against torch_geometric, a
PubMed-format fixture written here, malformed files and the safe unpickler."""
from __future__ import annotations

import pickle
import time
from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gnnkit.datasets import load, read_planetoid
from gnnkit.datasets.formats.planetoid import safe_unpickle
from gnnkit_testing import require


def _edge_set(ei: torch.Tensor) -> set[tuple[int, int]]:
    return set(map(tuple, ei.t().tolist()))


@pytest.mark.data
@pytest.mark.parametrize("name, sizes", [
    ("cora", (2708, 10556, 1433, 7, 140, 500, 1000)),
    ("citeseer", (3327, 9104, 3703, 6, 120, 500, 1000)),
])
def test_planetoid_matches_readme_and_pyg(name, sizes, raw_dir, data_root):
    pyg_io = require("torch_geometric.io")
    g = load(name, root=data_root, download=False)
    n, e, f, c, ntr, nva, nte = sizes
    assert (g.num_nodes, g.num_edges, g.num_features, g.num_classes) == (n, e, f, c)
    assert (int(g.train_mask.sum()), int(g.val_mask.sum()), int(g.test_mask.sum())) == (ntr, nva, nte)
    assert not bool((g.train_mask & g.test_mask).any()) and not bool((g.val_mask & g.test_mask).any())
    ref = pyg_io.read_planetoid_data(str(raw_dir(name)), name)
    assert torch.equal(g.x, ref.x)  # not row-normalised: identical to the peer's raw features
    assert torch.equal(g.y, ref.y)
    for mask in ("train_mask", "val_mask", "test_mask"):
        assert torch.equal(getattr(g, mask), getattr(ref, mask)), mask
    assert _edge_set(g.edge_index) == _edge_set(ref.edge_index)
    assert not bool((g.edge_index[0] == g.edge_index[1]).any())
    assert _edge_set(g.edge_index) == _edge_set(g.edge_index.flip(0))  # symmetric


@pytest.mark.data
def test_citeseer_isolated_test_ids_are_zero_rows(data_root):
    g = load("citeseer", root=data_root, download=False)
    zero_rows = (g.x.abs().sum(1) == 0)
    # CiteSeer's 15 isolated test ids are padded with zero feature rows and sit outside every mask
    padded = zero_rows & ~(g.train_mask | g.val_mask | g.test_mask)
    assert int(padded.sum()) >= 15


@pytest.mark.data
def test_cora_cache_warm_is_fast_and_identical(data_root, isolated_cache):
    t0 = time.perf_counter()
    cold = load("cora", root=data_root, download=False)
    t_raw = time.perf_counter() - t0
    assert list(isolated_cache.rglob("*.pt")), "the first load must write a cache entry"
    t0 = time.perf_counter()
    warm = load("cora", root=data_root, download=False)
    t_warm = time.perf_counter() - t0
    for field in ("x", "edge_index", "y", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(getattr(cold, field), getattr(warm, field)), field
    assert t_warm < 1.0, f"warm cache load took {t_warm:.3f}s (raw: {t_raw:.3f}s)"


def test_karate():
    g = load("karate")
    assert g.num_nodes == 34 and g.num_edges == 156
    assert torch.equal(g.x, torch.eye(34))
    assert set(g.y.tolist()) == {0, 1} and int(g.y[0]) == 0 and int(g.y[33]) == 1


# ------------------------------------------------------------ written fixture
def _write_planetoid(folder, prefix, *, n_train=4, n_val_pool=3, test_ids=(7, 8, 9), feats=5, classes=3,
                     graph=None, seed=0):
    """A tiny Planetoid-format dataset laid out like PubMed (dense float features
    in csr matrices, Python-3 pickles). Nodes: allx rows 0..6, tests 7..9."""
    rng = np.random.default_rng(seed)
    n_all = n_train + n_val_pool
    allx = rng.random((n_all, feats)).astype(np.float32)
    tx = rng.random((len(test_ids), feats)).astype(np.float32)
    ally = np.eye(classes)[rng.integers(0, classes, n_all)]
    ty = np.eye(classes)[rng.integers(0, classes, len(test_ids))]
    graph = graph if graph is not None else defaultdict(list, {0: [1, 1, 0], 1: [2], 2: [9], 9: [7], 5: [6]})
    objs = {"x": sp.csr_matrix(allx[:n_train]), "tx": sp.csr_matrix(tx), "allx": sp.csr_matrix(allx),
            "y": ally[:n_train], "ty": ty, "ally": ally, "graph": graph}
    for key, obj in objs.items():
        (folder / f"ind.{prefix}.{key}").write_bytes(pickle.dumps(obj))
    (folder / f"ind.{prefix}.test.index").write_text("\n".join(map(str, test_ids)) + "\n")
    return allx, tx, ally, ty


def test_pubmed_format_fixture(tmp_path):
    # test.index deliberately unsorted: rows of tx must move to their listed ids
    allx, tx, ally, ty = _write_planetoid(tmp_path, "pubmed", test_ids=(9, 7, 8))
    g = read_planetoid(tmp_path, "pubmed")
    assert g.num_nodes == 10
    assert torch.allclose(g.x[:7], torch.from_numpy(allx))
    # row k of tx (and ty) describes node test.index[k]
    assert torch.allclose(g.x[[9, 7, 8]], torch.from_numpy(tx))
    assert torch.equal(g.y[[9, 7, 8]], torch.from_numpy(ty.argmax(1)))
    assert g.train_mask.tolist() == [True] * 4 + [False] * 6
    assert g.val_mask.tolist() == [False] * 4 + [True] * 6  # next 500, clipped to the graph
    assert g.test_mask.nonzero().view(-1).tolist() == [7, 8, 9]
    assert _edge_set(g.edge_index) == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 9), (9, 2), (9, 7), (7, 9), (5, 6), (6, 5)}
    assert torch.equal(g.y[:7], torch.from_numpy(ally.argmax(1)))


def test_pubmed_fixture_matches_pyg(tmp_path):
    pyg_io = require("torch_geometric.io")
    # the peer always marks 500 validation nodes, so the fixture needs that many
    graph = defaultdict(list, {0: [1, 505], 3: [504, 3], 400: [506, 2], 505: [0]})
    _write_planetoid(tmp_path, "pubmed", n_val_pool=500, test_ids=(505, 506, 504), graph=graph)
    g = read_planetoid(tmp_path, "pubmed")
    ref = pyg_io.read_planetoid_data(str(tmp_path), "pubmed")
    assert torch.allclose(g.x, ref.x) and torch.equal(g.y, ref.y)
    # the peer keeps the dict's direction (the published files are already symmetric); we symmetrise
    assert _edge_set(g.edge_index) == _edge_set(ref.edge_index) | _edge_set(ref.edge_index.flip(0))
    for mask in ("train_mask", "val_mask", "test_mask"):
        assert torch.equal(getattr(g, mask), getattr(ref, mask)), mask


def test_gap_in_test_ids_padded_like_citeseer(tmp_path):
    _write_planetoid(tmp_path, "toy", test_ids=(7, 9, 10))  # id 8 is isolated: zero row, label 0
    g = read_planetoid(tmp_path, "toy")
    assert g.num_nodes == 11
    assert float(g.x[8].abs().sum()) == 0.0 and int(g.y[8]) == 0
    assert not bool(g.test_mask[8])


def test_missing_file_is_listed(tmp_path):
    _write_planetoid(tmp_path, "toy")
    (tmp_path / "ind.toy.ty").unlink()
    with pytest.raises(ValueError, match=r"ind\.toy\.ty"):
        read_planetoid(tmp_path, "toy")


def test_bad_test_index_names_line(tmp_path):
    _write_planetoid(tmp_path, "toy")
    (tmp_path / "ind.toy.test.index").write_text("7\n8\nnine\n")
    with pytest.raises(ValueError, match=r"test\.index, line 3: 'nine'"):
        read_planetoid(tmp_path, "toy")


class _Evil:
    def __reduce__(self):
        return (_boom, ("ran",))


def _boom(marker):  # would record that the unpickler executed code
    _boom.calls.append(marker)


_boom.calls = []


def test_forbidden_global_is_refused_without_running(tmp_path):
    _write_planetoid(tmp_path, "toy")
    (tmp_path / "ind.toy.graph").write_bytes(pickle.dumps({0: [1], "x": _Evil()}))
    with pytest.raises(ValueError, match=r"refusing to unpickle .*ind\.toy\.graph.*_boom"):
        read_planetoid(tmp_path, "toy")
    assert _boom.calls == []


def test_os_system_pickle_is_refused():
    payload = b"cos\nsystem\n(S'echo pwned'\ntR."  # protocol-0 pickle calling os.system
    with pytest.raises(ValueError, match=r"refusing to unpickle .*os\.system"):
        safe_unpickle(payload, "payload")


def test_truncated_pickle_is_a_value_error(tmp_path):
    _write_planetoid(tmp_path, "toy")
    path = tmp_path / "ind.toy.allx"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"ind\.toy\.allx is not a readable pickle"):
        read_planetoid(tmp_path, "toy")
