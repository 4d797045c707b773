"""``gnnkit datasets list / info``."""
from __future__ import annotations

import pytest

from gnnkit.cli import main


def test_list_shows_catalog_and_presence(tmp_path, capsys):
    (tmp_path / "cora" / "raw").mkdir(parents=True)
    assert main(["datasets", "--root", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    for name in ("cora", "pubmed", "deezer", "ml-1m", "yelp2018", "amazon-book", "karate"):
        assert name in lines
    assert lines["cora"][3] == "no" and lines["karate"][3] == "yes"  # an empty raw/ is not "present"


def test_info_and_unknown(tmp_path, capsys):
    assert main(["datasets", "--root", str(tmp_path), "info", "cora"]) == 0
    out = capsys.readouterr().out
    assert "ind.cora.x [missing]" in out and "23cfa55d" in out and str(tmp_path / "cora" / "raw") in out
    assert main(["datasets", "info", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err


def test_catalog_is_the_module_and_the_old_call_still_works_with_a_warning():
    import types

    import gnnkit.datasets as datasets

    assert isinstance(datasets.catalog, types.ModuleType) and datasets.catalog.get("cora").name == "cora"
    with pytest.warns(DeprecationWarning, match="list_datasets"):
        rows = datasets.catalog()
    assert rows == datasets.list_datasets()
