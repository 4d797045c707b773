"""`gnnkit train rec` and `gnnkit recommend` end to end on ml-100k."""
import json

import pytest
import torch

from gnnkit_testing import dataset_dir
from gnnkit.cli import main
from gnnkit.train.checkpoint import load_checkpoint



@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    dataset_dir(data_root, "ml-100k")
    out = tmp_path_factory.mktemp("rec")
    code = main(["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "lightgcn",
                 "--epochs", "2", "--lr", "5e-3", "--checkpoint", str(out / "ml.pt"), "--json", str(out / "m.json"),
                 "--csv", str(out / "log.csv"), "--quiet"])
    assert code == 0
    return out


def test_train_writes_metrics_json_and_csv(trained):
    summary = json.loads((trained / "m.json").read_text())
    for key in ("dataset", "model", "recall@20", "ndcg@20", "precision@20", "recall@10", "ndcg@10",
                "epochs_run", "seconds"):
        assert key in summary
    assert summary["dataset"] == "ml-100k" and summary["model"] == "lightgcn" and summary["epochs_run"] == 2
    assert 0 < summary["recall@20"] < 1
    rows = (trained / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss") and len(rows) == 3


def test_recommend_json_excludes_seen_items_and_has_titles(trained, capsys):
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--user", "5", "--k", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    state = load_checkpoint(trained / "ml.pt")["export"]
    seen = set(state["seen_items"][state["seen_rowptr"][5]:state["seen_rowptr"][6]].tolist())
    items = [row["item"] for row in out["items"]]
    assert len(items) == 7 and len(set(items)) == 7 and not seen & set(items)
    assert out["already_seen"] == len(seen) > 0
    scores = [row["score"] for row in out["items"]]
    assert scores == sorted(scores, reverse=True)
    # they are the best unseen items: nothing unseen scores higher than the 7th
    all_scores = state["user_emb"][5] @ state["item_emb"].t()
    unseen = torch.ones(all_scores.numel(), dtype=torch.bool)
    unseen[list(seen)] = False
    assert float(all_scores[unseen].max()) == pytest.approx(scores[0], rel=1e-5)
    assert int((all_scores[unseen] > scores[-1] + 1e-5).sum()) <= 6
    assert out["items"][0]["title"] == state["item_titles"][items[0]] and "(19" in out["items"][0]["title"]


def test_recommend_table(trained, capsys):
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--user", "0"]) == 0
    text = capsys.readouterr().out
    assert "top 10 for user 0" in text and len(text.strip().splitlines()) == 11


@pytest.mark.parametrize("args, message", [
    (["--user", "943"], "user 943 is not in the dataset: expected 0 <= user < 943"),
    (["--user", "-1"], "user -1 is not in the dataset"),
    (["--user", "0", "--k", "5000"], "--k 5000 must be between 1 and the"),
    (["--user", "0", "--k", "0"], "--k 0 must be between 1"),
])
def test_recommend_bad_input(trained, capsys, args, message):
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), *args]) == 2
    assert message in capsys.readouterr().err


def test_recommend_missing_checkpoint(tmp_path, capsys):
    assert main(["recommend", "--checkpoint", str(tmp_path / "nope.pt"), "--user", "0"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_train_rec_bad_dataset(data_root, capsys):
    dataset_dir(data_root, "cora")
    code = main(["train", "rec", "--dataset", "karate", "--root", str(data_root), "--epochs", "1", "--quiet"])
    assert code == 2 and "not a recommendation dataset" in capsys.readouterr().err


def test_popularity_from_the_command_line(data_root, tmp_path, capsys):
    dataset_dir(data_root, "ml-100k")
    assert main(["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "pop",
                 "--json", str(tmp_path / "p.json"), "--checkpoint", str(tmp_path / "p.pt"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "p.json").read_text())
    assert summary["epochs_run"] == 0 and summary["recall@20"] > 0.05
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(tmp_path / "p.pt"), "--user", "3", "--k", "3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 3


def test_per_model_defaults_are_used_and_documented(data_root, tmp_path, capsys):
    from gnnkit.train.rec import MODEL_DEFAULTS

    dataset_dir(data_root, "ml-100k")
    assert main(["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "mf", "--epochs", "1",
                 "--json", str(tmp_path / "mf.json"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "mf.json").read_text())
    assert summary["lr"] == MODEL_DEFAULTS["mf"]["lr"] and summary["epochs"] == 1
    assert summary["patience"] == MODEL_DEFAULTS["mf"]["patience"]
    assert MODEL_DEFAULTS["lightgcn"]["lr"] != MODEL_DEFAULTS["mf"]["lr"]
    with pytest.raises(SystemExit):
        main(["train", "rec", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"lightgcn: lr {MODEL_DEFAULTS['lightgcn']['lr']:g}" in text and f"mf: lr {MODEL_DEFAULTS['mf']['lr']:g}" in text


def test_gfcf_from_the_command_line_and_recommend(data_root, tmp_path, capsys):
    dataset_dir(data_root, "ml-100k")
    assert main(["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "gfcf",
                 "--json", str(tmp_path / "g.json"), "--checkpoint", str(tmp_path / "g.pt"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "g.json").read_text())
    assert summary["epochs_run"] == 0 and summary["recall@20"] > 0.25  # popularity: ~0.17
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(tmp_path / "g.pt"), "--user", "5", "--k", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    state = load_checkpoint(tmp_path / "g.pt")["export"]
    seen = set(state["seen_items"][state["seen_rowptr"][5]:state["seen_rowptr"][6]].tolist())
    items = [row["item"] for row in out["items"]]
    assert out["model"] == "gfcf" and len(set(items)) == 4 and not seen & set(items)
    scores = [row["score"] for row in out["items"]]
    assert scores == sorted(scores, reverse=True)


def test_recommend_refuses_a_user_without_interactions(trained, tmp_path, capsys):
    from gnnkit.io import save_verified

    state = load_checkpoint(trained / "ml.pt")
    state["export"]["seen_rowptr"][1] = 0  # user 0's items now count as user 1's
    save_verified(tmp_path / "cold.pt", state, kind="gnnkit.rec")
    assert main(["recommend", "--checkpoint", str(tmp_path / "cold.pt"), "--user", "0"]) == 2
    err = capsys.readouterr().err
    assert "user 0 has no training interactions" in err and "--model pop" in err


def test_recommend_refuses_a_checkpoint_of_another_task(tmp_path, capsys):
    from gnnkit.io import save_verified

    save_verified(tmp_path / "node.pt", {"format": "gnnkit.node/2", "task": "node", "model_state": {}},
                  kind="gnnkit.node")
    assert main(["recommend", "--checkpoint", str(tmp_path / "node.pt"), "--user", "0"]) == 2
    err = capsys.readouterr().err
    assert "`gnnkit train node`" in err and "not by `gnnkit train rec`" in err
