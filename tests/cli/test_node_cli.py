"""``gnnkit train node`` / ``gnnkit predict node``: options, JSON, errors."""
from __future__ import annotations

import argparse
import json

import pytest

from gnnkit.cli import build_parser, main
from gnnkit_testing import dataset_dir



def _subparser(*path: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize("path", [("train", "node"), ("predict", "node")])
def test_every_option_has_help(path):
    parser = _subparser(*path)
    for action in parser._actions:
        assert action.help, f"{action.option_strings} has no help text"


def test_help_lists_paper_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "node", "--help"])
    out = capsys.readouterr().out
    assert "gcn: hidden 16, dropout 0.5, lr 0.01, weight decay 0.0005 (first layer)" in out
    assert "gat: hidden 8, heads 8x8, output heads 1, dropout 0.6, lr 0.005" in out


def test_json_fields_and_seeds_on_karate(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["train", "node", "--dataset", "karate", "--model", "gcn", "--epochs", "30", "--seeds", "2",
                 "--json", str(out), "--quiet"])
    assert code == 0
    result = json.loads(out.read_text())
    for key in ("dataset", "model", "seeds", "test_accuracy_mean", "test_accuracy_std", "test_accuracy",
                "val_accuracy_mean", "seconds"):
        assert key in result
    assert result["dataset"] == "karate" and result["model"] == "gcn" and result["seeds"] == 2
    assert len(result["test_accuracy"]) == 2
    assert result["test_accuracy_mean"] == pytest.approx(sum(result["test_accuracy"]) / 2)
    assert result["hparams"]["hidden_channels"] == 16 and result["config"]["patience"] == 10
    assert "karate gcn: test accuracy" in capsys.readouterr().out


