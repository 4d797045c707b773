"""Issue 15, processed cache and loader: never serve a stale, corrupt or short dataset.

Real raw files are copied into a temporary data root, then edited there.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch

from gnnkit.datasets import cache, load
from gnnkit.io import save_verified


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GNNKIT_CACHE", str(folder))
    return folder


def _copy(data_root, tmp_path, name, files):
    raw = tmp_path / "root" / name / "raw"
    raw.mkdir(parents=True)
    for f in files:
        shutil.copyfile(data_root / name / "raw" / f, raw / f)
    return tmp_path / "root", raw


@pytest.mark.data
def test_musae_cache_follows_an_added_edited_and_removed_features_file(data_root, tmp_path):
    root, raw = _copy(data_root, tmp_path, "facebook", ["edges.csv", "target.csv"])
    assert load("facebook", root=root, download=False).x is None
    (raw / "features.csv").write_text("node_id,feature_id,value\n0,0,1\n5,1,1\n")
    g = load("facebook", root=root, download=False)  # old: the cached featureless graph
    assert g.x is not None and g.x.shape == (22470, 2) and g.x[5, 1] == 1
    (raw / "features.csv").write_text("node_id,feature_id,value\n0,0,1\n5,1,2\n")  # same size, new content
    assert load("facebook", root=root, download=False).x[5, 1] == 2
    (raw / "features.csv").unlink()
    assert load("facebook", root=root, download=False).x is None
    (raw / "features.json").write_text('{"3": [0, 2]}')
    assert load("facebook", root=root, download=False).x[3].tolist() == [1.0, 0.0, 1.0]


@pytest.mark.data
def test_movielens_cache_follows_the_movies_file(data_root, tmp_path):
    root, raw = _copy(data_root, tmp_path, "ml-100k", ["u.data", "u.item"])
    assert load("ml-100k", root=root, download=False).item_titles[0] == "Toy Story (1995)"
    text = (raw / "u.item").read_bytes().replace(b"Toy Story (1995)", b"Toy Stori (1995)")
    (raw / "u.item").write_bytes(text)
    assert load("ml-100k", root=root, download=False).item_titles[0] == "Toy Stori (1995)"  # old: stale title


@pytest.mark.data
def test_movielens_duplicated_rows_through_the_loader(data_root, tmp_path):
    root, raw = _copy(data_root, tmp_path, "ml-100k", ["u.data", "u.item"])
    with open(raw / "u.data", "ab") as fh:
        fh.writelines((raw / "u.data").read_bytes().splitlines(keepends=True)[:900])  # 900 ratings given again
    ds = load("ml-100k", root=root, download=False)
    train = set(map(tuple, ds.train_interactions.t().tolist()))
    test = set(map(tuple, ds.test_interactions.t().tolist()))
    assert not train & test and len(train) + len(test) == 100000  # old: pairs in both, 100000+ rows


@pytest.mark.data
def test_lightgcn_train_cut_mid_row_is_caught_by_the_catalog_sizes(data_root, tmp_path):
    root, raw = _copy(data_root, tmp_path, "gowalla", ["train.txt", "test.txt"])
    data = (raw / "train.txt").read_bytes()
    (raw / "train.txt").write_bytes(data[: len(data) - 7])  # the last row loses its last few items
    with pytest.warns(UserWarning, match="may be truncated mid-row"), \
            pytest.raises(ValueError, match=r"'gowalla' .* parsed to interactions = \d+ \(expected 1027370\)"):
        load("gowalla", root=root, download=False)  # old: loaded, a few interactions short


@pytest.mark.data
@pytest.mark.parametrize("name", ["kinships", "nations"])
def test_knowledge_graph_files_are_verified_against_the_published_copies(data_root, tmp_path, name):
    root, raw = _copy(data_root, tmp_path, name, ["train.txt", "valid.txt", "test.txt"])
    kg = load(name, root=root, download=False)  # the shared copies are the published bytes
    assert len(kg.train) == {"kinships": 8544, "nations": 1592}[name]
    lines = (raw / "test.txt").read_bytes().splitlines(keepends=True)
    (raw / "test.txt").write_bytes(b"".join(lines[:-1]))  # one test triple lost: still a valid file
    with pytest.raises(ValueError, match=r"checksum mismatch .*test\.txt"):
        load(name, root=root, download=False)  # old: no digest known, loaded one triple short


def test_knowledge_graph_sizes_are_checked_after_parsing(tmp_path):
    from gnnkit.datasets.catalog import get
    from gnnkit.datasets.knowledge_graph import KnowledgeGraph, Triples
    from gnnkit.datasets.loader import check_sizes, measure

    hrt = torch.tensor([[0, 0, 1], [1, 1, 2]])
    kg = KnowledgeGraph(Triples.from_tensor(hrt), Triples.from_tensor(hrt[:1]), Triples.empty(),
                        ["a", "b", "c"], ["r", "s"], name="nations")
    assert measure(kg) == {"num_entities": 3, "num_relations": 2, "train": 2, "valid": 1, "test": 0}
    with pytest.raises(ValueError, match=r"'nations' .* parsed to num_entities = 3 \(expected 14\)"):
        check_sizes(get("nations"), kg, tmp_path)


@pytest.mark.data
def test_corrupted_and_old_cache_entries_are_rebuilt(data_root, isolated_cache, caplog):
    ref = load("cora", root=data_root, download=False)
    (entry,) = (isolated_cache / "cora").glob("*.pt")
    data = bytearray(entry.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    entry.write_bytes(bytes(data))
    g = load("cora", root=data_root, download=False)  # old: loaded whatever the damaged tensors held
    assert torch.equal(g.x, ref.x) and "corrupted" in caplog.text
    torch.save({"kind": "graph"}, entry)  # an entry without a digest, as older versions wrote them
    assert torch.equal(load("cora", root=data_root, download=False).x, ref.x)


def test_cache_entry_with_a_changed_input_is_stale(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("1")
    inputs = {"a.txt": [1, hashlib.sha256(b"1").hexdigest()], "b.txt": None}
    assert cache.inputs_unchanged(inputs, raw) is None
    (raw / "a.txt").write_text("2")  # same size, other content
    assert cache.inputs_unchanged(inputs, raw) == "a.txt changed"
    (raw / "a.txt").write_text("1")
    (raw / "b.txt").write_text("x")
    assert cache.inputs_unchanged(inputs, raw) == "b.txt was added"
    (raw / "a.txt").unlink()
    assert cache.inputs_unchanged(inputs, raw) == "a.txt was removed"
    save_verified(tmp_path / "entry.pt", {"kind": "graph"}, kind="something-else")
    assert cache.load(tmp_path / "entry.pt") is None  # the wrong kind is not a cache entry


@pytest.mark.data
def test_unwritable_cache_continues_uncached(data_root, tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("GNNKIT_CACHE", str(blocker / "cache"))
    g = load("cora", root=data_root, download=False)
    assert g.num_nodes == 2708 and "continuing without it" in caplog.text


@pytest.mark.data
def test_a_cache_entry_that_cannot_even_be_looked_at_is_rebuilt(data_root, tmp_path, monkeypatch, caplog):
    # a cache folder without search permission: stat() of its entries raises (tests run as root, who
    # would pass any chmod, so the refusal is simulated)
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    assert load("nations", root=data_root, download=False) is not None  # writes the entry
    real = Path.is_file

    def refused(self):
        if str(self).startswith(str(tmp_path / "cache")):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "is_file", refused)
    kg = load("nations", root=data_root, download=False)
    assert kg.num_entities == 14 and "ignoring unreadable cache entry" in caplog.text


def test_a_path_that_may_not_be_read_is_bad_input_with_a_hint(tmp_path, capsys, monkeypatch):
    from gnnkit.cli import main
    from gnnkit.cli import kg as kg_cli

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "train.txt"))

    monkeypatch.setattr(kg_cli, "load_knowledge_graph", denied)
    assert main(["train", "kg", "--dataset", "nations", "--root", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (f"gnnkit: error: Permission denied: {tmp_path / 'train.txt'}; check its permissions, or choose "
                   f"another path\n")
