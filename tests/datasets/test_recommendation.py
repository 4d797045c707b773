"""Recommendation readers: MovieLens, LightGCN text, LightGCN-PyTorch Last.fm."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnkit.datasets import load, read_lastfm, read_lightgcn, read_movielens
from gnnkit.datasets.formats.movielens import split_per_user


# ------------------------------------------------------------------ real data
@pytest.mark.data
def test_ml100k_sizes_titles_and_split(data_root, raw_dir):
    raw_dir("ml-100k")
    d = load("ml-100k", root=data_root, download=False)
    assert (d.num_users, d.num_items) == (943, 1682)
    assert d.train_interactions.size(1) + d.test_interactions.size(1) == 100000
    assert d.ratings.shape == d.timestamps.shape == (d.train_interactions.size(1),)
    assert set(d.ratings.unique().tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    # Latin-1 titles decode to accented characters, not mojibake or errors
    assert "Misérables, Les (1995)" in d.item_titles and d.item_titles[0] == "Toy Story (1995)"
    per_user_test = torch.bincount(d.test_interactions[0], minlength=943).float()
    per_user_all = per_user_test + torch.bincount(d.train_interactions[0], minlength=943)
    assert torch.allclose(per_user_test / per_user_all, torch.full((943,), 0.2), atol=0.03)


@pytest.mark.data
def test_ml100k_temporal_split_puts_latest_in_test(data_root, raw_dir):
    raw_dir("ml-100k")
    d = load("ml-100k", root=data_root, download=False, split="temporal", min_rating=4)
    # reread the raw file independently: ratings of 4 and 5 are kept, and the timestamp of each test
    # pair must be >= the user's latest training timestamp
    raw = np.loadtxt(raw_dir("ml-100k") / "u.data", dtype=np.int64)
    assert d.train_interactions.size(1) + d.test_interactions.size(1) == int((raw[:, 2] >= 4).sum())
    stamp = {(u, i): t for u, i, _, t in raw}
    uid, iid = d.user_ids.numpy(), d.item_ids.numpy()
    last_train = torch.zeros(d.num_users, dtype=torch.long).scatter_reduce(
        0, d.train_interactions[0], d.timestamps, reduce="amax")
    for u, i in d.test_interactions.t().tolist():
        assert stamp[(uid[u], iid[i])] >= int(last_train[u])


@pytest.mark.data
def test_lastfm_sizes_and_social_graph(data_root, raw_dir):
    raw_dir("lastfm")
    d = load("lastfm", root=data_root, download=False)
    assert (d.num_users, d.num_items) == (1892, 4489)
    rows = sum(1 for line in open(raw_dir("lastfm") / "data1.txt") if line.strip())
    assert d.train_interactions.size(1) == rows
    s = d.social_graph
    assert s.num_nodes == 1892
    pairs = set(map(tuple, s.edge_index.t().tolist()))
    assert pairs == {(b, a) for a, b in pairs} and all(a != b for a, b in pairs)
    first = open(raw_dir("lastfm") / "trustnetwork.txt").readline().split()
    assert (int(first[0]) - 1, int(first[1]) - 1) in pairs  # 1-based ids shifted to 0-based
    # the files' own ids are kept: the first row of data1.txt is (user_ids[u], item_ids[i]) of the first pair
    row = [int(t) for t in open(raw_dir("lastfm") / "data1.txt").readline().split()]
    u, i = d.train_interactions[:, 0].tolist()
    assert (int(d.user_ids[u]), int(d.item_ids[i])) == (row[0], row[1]) and (u, i) == (row[0] - 1, row[1] - 1)
    assert d.user_ids.tolist() == list(range(1, 1893)) and len(d.item_ids) == 4489


@pytest.mark.data
def test_gowalla_published_split_and_cache(data_root, raw_dir, isolated_cache):
    raw_dir("gowalla")
    d = load("gowalla", root=data_root, download=False)
    assert (d.num_users, d.num_items) == (29858, 40981)
    assert (d.train_interactions.size(1), d.test_interactions.size(1)) == (810128, 217242)
    first = [int(t) for t in open(raw_dir("gowalla") / "test.txt").readline().split()]
    got = d.test_interactions[:, d.test_interactions[0] == first[0]]
    assert sorted(got[1].tolist()) == sorted(first[1:])
    warm = load("gowalla", root=data_root, download=False)
    assert torch.equal(warm.train_interactions, d.train_interactions)
    assert list(isolated_cache.rglob("*.pt"))


# ------------------------------------------------------------ written fixtures
def test_lightgcn_reader(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2 5\n1 0\n3 4 2\n2\n")
    (tmp_path / "test.txt").write_text("0 3\n1 6 1\n")
    d = read_lightgcn(tmp_path, name="toy")
    assert (d.num_users, d.num_items) == (4, 7)
    assert d.train_interactions.t().tolist() == [[0, 1], [0, 2], [0, 5], [1, 0], [3, 4], [3, 2]]
    assert d.test_interactions.t().tolist() == [[0, 3], [1, 6], [1, 1]]


@pytest.mark.parametrize("content, message", [
    ("0 1 2\n1 x 3\n", r"train\.txt, line 2: 'x' is not an integer"),
    ("0 1\n2 3\n0 4\n", r"train\.txt, line 3: user 0 already has a line \(line 1\)"),
    ("0 1\n1 -3\n", r"train\.txt, line 2: id -3 is negative"),
    ("\n\n", r"train\.txt is empty"),
])
def test_lightgcn_malformed(tmp_path, content, message):
    (tmp_path / "train.txt").write_text(content)
    (tmp_path / "test.txt").write_text("0 1\n")
    with pytest.raises(ValueError, match=message):
        read_lightgcn(tmp_path)


def test_lastfm_reader(tmp_path):
    (tmp_path / "data1.txt").write_text("1\t2\t10\n2\t3\t5\n3\t1\t7\n")
    (tmp_path / "test1.txt").write_text("1\t3\t1\n")
    (tmp_path / "trustnetwork.txt").write_text("1\t2\n2\t1\n4\t4\n1\t3\n")
    d = read_lastfm(tmp_path)
    assert (d.num_users, d.num_items) == (4, 3)  # user 4 only appears in the trust network
    assert d.train_interactions.t().tolist() == [[0, 1], [1, 2], [2, 0]]
    assert set(map(tuple, d.social_graph.edge_index.t().tolist())) == {(0, 1), (1, 0), (0, 2), (2, 0)}


def test_lastfm_zero_id_is_rejected(tmp_path):
    (tmp_path / "data1.txt").write_text("1\t2\t10\n0\t3\t5\n")
    (tmp_path / "test1.txt").write_text("1\t3\t1\n")
    with pytest.raises(ValueError, match=r"data1\.txt, line 2: id 0 is not 1-based"):
        read_lastfm(tmp_path)


def test_lastfm_wrong_column_count(tmp_path):
    (tmp_path / "data1.txt").write_text("1\t2\t10\n2\t3\t5\t9\n")
    (tmp_path / "test1.txt").write_text("1\t3\t1\n")
    with pytest.raises(ValueError, match=r"data1\.txt, line 2: found 4 fields"):
        read_lastfm(tmp_path)


def _write_ml100k(folder, rows, titles):
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    (folder / "u.item").write_bytes("".join(f"{i}|{title}|01-Jan-1995||http://x|0|1\n"
                                            for i, title in titles.items()).encode("latin-1"))


def test_movielens_100k_layout(tmp_path):
    rows = [(10, 100, 5, 1), (10, 200, 3, 2), (10, 300, 4, 3), (10, 100, 1, 4), (10, 200, 2, 5),
            (20, 300, 4, 9), (20, 200, 5, 8)]
    _write_ml100k(tmp_path, rows, {100: "Amélie (2001)", 200: "B", 300: "C"})
    d = read_movielens(tmp_path, split="temporal", test_fraction=0.2, name="toy")
    assert (d.num_users, d.num_items) == (2, 3)
    assert d.item_titles == ["Amélie (2001)", "B", "C"] and d.item_ids.tolist() == [100, 200, 300]
    # user 10 has 5 ratings -> 1 in test, its latest (timestamp 5, item 200); user 20 has 2 -> 0.4 rounds to 0
    assert d.test_interactions.t().tolist() == [[0, 1]]
    kept = read_movielens(tmp_path, min_rating=4)
    assert kept.train_interactions.size(1) + kept.test_interactions.size(1) == 4


def test_movielens_unknown_item_and_bad_rows(tmp_path):
    _write_ml100k(tmp_path, [(1, 1, 5, 1), (1, 9, 3, 2)], {1: "A"})
    with pytest.raises(ValueError, match=r"item id 9, which the movies file does not list"):
        read_movielens(tmp_path)
    (tmp_path / "u.data").write_text("1\t1\t5\t1\n1\t2\tfive\t2\n")
    with pytest.raises(ValueError, match=r"u\.data, line 2: 'five' is not a number for rating"):
        read_movielens(tmp_path)
    (tmp_path / "u.data").write_text("1\t1\t5\t1\n1\t2\t2\n")
    with pytest.raises(ValueError, match=r"u\.data, line 2: found 3 fields, expected 4 columns"):
        read_movielens(tmp_path)


def test_movielens_latest_and_1m_layouts(tmp_path):
    latest = tmp_path / "latest"
    latest.mkdir()
    (latest / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,5,4.5,10\n1,6,3.0,11\n2,5,0.5,12\n")
    (latest / "movies.csv").write_text('movieId,title,genres\n5,"Dog, The (1990)",Drama\n6,Six,Comedy\n')
    d = read_movielens(latest)
    assert d.item_titles == ["Dog, The (1990)", "Six"] and (d.num_users, d.num_items) == (2, 2)
    assert set(d.ratings.tolist()) <= {4.5, 3.0, 0.5}  # half-star ratings kept as floats
    one_m = tmp_path / "1m"
    one_m.mkdir()
    (one_m / "ratings.dat").write_text("1::1193::5::978300760\n2::1193::4::978300761\n2::3::1::978300762\n")
    (one_m / "movies.dat").write_bytes("1193::One Flew (1975)::Drama\n3::Café::Comedy\n".encode("latin-1"))
    d = read_movielens(one_m)
    assert d.item_titles == ["Café", "One Flew (1975)"] and d.num_users == 2


def test_split_per_user_is_seeded_and_keeps_a_train_item():
    users = np.repeat(np.arange(50), np.arange(1, 51))
    a = split_per_user(users, None, "random", 0.2, seed=1)
    b = split_per_user(users, None, "random", 0.2, seed=1)
    c = split_per_user(users, None, "random", 0.2, seed=2)
    assert (a == b).all() and not (a == c).all()
    counts = np.bincount(users)
    test_counts = np.bincount(users[a], minlength=50)
    assert (test_counts == np.minimum(np.rint(0.2 * counts), counts - 1)).all()
    with pytest.raises(ValueError, match="split='weird'"):
        split_per_user(users, None, "weird", 0.2, seed=0)


def test_lightgcn_ids_with_gaps_are_renumbered_and_kept(tmp_path):
    # ids x10: without renumbering 0..max, 90% of the "items" would be phantoms nobody has
    (tmp_path / "train.txt").write_text("".join(f"{u * 10} {u * 10} {(u + 1) * 10}\n" for u in range(5)))
    (tmp_path / "test.txt").write_text("".join(f"{u * 10} {(u + 2) * 10}\n" for u in range(5)))
    data = read_lightgcn(tmp_path)
    assert data.num_items == 7 and data.item_ids.tolist() == [0, 10, 20, 30, 40, 50, 60]
    pairs = {(u, int(data.item_ids[i])) for u, i in data.train_interactions.t().tolist()}
    assert pairs == {(u * 10, i * 10) for u in range(5) for i in (u, u + 1)}
    # users without a line are users without items: never ranked, so they stay as numbered
    assert data.num_users == 41 and data.user_ids is None
    # contiguous ids (Gowalla's) are used as they are
    (tmp_path / "train.txt").write_text("0 0 1\n1 1 2\n")
    (tmp_path / "test.txt").write_text("0 2\n1 0\n")
    data = read_lightgcn(tmp_path)
    assert data.user_ids is None and data.item_ids is None and data.num_items == 3


def test_hand_built_interactions_refuse_float_ids_and_warn_of_shared_pairs():
    import pytest
    import torch

    from gnnkit.datasets.interactions import InteractionDataset
    from gnnkit.datasets.knowledge_graph import Triples

    train = torch.tensor([[0, 1, 2], [2, 0, 1]])
    with pytest.raises(ValueError, match="must hold integer \\(user, item\\) ids, got torch.float32"):
        InteractionDataset(3, 3, torch.tensor([[0.9, 1.5, 2.99], [2.7, 0.2, 1.6]]), train)  # old: truncated to ids
    with pytest.raises(ValueError, match="Triples.head must hold integer ids, got torch.float32"):
        Triples(torch.tensor([0.9]), torch.tensor([0]), torch.tensor([1]))
    # old: test == train scored recall 0.0 (every test item masked as seen) without a word
    with pytest.warns(UserWarning, match=r"test_interactions shares 3 \(user, item\) pairs with train_interactions"):
        InteractionDataset(3, 3, train, train.clone(), name="same")