def test_gat_defaults_follow_the_paper(tmp_path):
    out = tmp_path / "r.json"
    assert main(["train", "node", "--dataset", "karate", "--model", "gat", "--epochs", "5", "--json", str(out),
                 "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["hparams"] == {"hidden_channels": 8, "num_layers": 2, "dropout": 0.6, "heads": 8, "out_heads": 1,
                                 "dropout_scheme": "reference"}
    assert result["config"]["lr"] == 0.005 and result["config"]["patience"] == 100
    assert main(["train", "node", "--dataset", "karate", "--model", "gat", "--epochs", "2", "--json", str(out),
                 "--dropout-scheme", "shared", "--quiet"]) == 0
    assert json.loads(out.read_text())["hparams"]["dropout_scheme"] == "shared"


def test_checkpoint_then_predict(tmp_path, capsys):
    ck = tmp_path / "ck.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "20", "--checkpoint", str(ck), "--quiet"]) == 0
    assert main(["predict", "node", "--checkpoint", str(ck), "--dataset", "karate"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-35] == "node,prediction" and len(lines[-34:]) == 34
    assert {line.split(",")[1] for line in lines[-34:]} <= {"0", "1"}
    csv_out = tmp_path / "pred.csv"
    assert main(["predict", "node", "--checkpoint", str(ck), "--dataset", "karate", "--output", str(csv_out)]) == 0
    assert len(csv_out.read_text().splitlines()) == 35


@pytest.mark.parametrize("argv, message", [
    (["train", "node", "--dataset", "karate", "--seeds", "0"], "--seeds must be >= 1, got 0"),
    (["train", "node", "--dataset", "corra"], "unknown dataset 'corra'; expected one of karate, cora"),
    (["train", "node", "--dataset", "gowalla"], "recommendation dataset, not a node-classification one"),
    (["train", "node", "--dataset", "karate", "--heads", "4"], "--heads / --out-heads / --dropout-scheme apply to "
     "--model gat only"),
    (["train", "node", "--dataset", "karate", "--dropout-scheme", "shared"], "apply to --model gat only"),
    (["train", "node", "--dataset", "karate", "--mode", "minibatch", "--inference-batch-size", "0"],
     "inference_batch_size must be a positive number"),
    (["train", "node", "--dataset", "karate", "--split", "0.01", "0.5", "0.4"], "without training nodes"),
    (["train", "node", "--dataset", "karate", "--split", "0.5", "0.2", "0.3", "--per-class", "2"],
     "--per-class replaces --split"),
    (["predict", "node", "--dataset", "karate", "--checkpoint", "/nonexistent.pt"], "does not exist"),
])
def test_bad_input_is_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_your_own_musae_folder_trains_and_predicts(tmp_path, capsys):
    # --dataset takes a MUSAE-layout folder (or <root>/<name>/raw/); predict reads the folder from the checkpoint
    import random

    rng = random.Random(0)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "target.csv").write_text("id,target\n" + "".join(f"{i},{i % 3}\n" for i in range(90)))
    edges = {(a, (a + 3 * rng.randrange(1, 8)) % 90) for a in range(90) for _ in range(3)}
    (folder / "edges.csv").write_text("id_1,id_2\n" + "".join(f"{a},{b}\n" for a, b in sorted(edges)))
    ckpt = tmp_path / "m.pt"
    assert main(["train", "node", "--dataset", str(folder), "--model", "gcn", "--epochs", "60", "--checkpoint",
                 str(ckpt), "--json", "-", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["test_accuracy_mean"] > 0.6  # the class is the node's residue mod 3, which its edges keep
    assert main(["predict", "node", "--checkpoint", str(ckpt), "--output", str(tmp_path / "p.csv")]) == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 91
    raw = tmp_path / "root" / "mine" / "raw"
    raw.mkdir(parents=True)
    for f in ("target.csv", "edges.csv"):
        (raw / f).write_text((folder / f).read_text())
    assert main(["train", "node", "--dataset", "mine", "--root", str(tmp_path / "root"), "--epochs", "2",
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "node", "--dataset", "nosuch", "--root", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nosuch'; expected one of karate" in err and "edges.csv + target.csv" in err


def test_unknown_model_lists_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "node", "--dataset", "karate", "--model", "gcnn"])
    assert exc.value.code == 2
    assert "choose from 'gcn', 'sage', 'gat', 'mlp'" in capsys.readouterr().err


def test_checkpoint_of_another_model_or_dataset(tmp_path, capsys):
    ck = tmp_path / "ck.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "3", "--checkpoint", str(ck), "--quiet"]) == 0
    assert main(["train", "node", "--dataset", "karate", "--model", "sage", "--epochs", "5", "--resume", str(ck),
                 "--quiet"]) == 2
    assert "holds model 'gcn'" in capsys.readouterr().err


@pytest.mark.data
def test_predict_refuses_another_dataset(tmp_path, capsys, data_root):
    dataset_dir(data_root, "cora")
    ck = tmp_path / "ck.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "3", "--checkpoint", str(ck), "--quiet"]) == 0
    assert main(["predict", "node", "--dataset", "cora", "--root", str(data_root), "--no-download",
                 "--checkpoint", str(ck)]) == 2
    assert "trained on dataset 'karate', not 'cora'" in capsys.readouterr().err


def test_predict_refuses_a_checkpoint_of_another_task_by_name(tmp_path, capsys):
    from gnnkit.io import save_verified

    ck = tmp_path / "rec.pt"
    save_verified(ck, {"task": "rec", "data": {"dataset": "ml-100k"}}, kind="gnnkit.rec")
    assert main(["predict", "node", "--checkpoint", str(ck), "--dataset", "cora"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gnnkit: error: {ck} is a 'rec' checkpoint (written by `gnnkit train rec`)")
    assert err.count("\n") == 1


def test_predict_reads_the_dataset_from_the_checkpoint(tmp_path, capsys):
    ck, out = tmp_path / "ck.pt", tmp_path / "pred.csv"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "5", "--checkpoint", str(ck), "--quiet"]) == 0
    assert main(["predict", "node", "--checkpoint", str(ck), "--output", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "node,prediction" and len(lines) == 35


def test_missing_data_root_speaks_cli(tmp_path, capsys):
    assert main(["train", "node", "--dataset", "cora", "--root", str(tmp_path / "none"), "--no-download"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --root DIR / set GNNKIT_DATA=DIR" in err and "root=" not in err


@pytest.mark.data
def test_predict_reads_the_data_root_from_the_checkpoint(tmp_path, capsys, data_root, monkeypatch):
    """Trained with --root A: predict needs no --root, says so when A is gone, and takes --root B."""
    import shutil

    shutil.copytree(dataset_dir(data_root, "cora"), tmp_path / "a" / "cora" / "raw")
    monkeypatch.setenv("GNNKIT_DATA", str(tmp_path / "empty"))  # the default root holds nothing
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    ck, out = tmp_path / "ck.pt", tmp_path / "pred.csv"
    assert main(["train", "node", "--dataset", "cora", "--root", str(tmp_path / "a"), "--epochs", "3",
                 "--checkpoint", str(ck), "--quiet", "--no-download"]) == 0
    assert main(["predict", "node", "--checkpoint", str(ck), "--no-download", "--output", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 2709
    (tmp_path / "a").rename(tmp_path / "b")
    capsys.readouterr()
    assert main(["predict", "node", "--checkpoint", str(ck), "--no-download"]) == 2
    err = capsys.readouterr().err
    assert err == (f"gnnkit: error: checkpoint {ck} was trained on data under {tmp_path / 'a'}, which no longer "
                   f"exists; pass --root DIR with the folder that now holds cora/raw/\n")
    out.unlink()
    assert main(["predict", "node", "--checkpoint", str(ck), "--no-download", "--root", str(tmp_path / "b"),
                 "--output", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 2709


def test_predict_of_a_built_in_dataset_needs_no_root(tmp_path, monkeypatch):
    """karate has no files: a recorded root that has gone since does not matter."""
    (tmp_path / "root").mkdir()
    ck, out = tmp_path / "ck.pt", tmp_path / "pred.csv"
    assert main(["train", "node", "--dataset", "karate", "--root", str(tmp_path / "root"), "--epochs", "2",
                 "--checkpoint", str(ck), "--quiet"]) == 0
    (tmp_path / "root").rmdir()
    assert main(["predict", "node", "--checkpoint", str(ck), "--output", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 35


@pytest.mark.parametrize("flags", [["--per-class", "100"], ["--split", "0.5", "0.25", "0.25"]])
def test_split_options_on_a_dataset_with_its_own_masks_are_an_error(data_root, capsys, flags):
    # Cora's public split would be used and the option silently recorded as if it had been
    dataset_dir(data_root, "cora")
    assert main(["train", "node", "--dataset", "cora", "--root", str(data_root), "--epochs", "1", "--quiet",
                 *flags]) == 2
    err = capsys.readouterr().err
    assert f"cora has its own split masks (train/val/test), so {flags[0]} would be ignored" in err


def test_resuming_a_seeds_checkpoint_without_its_seed_names_the_seed(tmp_path, capsys):
    # on a randomly split graph another seed is another split: the message used to blame edited files
    import random

    rng = random.Random(0)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "edges.csv").write_text("id_1,id_2\n" + "".join(f"{i},{rng.randrange(60)}\n" for i in range(60)))
    (folder / "target.csv").write_text("id,target\n" + "".join(f"{i},{i % 3}\n" for i in range(60)))
    ckpt = tmp_path / "b.pt"
    assert main(["train", "node", "--dataset", str(folder), "--epochs", "2", "--seeds", "2", "--checkpoint",
                 str(ckpt), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "node", "--dataset", str(folder), "--epochs", "4", "--resume",
                 str(tmp_path / "b-seed1.pt"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--seed is 0 but checkpoint" in err and "written with 1" in err and "edited" not in err


def test_predict_refuses_an_unfinished_run(tmp_path, capsys):
    from gnnkit.io import load_verified, save_verified

    ck = tmp_path / "ck.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "4", "--checkpoint", str(ck), "--quiet"]) == 0
    state = load_verified(ck)
    state["finished"] = False  # what a run killed after its second epoch's checkpoint leaves
    save_verified(ck, state, kind="gnnkit.node")
    capsys.readouterr()
    # old: predictions from the last epoch's untested weights, with no word of it
    assert main(["predict", "node", "--checkpoint", str(ck)]) == 2
    err = capsys.readouterr().err
    assert "is from an unfinished run (stopped at epoch 4); finish it with `gnnkit train node ... --resume" in err


def test_a_folder_given_by_a_relative_path_is_found_by_predict_from_anywhere(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "work" / "mine" / "kar"
    folder.mkdir(parents=True)
    edges = [(i, (i + 1) % 20) for i in range(20)] + [(i, (i + 7) % 20) for i in range(20)]
    (folder / "edges.csv").write_text("id_1,id_2\n" + "".join(f"{a},{b}\n" for a, b in edges))
    (folder / "target.csv").write_text("id,target\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    monkeypatch.chdir(tmp_path / "work")
    assert main(["train", "node", "--dataset", "mine/kar", "--epochs", "2", "--checkpoint", "ck.pt", "--quiet"]) == 0
    assert main(["predict", "node", "--checkpoint", "ck.pt", "--dataset", "./mine/kar/"]) == 0  # another spelling
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    # old: "unknown dataset 'mine/kar'": the relative path was recorded as typed
    assert main(["predict", "node", "--checkpoint", "work/ck.pt"]) == 0
    assert capsys.readouterr().out.startswith("node,prediction\n0,")
