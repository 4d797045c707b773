"""benchmarks/rec_holdout.py: the derived interaction sets are what its docstring says."""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import rec_holdout  # noqa: E402


def _rows(path: Path) -> dict[int, list[int]]:
    return {int(r[0]): [int(i) for i in r[1:]] for r in (line.split() for line in path.read_text().splitlines())}


def test_ml100k_4plus_keeps_ratings_of_4_and_5_and_splits_each_user(tmp_path):
    raw = tmp_path / "root" / "ml-100k" / "raw"
    raw.mkdir(parents=True)
    lines = [f"1 {i} {5 if i <= 10 else 2} 0" for i in range(1, 15)]  # user 1: 10 liked, 4 disliked
    lines += [f"2 {i} 4 0" for i in range(1, 5)]  # user 2: only 4 liked, dropped (< 5)
    (raw / "u.data").write_text("\n".join(lines) + "\n")
    rec_holdout.ml100k_4plus(tmp_path / "root", tmp_path / "out", random.Random(7))
    train, test = _rows(tmp_path / "out" / "train.txt"), _rows(tmp_path / "out" / "test.txt")
    assert list(train) == [0] and list(test) == [0]
    assert len(test[0]) == 2 and len(train[0]) == 8  # 20 % of 10 liked items
    assert not set(test[0]) & set(train[0]) and sorted(test[0] + train[0]) == list(range(10))


def test_gowalla_subset_keeps_the_published_split_of_the_drawn_users(tmp_path):
    raw = tmp_path / "root" / "gowalla" / "raw"
    raw.mkdir(parents=True)
    (raw / "train.txt").write_text("0 5 6\n1 7\n2 8 9\n")
    (raw / "test.txt").write_text("0 7\n2 5\n")
    rec_holdout.gowalla_4k(tmp_path / "root", tmp_path / "out", random.Random(7), users=2)
    train, test = _rows(tmp_path / "out" / "train.txt"), _rows(tmp_path / "out" / "test.txt")
    assert sorted(train) == [0, 1]
    items = sorted({i for v in (*train.values(), *test.values()) for i in v})
    assert items == list(range(len(items)))  # renumbered without gaps
    published_train, published_test = {0: [5, 6], 1: [7], 2: [8, 9]}, {0: [7], 2: [5]}
    drawn = sorted(random.Random(7).sample([0, 1, 2], 2))  # the same draw: users keep their order
    assert [len(train[k]) for k in range(2)] == [len(published_train[u]) for u in drawn]
    assert [len(test.get(k, [])) for k in range(2)] == [len(published_test.get(u, [])) for u in drawn]
