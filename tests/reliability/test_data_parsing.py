"""Issue 15, datasets: bad files and ids give the right result or a clear error.

Every test here failed (wrong result, crash or runaway allocation) before the
fix it names.
"""
from __future__ import annotations

import gzip
import os
import pickle
import tracemalloc
from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gnnkit.datasets import from_csv, read_edge_list, read_lastfm, read_lightgcn, read_movielens, read_musae
from gnnkit.datasets.formats._text import read_bytes, tokenize
from gnnkit.datasets.formats.planetoid import read_planetoid
from gnnkit.datasets.interactions import bipartite_edge_index
from gnnkit.ops.edges import coalesce, to_undirected, unique_pairs

BIG = 2**33  # 8589934592: wrapped inside the old u * n + v keys


def _pairs(t: torch.Tensor) -> set[tuple[int, int]]:
    return set(map(tuple, t.t().tolist()))


# -------------------------------------------------------- ids of 2^32 and up
def test_coalesce_keeps_ids_beyond_2_32_exact():
    ei = torch.tensor([[BIG, 0, BIG], [3, 1, 3]])
    out, w = coalesce(ei, torch.tensor([1.0, 2.0, 4.0]))
    assert out.tolist() == [[0, BIG], [1, 3]] and w.tolist() == [2.0, 5.0]  # old: [[0, 1], [1, 2]]


def test_unique_pairs_matches_python_on_huge_ids():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 2**62, (500,), generator=g)
    b = torch.randint(0, 2**62, (500,), generator=g)
    a, b = torch.cat([a, a[:50]]), torch.cat([b, b[:50]])  # 50 repeats
    ua, ub, inv = unique_pairs(a, b)
    assert list(zip(ua.tolist(), ub.tolist())) == sorted(set(zip(a.tolist(), b.tolist())))
    assert torch.equal(ua[inv], a) and torch.equal(ub[inv], b)


def test_bipartite_edges_with_huge_ids():
    users, items = torch.tensor([BIG, 0]), torch.tensor([BIG, 3])
    ei = bipartite_edge_index(users, items, BIG + 1, BIG + 1)
    assert _pairs(ei) == {(BIG, 2 * BIG + 1), (2 * BIG + 1, BIG), (0, BIG + 4), (BIG + 4, 0)}


def test_coalesce_refuses_ids_beyond_num_nodes():
    with pytest.raises(ValueError, match="expected 0 <= id < num_nodes = 2"):
        coalesce(torch.tensor([[0, 5], [1, 1]]), num_nodes=2)  # old: silently merged 5 -> 1 into other edges


