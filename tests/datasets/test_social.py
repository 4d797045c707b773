"""MUSAE social graphs, SNAP-style edge lists and a user's CSV files."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnkit import Graph
from gnnkit.datasets import from_csv, load, read_edge_list, read_musae


def _pairs(g):
    return set(map(tuple, g.edge_index.t().tolist()))


@pytest.mark.data
@pytest.mark.parametrize("name, nodes, rows, classes, feats", [
    ("facebook", 22470, 171002, 4, None),
    ("lastfm-asia", 7624, 27806, 18, None),
    ("twitch", 7126, 35324, 2, 3170),
])
def test_musae_real_sizes(name, nodes, rows, classes, feats, data_root, raw_dir):
    raw = raw_dir(name)
    g = load(name, root=data_root, download=False)
    assert (g.num_nodes, g.num_classes) == (nodes, classes)
    edges = np.loadtxt(raw / "edges.csv", delimiter=",", skiprows=1, dtype=np.int64)
    assert edges.shape[0] == rows
    loops = int((edges[:, 0] == edges[:, 1]).sum())
    distinct = {(min(a, b), max(a, b)) for a, b in edges.tolist() if a != b}
    assert g.num_edges == 2 * len(distinct)  # both directions, duplicates merged, loops dropped
    assert name != "facebook" or loops == 179
    assert _pairs(g) == {(b, a) for a, b in _pairs(g)}
    if feats is None:
        assert g.x is None
    else:
        assert g.x.shape == (nodes, feats) and set(g.x.unique().tolist()) <= {0.0, 1.0}


def _write_musae(folder, edges="id_1,id_2\n0,1\n1,2\n2,2\n1,0\n", target="id,target\n0,1\n1,0\n2,1\n", features=None):
    (folder / "edges.csv").write_text(edges)
    (folder / "target.csv").write_text(target)
    if features is not None:
        (folder / "features.csv").write_text(features)


def test_musae_small(tmp_path):
    _write_musae(tmp_path, features="node_id,feature_id,value\n0,3,1.0\n2,0,0.5\n")
    g = read_musae(tmp_path)
    assert _pairs(g) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert g.y.tolist() == [1, 0, 1] and g.y.dtype == torch.long
    assert g.x.tolist() == [[0, 0, 0, 1], [0, 0, 0, 0], [0.5, 0, 0, 0]]


def test_musae_features_json(tmp_path):
    _write_musae(tmp_path)
    (tmp_path / "features.json").write_text('{"0": [2], "1": [0, 1]}')
    assert read_musae(tmp_path).x.tolist() == [[0, 0, 1], [1, 1, 0], [0, 0, 0]]


@pytest.mark.parametrize("kwargs, message", [
    ({"edges": "id_1,id_2\n0,1\n1,7\n"}, r"edges\.csv, line 3: node id 7 is out of range"),
    ({"edges": "id_1,id_2\n0,1\n1\n"}, r"edges\.csv, line 3: found 1 fields, expected 2 columns"),
    ({"edges": "id_1,id_2\n0,1\n1,b\n"}, r"edges\.csv, line 3: 'b' is not an integer node id"),
    ({"target": "id,target\n0,1\n1,0\n1,1\n"}, r"target\.csv, line 4: duplicate node id 1"),
    ({"target": "id,target\n0,1\n1,0\n5,1\n"}, r"target\.csv, line 4: node id 5 is out of range"),
    ({"target": ""}, r"target\.csv is empty"),
    ({"features": "node_id,feature_id,value\n9,0,1\n"}, r"features\.csv, line 2: node id 9 is out of range"),
])
def test_musae_malformed(tmp_path, kwargs, message):
    _write_musae(tmp_path, **kwargs)
    with pytest.raises(ValueError, match=message):
        read_musae(tmp_path)


def test_edge_list_snap_file(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("# Directed graph\n% also a comment\n0\t1\n1 2\n2,0\n0 1\n3 3\n")
    g = read_edge_list(path)
    assert g.num_nodes == 4 and _pairs(g) == {(0, 1), (1, 2), (2, 0), (3, 3)}  # duplicate (0,1) merged
    u = read_edge_list(path, undirected=True, self_loops=False)
    assert _pairs(u) == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 0), (0, 2)}
    with pytest.warns(DeprecationWarning, match="read_edge_list"):  # the old path form still works, and says so
        assert Graph.from_edge_list(path).num_edges == 4


def test_edge_list_weights_relabel_and_errors(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("10 20 0.5\n20 30 2\n10 20 1.5\n")
    g = read_edge_list(path, relabel=True)
    assert g.num_nodes == 3
    weights = dict(zip(map(tuple, g.edge_index.t().tolist()), g.edge_weight.tolist()))
    assert weights == {(0, 1): 2.0, (1, 2): 2.0}  # duplicate weights summed
    path.write_text("0 1 0.5\n1 2\n")
    with pytest.raises(ValueError, match=r"w\.txt, line 2: found 2 fields, expected 2 to 3 columns"):
        read_edge_list(path)
    path.write_text("0 1\n1 -2\n")
    with pytest.raises(ValueError, match=r"w\.txt, line 2: node id -2 is negative"):
        read_edge_list(path)
    path.write_text("# only comments\n")
    with pytest.raises(ValueError, match=r"w\.txt has no data rows"):
        read_edge_list(path)
    with pytest.raises(ValueError, match="out of range for num_nodes=2"):
        read_edge_list(np.array([[0, 1], [1, 2]]), num_nodes=2)


def test_edge_list_array_and_dataframe():
    g = read_edge_list(np.array([[0, 1, 0.5], [1, 2, 1.0]]))
    assert _pairs(g) == {(0, 1), (1, 2)} and g.edge_weight.tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        read_edge_list(np.zeros((2, 4)))


class _FrameLike:
    """Stands in for a pandas DataFrame (pandas is not a dependency): the reader
    only uses ``.columns`` and ``.to_numpy()``."""

    columns = ["src", "dst"]

    def to_numpy(self):
        return np.array([[0, 1], [1, 0], [0, 1]])


def test_edge_list_dataframe_like():
    assert _pairs(read_edge_list(_FrameLike(), undirected=True)) == {(0, 1), (1, 0)}


def test_from_csv(tmp_path):
    (tmp_path / "e.csv").write_text("src,dst\n0,1\n1,2\n")
    (tmp_path / "l.csv").write_text("id,label\n0,2\n2,1\n")
    (tmp_path / "f.csv").write_text("0,1.0,0.0\n1,0.5,0.5\n2,0.0,1.0\n3,9,9\n")
    g = from_csv(tmp_path / "e.csv", labels=tmp_path / "l.csv", features=tmp_path / "f.csv")
    assert g.num_nodes == 4 and g.y.tolist() == [2, -1, 1, -1]
    assert g.x.tolist() == [[1, 0], [0.5, 0.5], [0, 1], [9, 9]]
    assert _pairs(g) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    (tmp_path / "l.csv").write_text("id,label\n0,2\n0,1\n")
    with pytest.raises(ValueError, match=r"l\.csv, line 3: duplicate node id 0"):
        from_csv(tmp_path / "e.csv", labels=tmp_path / "l.csv")
    (tmp_path / "l.csv").write_text("id,label\n0,2\n7,1\n")
    with pytest.raises(ValueError, match=r"l\.csv, line 3: node id 7 is out of range"):
        from_csv(tmp_path / "e.csv", labels=tmp_path / "l.csv", num_nodes=3)


@pytest.mark.parametrize("token", ["nan", "inf", "-inf", "1e39"])  # 1e39 overflows float32 to inf
def test_a_weight_that_is_not_a_finite_float32_is_named_by_line(tmp_path, token):
    path = tmp_path / "w.txt"
    path.write_text(f"0 1 1.0\n1 2 {token}\n2 0 0.5\n")
    with pytest.raises(ValueError, match=rf"w.txt, line 2: '{token}' is not a finite edge weight"):
        read_edge_list(path)
    path.write_text("0 1 1.0\n1 2 -2.5\n")  # finite, negative: read as given
    assert read_edge_list(path).edge_weight.tolist() == [1.0, -2.5]
