"""``gnnkit train link`` / ``gnnkit suggest-friends``: options, JSON, stdout discipline, errors."""
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


@pytest.mark.parametrize("path", [("train", "link"), ("suggest-friends",)])
def test_every_option_has_help(path):
    for action in _subparser(*path)._actions:
        assert action.help, f"{action.option_strings} has no help text"


def test_help_lists_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "link", "--help"])
    out = capsys.readouterr().out
    assert "gae: 32 -> 16, dropout 0.5, lr 0.01, 400 epochs" in out
    assert "vgae: 64 -> 32" in out


def test_json_keys_on_karate(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["train", "link", "--dataset", "karate", "--model", "gae", "--epochs", "20", "--seeds", "2",
                 "--json", str(out), "--quiet"])
    assert code == 0
    result = json.loads(out.read_text())
    for key in ("test_auc_mean", "test_auc_std", "test_ap_mean", "test_ap_std", "seeds", "seconds", "features",
                "per_seed", "hparams", "config"):
        assert key in result, key
    assert result["seeds"] == 2 and len(result["per_seed"]) == 2
    assert result["per_seed"][0]["seed"] == 0 and result["per_seed"][1]["seed"] == 1
    assert result["hparams"] == {"hidden": 32, "out": 16, "dropout": 0.5, "decoder": "dot"}
    assert result["features"].startswith("given: 34 features")  # karate's one-hot identity
    assert 0.0 <= result["test_auc_mean"] <= 1.0
    assert "karate gae: test AUC" in capsys.readouterr().out