def test_edge_list_with_id_beyond_2_32(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text(f"{BIG} 3\n0 1\n")  # the example
    with pytest.raises(ValueError, match=r"e\.txt, line 1: node id 8589934592 would size an array .*relabel=True"):
        read_edge_list(path)
    g = read_edge_list(path, relabel=True)  # ids 0, 1, 3, BIG -> 0, 1, 2, 3
    assert _pairs(g.edge_index) == {(3, 2), (0, 1)} and g.num_nodes == 4


def test_lightgcn_with_id_beyond_2_32(tmp_path):
    (tmp_path / "train.txt").write_text(f"0 {BIG}\n1 3\n")
    (tmp_path / "test.txt").write_text("0 1\n")
    with pytest.raises(ValueError, match=r"train\.txt, line 1: item id 8589934592 would size an array"):
        read_lightgcn(tmp_path)


# ------------------------------------------------------------ UTF-8 BOM
BOM = b"\xef\xbb\xbf"


def test_bom_does_not_eat_the_first_row(tmp_path):
    (tmp_path / "e.txt").write_bytes(BOM + b"0 1\n1 2\n")
    assert read_edge_list(tmp_path / "e.txt").num_edges == 2  # old: 1 (the first row taken for a header)
    (tmp_path / "edges.csv").write_bytes(BOM + b"0,1\n1,2\n")
    (tmp_path / "labels.csv").write_bytes(BOM + b"0,2\n1,0\n2,1\n")
    g = from_csv(tmp_path / "edges.csv", tmp_path / "labels.csv")
    assert g.y.tolist() == [2, 0, 1] and g.num_edges == 4  # old: node 0 lost its label (-1), edge 0-1 lost


def test_bom_musae(tmp_path):
    (tmp_path / "edges.csv").write_bytes(BOM + b"0,1\n1,2\n")
    (tmp_path / "target.csv").write_bytes(BOM + b"0,1\n1,0\n2,1\n")
    g = read_musae(tmp_path)
    assert g.num_nodes == 3 and g.y.tolist() == [1, 0, 1] and g.num_edges == 4


def test_bom_with_header_still_detects_the_header(tmp_path):
    (tmp_path / "edges.csv").write_bytes(BOM + b"id_1,id_2\n0,1\n")
    (tmp_path / "target.csv").write_bytes(BOM + b"id,target\n0,1\n1,0\n")
    assert read_musae(tmp_path).num_edges == 2


# ------------------------------------------------- weighted self-loops
def test_undirected_keeps_a_weighted_self_loop(tmp_path):
    (tmp_path / "e.txt").write_text("0 0 1.5\n0 1 2\n")
    g = read_edge_list(tmp_path / "e.txt", undirected=True)
    weights = dict(zip(map(tuple, g.edge_index.t().tolist()), g.edge_weight.tolist()))
    assert weights == {(0, 0): 1.5, (0, 1): 2.0, (1, 0): 2.0}  # old: (0, 0) -> 3.0
    (tmp_path / "e.csv").write_text("0,0,1.5\n0,1,2\n")
    g = from_csv(tmp_path / "e.csv")
    assert dict(zip(map(tuple, g.edge_index.t().tolist()), g.edge_weight.tolist()))[(0, 0)] == 1.5
    out, w = to_undirected(torch.tensor([[2], [2]]), torch.tensor([0.5]))
    assert out.tolist() == [[2], [2]] and w.tolist() == [0.5]


def test_undirected_keeps_the_weight_of_an_edge_listed_both_ways(tmp_path):
    (tmp_path / "e.csv").write_text("src,dst,weight\n0,1,1.0\n1,0,1.0\n1,2,1.0\n")
    g = from_csv(tmp_path / "e.csv")
    assert g.edge_weight.tolist() == [1.0, 1.0, 1.0, 1.0]  # old: 0-1 summed to 2.0 both ways, 1-2 kept 1.0
    (tmp_path / "e.txt").write_text("0 1 1.0\n1 0 1.0\n1 2 1.0\n")
    g = read_edge_list(tmp_path / "e.txt", undirected=True)
    assert g.edge_weight.tolist() == [1.0, 1.0, 1.0, 1.0]


# ------------------------------------------------------- MUSAE feature ids
def _musae(tmp_path, n=3):
    (tmp_path / "edges.csv").write_text("id_1,id_2\n0,1\n1,2\n")
    (tmp_path / "target.csv").write_text("id,target\n" + "".join(f"{k},{k % 2}\n" for k in range(n)))


def test_musae_json_feature_id_minus_one(tmp_path):
    _musae(tmp_path)
    (tmp_path / "features.json").write_text('{"0": [0, 2], "1": [-1], "2": [1]}')
    with pytest.raises(ValueError, match=r"features\.json: feature id -1 is negative"):
        read_musae(tmp_path)  # old: set column 2 of node 1


def test_musae_csv_feature_id_absurd(tmp_path):
    _musae(tmp_path)
    (tmp_path / "features.csv").write_text("node_id,feature_id,value\n0,0,1\n1,2000000000,1\n")
    with pytest.raises(ValueError, match=r"features\.csv, line 3: feature id 2000000000 would size an array"):
        read_musae(tmp_path)  # old: asked for a 3 x 2e9 float array


def test_musae_json_non_integer_ids(tmp_path):
    _musae(tmp_path)
    (tmp_path / "features.json").write_text('{"a": [1]}')
    with pytest.raises(ValueError, match="must be integers"):
        read_musae(tmp_path)


# -------------------------------------------------- absurd ids in from_csv
def test_from_csv_absurd_label_node_and_label_value(tmp_path):
    (tmp_path / "e.csv").write_text("0,1\n1,2\n")
    (tmp_path / "l.csv").write_text(f"0,1\n{2**31},0\n")
    with pytest.raises(ValueError, match=r"l\.csv, line 2: node id 2147483648 would size an array"):
        from_csv(tmp_path / "e.csv", tmp_path / "l.csv")  # old: a 2^31-long y (17 GB)
    (tmp_path / "l.csv").write_text(f"0,1\n1,{2**31}\n")
    with pytest.raises(ValueError, match=r"l\.csv, line 2: label 2147483648 would size an array"):
        from_csv(tmp_path / "e.csv", tmp_path / "l.csv")
    (tmp_path / "l.csv").write_text("0,1\n1,-5\n")
    with pytest.raises(ValueError, match="label -5 is negative"):
        from_csv(tmp_path / "e.csv", tmp_path / "l.csv")


# ------------------------------------------------------ duplicate interactions
def test_movielens_duplicates_never_in_train_and_test(tmp_path):
    rows = [(u, i, 1 + (u + i) % 5, 1000 + 10 * i) for u in range(1, 6) for i in range(1, 11)]
    rows += [(u, i, 5, 9999) for u, i, _, _ in rows[::2]]  # every other rating given twice, later
    (tmp_path / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    for seed in range(5):
        ds = read_movielens(tmp_path, seed=seed)
        train, test = _pairs(ds.train_interactions), _pairs(ds.test_interactions)
        assert not train & test  # old: shared pairs for every seed
        assert ds.train_interactions.size(1) + ds.test_interactions.size(1) == 50
    ds = read_movielens(tmp_path, split="temporal")
    latest = {(u, i): (r, t) for u, i, r, t in rows}  # later rows win, as the reader keeps the latest
    for (u, i), r, t in zip(ds.train_interactions.t().tolist(), ds.ratings.tolist(), ds.timestamps.tolist()):
        assert (r, t) == latest[(u + 1, i + 1)]


def test_lightgcn_and_lastfm_duplicates(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2 2 1\n1 0\n")
    (tmp_path / "test.txt").write_text("0 3 3 1\n1 2\n")
    with pytest.warns(UserWarning, match="1 \\(user, item\\) pairs of test are also in train"):
        ds = read_lightgcn(tmp_path)
    assert sorted(_pairs(ds.train_interactions)) == [(0, 1), (0, 2), (1, 0)] and ds.train_interactions.size(1) == 3
    assert sorted(_pairs(ds.test_interactions)) == [(0, 3), (1, 2)] and ds.test_interactions.size(1) == 2
    (tmp_path / "data1.txt").write_text("1\t2\t5\n1\t2\t7\n2\t1\t1\n")
    (tmp_path / "test1.txt").write_text("1\t3\t1\n")
    ds = read_lastfm(tmp_path)
    assert ds.train_interactions.size(1) == 2


# ------------------------------------------------------------------ truncation
def test_lightgcn_cut_mid_row_warns(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2 3\n1 4 5 6\n2 7 8 9"[:-1])  # "2 7 8 " cut inside the last row
    (tmp_path / "test.txt").write_text("0 4\n")
    with pytest.warns(UserWarning, match=r"train\.txt does not end with a newline: it may be truncated"):
        read_lightgcn(tmp_path)


# ------------------------------------------------------------- memory bounds
def test_one_huge_token_is_refused_without_padding(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_bytes(b"0,1\n" + b"7" * (1 << 20) + b",2\n")
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"edges\.csv, line 2: a field of 1048576 bytes"):
            read_edge_list(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20  # old: 2 tokens padded to 1 MiB each, then a 1 MiB-wide conversion


def test_tokens_are_not_padded_to_a_long_comment():
    data = b"1 2\n" * 200_000 + b"# " + b"x" * 1000 + b"\n"
    tracemalloc.start()
    try:
        tokens = tokenize(data, "big", comments=b"#")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(tokens) == 400_000 and tokens.values.dtype.itemsize == 1
    assert peak < 64 << 20  # old: 400k tokens padded to 1000 bytes (400 MB)


# ---------------------------------------------------------------- clear errors
def test_gzip_input(tmp_path):
    path = tmp_path / "e.txt.gz"
    path.write_bytes(gzip.compress(b"0 1\n1 2\n"))
    with pytest.raises(ValueError, match=r"e\.txt\.gz is gzip-compressed; decompress it first"):
        read_edge_list(path)  # old: "has no data rows" or a parse error on binary


def test_fifo_is_named_as_such(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    with pytest.raises(ValueError, match=r"pipe is a FIFO \(named pipe\)"):
        read_edge_list(path)  # old: "does not exist"; opening it would block forever
    with pytest.raises(ValueError, match="is a directory"):
        read_bytes(tmp_path)


def _planetoid(folder, graph, protocol):
    rng = np.random.default_rng(0)
    allx = rng.random((7, 5)).astype(np.float32)
    ally = np.eye(3)[rng.integers(0, 3, 7)]
    tx, ty = rng.random((3, 5)).astype(np.float32), np.eye(3)[[0, 1, 2]]
    objs = {"x": sp.csr_matrix(allx[:4]), "tx": sp.csr_matrix(tx), "allx": sp.csr_matrix(allx),
            "y": ally[:4], "ty": ty, "ally": ally, "graph": graph}
    for key, obj in objs.items():
        (folder / f"ind.toy.{key}").write_bytes(pickle.dumps(obj, protocol=protocol))
    (folder / "ind.toy.test.index").write_text("7\n8\n9\n")


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_planetoid_old_pickle_protocols_are_accepted(tmp_path, protocol):
    _planetoid(tmp_path, defaultdict(list, {0: [1], 1: [2], 9: [7]}), protocol)
    g = read_planetoid(tmp_path, "toy")  # old: "refusing to unpickle ... _codecs.encode" (called tampered)
    assert g.num_nodes == 10 and _pairs(g.edge_index) == {(0, 1), (1, 0), (1, 2), (2, 1), (7, 9), (9, 7)}


def test_planetoid_negative_neighbour_is_named(tmp_path):
    _planetoid(tmp_path, {0: [1], 5: [-1]}, 4)
    with pytest.raises(ValueError, match=r"ind\.toy\.graph: the adjacency entry of node 5 refers to node -1"):
        read_planetoid(tmp_path, "toy")  # old: "refers to node 1"


def test_planetoid_stray_test_id(tmp_path):
    _planetoid(tmp_path, {0: [1]}, 4)
    (tmp_path / "ind.toy.test.index").write_text(f"7\n8\n{10**9}\n")
    with pytest.raises(ValueError, match=r"test\.index: test ids run from 7 to 1000000000"):
        read_planetoid(tmp_path, "toy")  # old: a 1e9 x 5 zero matrix


@pytest.mark.parametrize("content", [b"0 1 2\x00 4\n1 5 6\n", b"0 1\n1 2\x00\n", b"0\x00 1\n"])
def test_a_nul_byte_is_an_error_wherever_it_is(tmp_path, content):
    # numpy's byte strings drop trailing NULs: "2\0" used to read as 2
    from gnnkit.datasets.formats.edgelist import read_edge_list

    path = tmp_path / "e.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"e\.txt, line \d: a NUL byte"):
        read_edge_list(path)


@pytest.mark.parametrize("token", ["1_0", "١", "１", "0x1"])
def test_ids_are_ascii_digits_only(tmp_path, token):
    # Python's int() and numpy read "1_0" as 10 and other scripts' digits as numbers: an edge to node 10
    # (or 1) would be trained without a word
    path = tmp_path / "e.txt"
    path.write_text(f"0 1\n0 {token}\n1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"e.txt, line 2: '{token}' is not an integer node id \(digits 0-9 only\)"):
        read_edge_list(path)
    path.write_text(f"0 1 1.0\n1 2 1_5\n")
    with pytest.raises(ValueError, match=r"line 2: '1_5' is not a number"):
        read_edge_list(path)
    path.write_text("+1 2\n2 0\n")  # a sign is still a plain decimal
    assert read_edge_list(path).edge_index.tolist() == [[1, 2], [2, 0]]


def test_a_first_line_with_a_number_is_data_not_a_header(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("é0 1\n1 2\n2 0\n", encoding="utf-8")  # a bad id on line 1, not a header
    with pytest.raises(ValueError, match=r"line 1: 'é0' is not an integer"):  # quoted as written, not as Latin-1
        read_edge_list(path)
    path.write_text("source target\n0 1\n1 2\n")
    assert read_edge_list(path).num_edges == 2


def test_negative_ids_are_refused_unless_relabelled(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("-20 -14\n-14 3\n3 -20\n")
    with pytest.raises(ValueError, match="line 1: node id -20 is negative; ids must be >= 0 \\(or pass relabel=True\\)"):
        read_edge_list(path)
    g = read_edge_list(path, relabel=True)  # what the message offers works (it was refused all the same)
    assert g.num_nodes == 3 and g.edge_index.tolist() == [[0, 1, 2], [1, 2, 0]]


def test_a_matrix_market_file_is_not_read_as_an_edge_list(tmp_path):
    import scipy.io
    import scipy.sparse

    path = tmp_path / "m.mtx"
    scipy.io.mmwrite(str(path), scipy.sparse.coo_matrix(([1.0, 1.0], ([0, 1], [1, 2])), shape=(3, 3)))
    # old: the size line "3 3 2" became an edge 3 -> 3 of weight 2, and a node 0 appeared (ids are 1-based)
    with pytest.raises(ValueError, match="is a Matrix Market file, not an edge list: read it with scipy.io.mmread"):
        read_edge_list(path)
    from gnnkit import Graph

    g = Graph.from_scipy(scipy.io.mmread(str(path)))  # the fix the message gives works
    assert g.num_nodes == 3 and g.edge_index.size(1) == 2


def test_a_feature_beyond_float32_is_named_by_line(tmp_path):
    (tmp_path / "e.csv").write_text("src,dst\n0,1\n")
    (tmp_path / "f.csv").write_text("id,f\n0,1e39\n1,2\n")
    # old: a numpy overflow warning, then "x has a non-finite value inf at index (1, 0)" with no file or line
    with pytest.raises(ValueError, match=r"f\.csv, line 2: '1e39' is not a finite feature within ±3\.4e\+38"):
        from_csv(tmp_path / "e.csv", features=tmp_path / "f.csv")
