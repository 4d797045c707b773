"""``gnnkit predict kg`` finds the dataset and data root its checkpoint recorded."""
from __future__ import annotations

import json
from pathlib import Path

from gnnkit.cli import main
from gnnkit_testing import write_ring_triples as write_ring


def _train(argv: list[str]) -> None:
    assert main(["train", "kg", "--model", "distmult", "--dim", "4", "--epochs", "2", "--batch-size", "8",
                 "--quiet", "--threads", "1", *argv]) == 0


def _query(ckpt: Path, *extra: str) -> list[str]:
    return ["predict", "kg", "--checkpoint", str(ckpt), "--head", "e3", "--relation", "next", "--k", "3", "--json",
            *extra]


def test_predict_kg_reads_dataset_and_root_from_the_checkpoint(tmp_path, capsys, monkeypatch):
    write_ring(tmp_path / "a" / "ring" / "raw")
    monkeypatch.setenv("GNNKIT_DATA", str(tmp_path / "empty"))
    ckpt = tmp_path / "ring.pt"
    _train(["--dataset", "ring", "--root", str(tmp_path / "a"), "--checkpoint", str(ckpt)])
    capsys.readouterr()
    assert main(_query(ckpt)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "ring" and len(out["tails"]) == 3
    (tmp_path / "a").rename(tmp_path / "b")
    assert main(_query(ckpt)) == 2
    err = capsys.readouterr().err
    assert err == (f"gnnkit: error: checkpoint {ckpt} was trained on data under {tmp_path / 'a'}, which no longer "
                   f"exists; pass --root DIR with the folder that now holds ring/raw/\n")
    assert main(_query(ckpt, "--root", str(tmp_path / "b"))) == 0
    assert json.loads(capsys.readouterr().out)["tails"] == out["tails"]


def test_predict_kg_finds_a_folder_given_by_a_relative_path_from_elsewhere(tmp_path, capsys, monkeypatch):
    write_ring(tmp_path / "work" / "my-ring")
    monkeypatch.setenv("GNNKIT_DATA", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path / "work")
    ckpt = tmp_path / "ring.pt"
    _train(["--dataset", "my-ring", "--checkpoint", str(ckpt)])
    monkeypatch.chdir(tmp_path)  # `my-ring` is no longer a relative path that exists
    capsys.readouterr()
    assert main(_query(ckpt)) == 0
    assert json.loads(capsys.readouterr().out)["dataset"] == "my-ring"


def test_predict_kg_refuses_another_tasks_checkpoint_before_looking_for_data(tmp_path, capsys):
    from gnnkit.io import save_verified

    save_verified(tmp_path / "node.pt", {"task": "node", "data": {"dataset": "cora"}}, kind="gnnkit.node")
    assert main(_query(tmp_path / "node.pt")) == 2
    err = capsys.readouterr().err
    assert "checkpoint of `gnnkit train node`, not of `gnnkit train kg`" in err and err.count("\n") == 1


def test_only_rank_0_records_the_source(tmp_path, monkeypatch):
    """Under torchrun the other ranks leave rank 0's checkpoint alone."""
    from gnnkit.cli.source import record_source
    from gnnkit.io import load_verified, save_verified

    ckpt = tmp_path / "c.pt"
    save_verified(ckpt, {"task": "kg"}, kind="gnnkit.kg")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    record_source(str(ckpt), "ring", str(tmp_path))
    assert "source" not in load_verified(ckpt)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    record_source(str(ckpt), "ring", str(tmp_path))
    assert load_verified(ckpt)["source"] == {"dataset": "ring", "root": str(tmp_path.resolve())}


def test_unseen_test_entities_are_an_error_naming_the_flag_and_drop_trains_and_predicts(tmp_path, capsys):
    folder = write_ring(tmp_path / "ring")
    with open(folder / "test.txt", "a") as fh:
        fh.write("stranger\tnext\te0\n")
    base = ["train", "kg", "--dataset", str(folder), "--model", "distmult", "--dim", "8", "--epochs", "2", "--quiet"]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "entity 'stranger' never occurs" in err and "--unseen drop" in err
    ck = tmp_path / "u.pt"
    assert main([*base, "--unseen", "drop", "--checkpoint", str(ck), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["test_mrr"] > 0
    # predict reads the files as the run did (dropping the stranger), not with the default error
    assert main(["predict", "kg", "--checkpoint", str(ck), "--head", "e1", "--relation", "next", "-k", "2"]) == 0
    assert "top 2 tails of (e1, next, ?)" in capsys.readouterr().out