def test_json_dash_is_only_json_on_stdout(capsys):
    assert main(["train", "link", "--dataset", "karate", "--model", "sage", "--decoder", "mlp", "--epochs", "5",
                 "--json", "-"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)  # nothing else on stdout
    assert result["model"] == "sage" and result["hparams"]["decoder"] == "mlp"
    assert "karate sage: test AUC" in captured.err


def test_edge_list_file_without_features(tmp_path):
    edges = tmp_path / "friends.txt"
    # two triangles-rich communities joined by one edge, ids sparse (relabelled)
    rows = [(a, b) for a in range(0, 20, 2) for b in range(a + 2, 20, 2)]
    rows += [(a, b) for a in range(101, 121, 2) for b in range(a + 2, 121, 2)] + [(0, 101)]
    edges.write_text("# a test graph\n" + "\n".join(f"{a} {b}" for a, b in rows) + "\n")
    out = tmp_path / "r.json"
    assert main(["train", "link", "--dataset", str(edges), "--epochs", "30", "--json", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["features"].startswith("embedding")


def test_checkpoint_then_suggest_friends(tmp_path, capsys):
    ckpt = tmp_path / "link.pt"
    assert main(["train", "link", "--dataset", "karate", "--epochs", "10", "--checkpoint", str(ckpt), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["suggest-friends", "--checkpoint", str(ckpt), "--node", "0", "-k", "3", "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["node"] == 0 and len(result["suggestions"]) == 3
    karate_friends_of_0 = {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 17, 19, 21, 31}
    assert not {s["node"] for s in result["suggestions"]} & (karate_friends_of_0 | {0})
    assert main(["suggest-friends", "--checkpoint", str(ckpt), "--node", "34"]) == 2
    err = capsys.readouterr().err
    assert err == ("gnnkit: error: node 34 is not in the graph: the node ids of karate run 0, 1, 2 … 33 (34 nodes); "
                   "pass one of them, or --index N for the internal 0-based index\n")
    assert main(["suggest-friends", "--checkpoint", str(ckpt), "--index", "34"]) == 2
    assert "--index 34 is outside the graph: expected 0 <= index < 34" in capsys.readouterr().err


def test_suggest_friends_takes_and_prints_an_edge_list_files_own_ids(tmp_path, capsys):
    """Sparse ids (0, 2, ..., 18 and 101, 103, ..., 119) are relabelled for training, not for the user."""
    edges = tmp_path / "friends.txt"
    rows = [(a, b) for a in range(0, 20, 2) for b in range(a + 2, 20, 2)]
    rows += [(a, b) for a in range(101, 121, 2) for b in range(a + 2, 121, 2)] + [(0, 101)]
    edges.write_text("\n".join(f"{a} {b}" for a, b in rows) + "\n")
    ckpt = tmp_path / "link.pt"
    assert main(["train", "link", "--dataset", str(edges), "--epochs", "5", "--checkpoint", str(ckpt),
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["suggest-friends", "--checkpoint", str(ckpt), "--node", "101", "-k", "30", "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    own = set(range(0, 20, 2)) | set(range(101, 121, 2))
    friends_of_101 = {b for a, b in rows if a == 101} | {a for a, b in rows if b == 101}
    suggested = {s["node"] for s in result["suggestions"]}
    assert result["node"] == 101 and result["index"] == 10  # the 11th distinct id
    # every other node that is not a friend: ids from the file, none of them 101's friends
    assert suggested == own - friends_of_101 - {101} and len(suggested) == 9
    assert all(s["node"] == sorted(own)[s["index"]] for s in result["suggestions"])
    assert main(["suggest-friends", "--checkpoint", str(ckpt), "--node", "1"]) == 2
    assert "node 1 is not in the graph: the node ids of " in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "no-such-graph"], "unknown dataset 'no-such-graph'"),
    (["--dataset", "ml-100k"], "is a recommendation dataset"),
    (["--dataset", "karate", "--val", "0.5", "--test", "0.5"], "sum below 1"),
    (["--dataset", "karate", "--test", "-0.1"], "test must be a fraction"),
    (["--dataset", "karate", "--val", "0.001"], "too few for val"),
    (["--dataset", "karate", "--model", "vgae", "--decoder", "mlp"], "applies to --model gcn or sage"),
    (["--dataset", "karate", "--seeds", "0"], "--seeds must be >= 1"),
    (["--dataset", "karate", "--patience", "-1"], "--patience must be >= 0"),
    (["--dataset", "karate", "--mode", "minibatch", "--loss", "dense"], "does not combine with mini-batches"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(["train", "link", "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gnnkit: error: ") and message in err and "\n" not in err


def test_edgeless_and_directed_files(tmp_path, capsys):
    lonely = tmp_path / "loops.txt"
    lonely.write_text("0 0\n1 1\n")
    assert main(["train", "link", "--dataset", str(lonely), "--quiet"]) == 2
    assert "only self-loops" in capsys.readouterr().err
    directed = tmp_path / "follows.txt"
    directed.write_text("\n".join(f"{a} {(a * 7 + 3) % 50}" for a in range(50)) + "\n")
    assert main(["train", "link", "--dataset", str(directed), "--directed", "--epochs", "3", "--quiet"]) == 0


def test_suggest_refuses_another_tasks_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "node.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "3", "--checkpoint", str(ckpt), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["suggest-friends", "--checkpoint", str(ckpt), "--node", "0"]) == 2
    assert "not a link-prediction one" in capsys.readouterr().err


@pytest.mark.data
def test_cora_from_the_data_root(data_root, tmp_path):
    dataset_dir(data_root, "cora")
    out = tmp_path / "cora.json"
    assert main(["train", "link", "--dataset", "cora", "--root", str(data_root), "--no-download", "--epochs", "30",
                 "--json", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["features"] == "given: 1433 features, row-normalised (sparse)"
    assert result["test_auc_mean"] > 0.7  # 30 of the default 400 epochs: seeds 0-5 gave 0.735-0.797 (chance: 0.5)


def test_your_own_musae_folder_with_features(tmp_path, capsys):
    # --dataset also takes a MUSAE-layout folder: its features.csv is read (sparse when it is sparse)
    import random

    rng = random.Random(1)
    folder = tmp_path / "social"
    folder.mkdir()
    n = 120
    (folder / "target.csv").write_text("id,target\n" + "".join(f"{i},{i % 2}\n" for i in range(n)))
    edges = {(a, (a + 2 * rng.randrange(1, 20)) % n) for a in range(n) for _ in range(4)}
    (folder / "edges.csv").write_text("id_1,id_2\n" + "".join(f"{a},{b}\n" for a, b in sorted(edges) if a != b))
    rows = [f"{i},{f},1" for i in range(n) for f in rng.sample(range(300), 3)]
    (folder / "features.csv").write_text("node_id,feature_id,value\n" + "\n".join(rows) + "\n")
    assert main(["train", "link", "--dataset", str(folder), "--epochs", "5", "--json", "-", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["features"].startswith("given: 300 features") and 0 <= result["test_auc_mean"] <= 1
    assert main(["train", "link", "--dataset", "social", "--root", str(tmp_path), "--epochs", "2", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "link", "--dataset", "nosuch", "--root", str(tmp_path), "--epochs", "2", "--quiet"]) == 2
    assert "no folder of your own files" in capsys.readouterr().err
