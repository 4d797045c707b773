"""Issue 15: MUSAE graphs say whether they carry node features."""
from __future__ import annotations

import logging

from gnnkit.cli import main
from gnnkit.datasets import catalog, load
from gnnkit.datasets.catalog import NO_FEATURES, get
from gnnkit_testing import dataset_dir


def test_every_musae_entry_says_whether_it_has_features():
    for row in catalog():
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
    said = [r.getMessage() for r in caplog.records if "has no node features" in r.getMessage()]
    assert said == [f"dataset 'lastfm-asia' has {NO_FEATURES}"]


def test_twitch_features_are_read(data_root, tmp_path, monkeypatch):
    dataset_dir(data_root, "twitch")
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    g = load("twitch", root=data_root, download=False)
    assert tuple(g.x.shape) == (7126, 3170) and set(g.x.unique().tolist()) <= {0.0, 1.0}


def test_datasets_info_says_features_are_absent(capsys):
    assert main(["datasets", "info", "facebook"]) == 0
    assert "no node features" in capsys.readouterr().out
