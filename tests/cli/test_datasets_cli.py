"""`gnnkit datasets list/info` take `--root` before or after the action, and read that root."""
from gnnkit.cli import main


def _present(out: str, name: str) -> str:
    row = next(line for line in out.splitlines() if line.split()[:1] == [name])
    return row.split()[3]


def test_datasets_list_root_after_the_action(tmp_path, capsys):
    (tmp_path / "cora" / "raw").mkdir(parents=True)
    for name in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"):
        (tmp_path / "cora" / "raw" / f"ind.cora.{name}").write_bytes(b"")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["datasets", "list", "--root", str(tmp_path)]) == 0
    after = capsys.readouterr().out
    assert main(["datasets", "--root", str(tmp_path), "list"]) == 0
    before = capsys.readouterr().out
    assert after == before
    assert _present(after, "cora") == "yes"
    assert main(["datasets", "list", "--root", str(empty)]) == 0
    assert _present(capsys.readouterr().out, "cora") == "no"


def test_datasets_info_root_after_the_name(tmp_path, capsys):
    assert main(["datasets", "info", "cora", "--root", str(tmp_path)]) == 0
    assert f"raw dir:  {tmp_path / 'cora' / 'raw'} (missing)" in capsys.readouterr().out


def test_datasets_info_names_the_classes(capsys):
    assert main(["datasets", "info", "cora"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  classes:")]
    assert lines == ["  classes:  0 Theory, 1 Reinforcement_Learning, 2 Genetic_Algorithms, 3 Neural_Networks, "
                     "4 Probabilistic_Methods, 5 Case_Based, 6 Rule_Learning"]
    assert main(["datasets", "info", "facebook"]) == 0
    assert "classes:" not in capsys.readouterr().out  # names unknown: no line rather than made-up ones


def test_an_unknown_absolute_dataset_path_is_named_as_a_folder_in_every_train_command(tmp_path, capsys):
    """An absolute --dataset that does not exist: the error names that folder
    and says it is missing, never a ``DIR//abs/path/raw/`` place under --root."""
    missing = tmp_path / "no_such_dataset"
    for task in ("node", "link", "rec", "kg"):
        capsys.readouterr()
        assert main(["train", task, "--dataset", str(missing), "--root", str(tmp_path), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("gnnkit: error: unknown dataset") and err.count("\n") == 1, (task, err)
        assert f"{missing} does not exist" in err and "DIR//" not in err and "--root DIR" not in err, (task, err)
    # a relative name may live under the data root: that place is still offered
    capsys.readouterr()
    assert main(["train", "kg", "--dataset", "my_kg", "--root", str(tmp_path), "--quiet"]) == 2
    assert "under --root DIR as DIR/my_kg/raw/" in capsys.readouterr().err
