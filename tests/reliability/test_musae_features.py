"""Issue 15: MUSAE graphs say whether they carry node features."""
from __future__ import annotations

import logging

import pytest

from gnnkit.cli import main
from gnnkit.datasets import list_datasets, load
from gnnkit.datasets.catalog import NO_FEATURES, get
from gnnkit_testing import dataset_dir


def test_every_musae_entry_says_whether_it_has_features():
    for row in list_datasets():
        if row["format"] != "musae":
            continue
        info = get(row["name"])
        has_file = any(f.name.startswith("features") for f in info.files)
        assert (info.description == NO_FEATURES) != has_file, row["name"]


def test_featureless_graph_is_said_once_on_load(data_root, tmp_path, monkeypatch, caplog):
    import gnnkit.datasets.loader as loader

    dataset_dir(data_root, "lastfm-asia")
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(loader, "_WARNED_FEATURELESS", set())
    with caplog.at_level(logging.WARNING):
        first = load("lastfm-asia", root=data_root, download=False)
        second = load("lastfm-asia", root=data_root, download=False)  # from the cache: said once only
    assert first.x is None and second.x is None
    said = [r.getMessage() for r in caplog.records if "x is None" in r.getMessage()]
    assert said == [f"dataset 'lastfm-asia': x is None ({NO_FEATURES})"]


def test_twitch_features_are_read(data_root, tmp_path, monkeypatch):
    dataset_dir(data_root, "twitch")
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    g = load("twitch", root=data_root, download=False)
    assert tuple(g.x.shape) == (7126, 3170) and set(g.x.unique().tolist()) <= {0.0, 1.0}


def test_datasets_info_says_where_the_features_are(capsys):
    assert main(["datasets", "info", "lastfm-asia"]) == 0
    assert "no node features" in capsys.readouterr().out
    assert main(["datasets", "info", "facebook"]) == 0
    out = capsys.readouterr().out
    assert "read_musae_features" in out and "features.json [missing, optional]" in out


def _folder(tmp_path, features_json: str):
    (tmp_path / "target.csv").write_text("id,target\n0,1\n1,0\n2,1\n3,0\n")
    (tmp_path / "edges.csv").write_text("id_1,id_2\n0,1\n1,2\n2,3\n")
    (tmp_path / "features.json").write_text(features_json)
    return tmp_path


def _dense_of(csr):
    import torch

    out = torch.zeros(csr.num_rows, csr.num_cols)
    rows = torch.repeat_interleave(torch.arange(csr.num_rows), csr.rowptr.diff())
    out[rows, csr.col] = csr.value
    return out


def test_features_json_read_sparse_and_dense(tmp_path):
    from gnnkit.datasets import read_musae
    from gnnkit.datasets.formats.musae import read_musae_features

    folder = _folder(tmp_path, '{"0": [0, 5], "1": [], "2": [3], "3": [5, 1]}')
    csr = read_musae_features(folder)
    assert (csr.num_rows, csr.num_cols, csr.nnz) == (4, 6, 5)
    dense = read_musae(folder).x
    assert dense.tolist()[0] == [1, 0, 0, 0, 0, 1] and dense.tolist()[1] == [0] * 6
    assert _dense_of(csr).equal(dense)


def test_features_too_large_for_dense_leave_x_none_and_say_how_to_read_them(tmp_path, monkeypatch, caplog):
    import gnnkit.datasets.formats.musae as musae

    folder = _folder(tmp_path, '{"0": [0, 5], "1": [], "2": [3], "3": [5, 1]}')
    monkeypatch.setattr(musae, "DENSE_LIMIT", 23)  # 4 x 6 = 24 entries
    with caplog.at_level(logging.WARNING):
        assert musae.read_musae(folder).x is None
    assert "too large to hold dense" in caplog.text and "read_musae_features" in caplog.text
    assert musae.read_musae_features(folder).nnz == 5  # the sparse reader has no limit


def test_twitch_features_sparse_equal_dense(data_root):
    from gnnkit.datasets import read_musae
    from gnnkit.datasets.formats.musae import read_musae_features

    raw = dataset_dir(data_root, "twitch")
    csr = read_musae_features(raw)
    assert (csr.num_rows, csr.num_cols) == (7126, 3170) and csr.nnz < 0.01 * 7126 * 3170  # under 1 % dense
    assert _dense_of(csr).equal(read_musae(raw).x)


def test_fresh_download_fetches_the_optional_features_file(tmp_path, monkeypatch, caplog):
    from gnnkit.datasets import download
    from gnnkit.datasets.loader import ensure_raw

    fetched = []

    def fake_fetch(url, dest, sha256=None, **kw):
        if dest.name == "features.json" and fetched.count("features.json"):
            raise download.DownloadError(f"could not download {url}: offline")
        fetched.append(dest.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("{}")
        return "0" * 64

    monkeypatch.setattr(download, "fetch", fake_fetch)
    info = get("facebook")
    assert [f.name for f in info.files if f.optional] == ["features.json"]
    ensure_raw(info, tmp_path / "a", download_ok=True, progress=False)
    assert fetched == ["edges.csv", "target.csv", "features.json"]
    with caplog.at_level(logging.WARNING):  # an optional file that fails: a warning, the load goes on
        ensure_raw(info, tmp_path / "b", download_ok=True, progress=False)
    assert "optional file features.json of 'facebook' not fetched" in caplog.text
    assert not (tmp_path / "b" / "features.json").exists() and (tmp_path / "b" / "edges.csv").exists()



@pytest.mark.parametrize("features_json, message", [
    ('{"0": [1.5]}', "lists feature id 1.5, which is not an integer"),
    ('{"0": [2.9999]}', "lists feature id 2.9999"),
    ('{"0": [true]}', "lists feature id True"),
    ('{"0": [1], "00": [4]}', "node id '00' is not a plain integer"),
    ('{"0": [1], "0": [4]}', "node '0' is listed twice"),
    ('{"0": 3}', "maps to int, expected a list"),
])
def test_features_json_never_truncates_or_merges_ids(tmp_path, features_json, message):
    from gnnkit.datasets.formats.musae import read_musae_features

    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        read_musae_features(_folder(tmp_path, features_json))
