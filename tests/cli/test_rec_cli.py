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
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--index", "5", "--k", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ckpt = load_checkpoint(trained / "ml.pt")
    state, source = ckpt["export"], ckpt["source"]
    seen = set(state["seen_items"][state["seen_rowptr"][5]:state["seen_rowptr"][6]].tolist())
    # the user's test items are excluded too: held out from training, but already theirs
    held = set(source["held_out_items"][source["held_out_rowptr"][5]:source["held_out_rowptr"][6]].tolist())
    assert held and not held & seen
    seen |= held
    items = [row["index"] for row in out["items"]]
    assert len(items) == 7 and len(set(items)) == 7 and not seen & set(items)
    assert out["already_seen"] == len(seen) > 0
    scores = [row["score"] for row in out["items"]]
    assert scores == sorted(scores, reverse=True)
    # they are the best unseen items: nothing unseen scores higher than the 7th
    all_scores = state["user_emb"][5] @ state["item_emb"].t()
    unseen = torch.ones(all_scores.numel(), dtype=torch.bool)
    unseen[list(seen)] = False
    # the same product recommend computes, so the same floats: compared exactly
    assert float(all_scores[unseen].max()) == scores[0]
    assert int((all_scores[unseen] > scores[-1]).sum()) == 6 and float(all_scores[items[-1]]) == scores[-1]
    assert out["items"][0]["title"] == state["item_titles"][items[0]] and "(19" in out["items"][0]["title"]


def test_recommend_table(trained, capsys):
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--user", "1"]) == 0
    text = capsys.readouterr().out
    assert "top 10 for user 1 (index 0)" in text and len(text.strip().splitlines()) == 11


def _u_item_titles(data_root) -> dict[int, str]:
    """MovieLens item id -> title, read from u.item here (not through gnnkit)."""
    lines = (data_root / "ml-100k" / "raw" / "u.item").read_bytes().decode("latin-1").splitlines()
    return {int(line.split("|")[0]): line.split("|")[1] for line in lines if line}


def test_recommend_takes_and_prints_the_datasets_own_ids(trained, data_root, capsys):
    """--user 1 is MovieLens user 1 (u.data), the items are u.item's ids with their titles."""
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--user", "1", "--k", "5", "--json"]) == 0
    by_id = json.loads(capsys.readouterr().out)
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--index", "0", "--k", "5", "--json"]) == 0
    by_index = json.loads(capsys.readouterr().out)
    assert by_id == by_index and by_id["user"] == 1 and by_id["index"] == 0
    titles = _u_item_titles(data_root)
    for row in by_id["items"]:
        assert row["item"] == row["index"] + 1  # ml-100k numbers its 1682 items 1..1682
        assert row["title"] == titles[row["item"]]
    # user 1 rated these in u.data, so none may be recommended back
    rated = {int(f[1]) for f in (line.split("\t") for line in
             (data_root / "ml-100k" / "raw" / "u.data").read_text().splitlines()) if f[0] == "1"}
    assert len(rated) == 272 and not rated & {row["item"] for row in by_id["items"]}
    state = load_checkpoint(trained / "ml.pt")
    assert state["source"]["dataset"] == "ml-100k" and state["source"]["root"] == str(data_root.resolve())
    assert state["source"]["user_ids"][:3].tolist() == [1, 2, 3]


@pytest.mark.parametrize("args, message", [
    (["--user", "0"], "user 0 is not in ml-100k: ml-100k's user ids run 1, 2, 3 … 943 (943 users); pass one "
                      "of them, or --index N"),
    (["--user", "944"], "user 944 is not in ml-100k"),
    (["--user", "one"], "--user 'one' is not an integer id (digits 0-9 only); ml-100k's user ids run 1, 2, 3"),
    (["--user", "1_0"], "--user '1_0' is not an integer id (digits 0-9 only)"),  # int() reads it as user 10
    (["--user", "١"], "--user '١' is not an integer id"),  # an Arabic-Indic 1: int() reads it as user 1
    (["--index", "943"], "--index 943 is not a user index of ml-100k: expected 0 <= index < 943"),
    (["--index", "-1"], "--index -1 is not a user index"),
    (["--user", "1", "--k", "5000"], "--k 5000 must be between 1 and the"),
    (["--user", "1", "--k", "0"], "--k 0 must be between 1"),
])
def test_recommend_bad_input(trained, capsys, args, message):
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("gnnkit: error: ") and len(err.strip().splitlines()) == 1


def test_integer_options_take_ascii_digits_only(trained, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse's own check: status 2 and one line
        main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--index", "1_0"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument --index: invalid integer: '1_0' (digits 0-9 only)" in err


def test_recommend_reads_the_ids_from_the_dataset_for_a_checkpoint_without_them(trained, data_root, tmp_path,
                                                                                capsys):
    """A checkpoint without recorded ids (an older Python-API one: no "source", no ids in its export):
    --user loads the dataset it names."""
    from gnnkit.io import save_verified

    state = load_checkpoint(trained / "ml.pt")
    del state["source"]
    for key in ("user_ids", "item_ids", "held_out_rowptr", "held_out_items"):
        del state["export"][key]
    save_verified(tmp_path / "api.pt", state, kind="gnnkit.rec")
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(tmp_path / "api.pt"), "--user", "2", "--k", "3", "--json",
                 "--root", str(data_root)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["user"] == 2 and out["index"] == 1 and [r["item"] for r in out["items"]] == \
        [r["index"] + 1 for r in out["items"]]
    # the wrong data: the sizes differ, so the ids would be wrong; an error says so
    assert main(["recommend", "--checkpoint", str(tmp_path / "api.pt"), "--user", "2", "--root",
                 str(tmp_path / "nothing")]) == 2
    assert "gnnkit: error:" in capsys.readouterr().err


def test_recommend_user_and_index_exclude_each_other(trained, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--user", "1", "--index", "0"])
    assert exit_.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_recommend_missing_checkpoint(tmp_path, capsys):
    assert main(["recommend", "--checkpoint", str(tmp_path / "nope.pt"), "--user", "0"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_train_rec_bad_dataset(data_root, capsys):
    dataset_dir(data_root, "cora")
    code = main(["train", "rec", "--dataset", "karate", "--root", str(data_root), "--epochs", "1", "--quiet"])
    assert code == 2 and "not a recommendation dataset" in capsys.readouterr().err


def test_train_rec_on_your_own_lightgcn_folder_and_recommend(tmp_path, capsys):
    # --dataset also takes a folder of LightGCN-format files; recommend then works from the checkpoint alone
    folder = tmp_path / "mine"
    folder.mkdir()
    g = torch.Generator().manual_seed(0)
    train, test = [], []
    for u in range(30):
        items = torch.randperm(25, generator=g)[:6].tolist()
        train.append(" ".join(map(str, [u] + items[:4])))
        test.append(" ".join(map(str, [u] + items[4:])))
    (folder / "train.txt").write_text("\n".join(train) + "\n")
    (folder / "test.txt").write_text("\n".join(test) + "\n")
    ckpt, out = tmp_path / "mine.pt", tmp_path / "mine.json"
    assert main(["train", "rec", "--dataset", str(folder), "--model", "mf", "--epochs", "2", "--quiet"]) == 2
    assert "--val-fraction" in capsys.readouterr().err  # 4 training items a user: none held out at 0.1
    assert main(["train", "rec", "--dataset", str(folder), "--model", "mf", "--epochs", "2", "--checkpoint",
                 str(ckpt), "--json", str(out), "--val-fraction", "0.25", "--quiet"]) == 0
    summary = json.loads(out.read_text())
    assert summary["dataset"] == str(folder) and 0 <= summary["recall@20"] <= 1
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(ckpt), "--user", "7", "--k", "4", "--json"]) == 0
    items = [row["item"] for row in json.loads(capsys.readouterr().out)["items"]]
    mine = set(map(int, train[7].split()[1:])) | set(map(int, test[7].split()[1:]))
    assert len(items) == 4 and not set(items) & mine
    # <root>/<name>/raw/ as for the catalogued datasets
    assert main(["train", "rec", "--dataset", "mine", "--root", str(tmp_path.parent), "--model", "pop", "--quiet"]) == 2
    raw = tmp_path / "root" / "mine" / "raw"
    raw.mkdir(parents=True)
    for f in ("train.txt", "test.txt"):
        (raw / f).write_text((folder / f).read_text())
    capsys.readouterr()
    assert main(["train", "rec", "--dataset", "mine", "--root", str(tmp_path / "root"), "--model", "pop",
                 "--val-fraction", "0.25", "--json", "-", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["dataset"] == "mine"
    (folder / "test.txt").unlink()
    assert main(["train", "rec", "--dataset", str(folder), "--epochs", "1", "--quiet"]) == 2
    assert "has no test.txt" in capsys.readouterr().err
    assert main(["train", "rec", "--dataset", "nosuch", "--root", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nosuch'" in err and "ml-100k" in err and "train.txt" in err


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


def _recommend_four_new_items(checkpoint, capsys, model: str) -> dict:
    """``gnnkit recommend --index 5 --k 4 --json`` on ``checkpoint``: four distinct items the user has not seen."""
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(checkpoint), "--index", "5", "--k", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    state = load_checkpoint(checkpoint)["export"]
    seen = set(state["seen_items"][state["seen_rowptr"][5]:state["seen_rowptr"][6]].tolist())
    items = [row["index"] for row in out["items"]]
    assert out["model"] == model and len(set(items)) == 4 and not seen & set(items)
    return out


def test_gfcf_from_the_command_line_and_recommend(data_root, tmp_path, capsys):
    dataset_dir(data_root, "ml-100k")
    assert main(["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "gfcf",
                 "--json", str(tmp_path / "g.json"), "--checkpoint", str(tmp_path / "g.pt"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "g.json").read_text())
    assert summary["epochs_run"] == 0 and summary["recall@20"] > 0.25  # popularity: ~0.17
    out = _recommend_four_new_items(tmp_path / "g.pt", capsys, "gfcf")
    scores = [row["score"] for row in out["items"]]
    assert scores == sorted(scores, reverse=True)


def test_bspm_from_the_command_line_keeps_its_options_and_recommends_by_its_scores(data_root, tmp_path, capsys):
    from gnnkit.nn.models.bspm import BSPM

    dataset_dir(data_root, "ml-100k")
    assert main(["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "bspm", "--svd-k", "64",
                 "--sharpen-time", "1.0", "--sharpen-steps", "2", "--json", str(tmp_path / "b.json"),
                 "--checkpoint", str(tmp_path / "b.pt"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "b.json").read_text())
    assert (summary["k"], summary["alpha"], summary["sharpen_time"], summary["sharpen_steps"]) == (64, 0.2, 1.0, 2)
    assert summary["epochs_run"] == 0 and summary["recall@20"] > 0.25  # popularity: ~0.17
    out = _recommend_four_new_items(tmp_path / "b.pt", capsys, "bspm")
    # recommend rebuilds the same filter (a BSPM, not a GF-CF) from the checkpoint
    model = BSPM.from_export(load_checkpoint(tmp_path / "b.pt")["export"]["gfcf"])
    assert (model.k, model.sharpen_time, model.sharpen_steps, model.solver) == (64, 1.0, 2, "rk4")
    want = model.scores(torch.tensor([5]))[0]
    for row in out["items"]:
        assert row["score"] == pytest.approx(float(want[row["index"]]), rel=1e-5)


def test_several_seeds_report_mean_and_std_and_write_one_checkpoint_per_seed(data_root, tmp_path, capsys):
    dataset_dir(data_root, "ml-100k")
    ckpt, csv, out = tmp_path / "m.pt", tmp_path / "m.csv", tmp_path / "m.json"
    args = ["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "mf", "--epochs", "2",
            "--eval-every", "1", "--seeds", "2", "--seed", "3", "--checkpoint", str(ckpt), "--log-csv", str(csv),
            "--json", str(out), "--quiet"]
    assert main(args) == 0
    summary = json.loads(out.read_text())
    runs = summary["per_seed"]
    assert summary["seeds"] == 2 and [r["seed"] for r in runs] == [3, 4]
    assert runs[0]["recall@20"] != runs[1]["recall@20"]  # the seeds train different models
    values = [r["recall@20"] for r in runs]
    assert summary["recall@20"] == pytest.approx(sum(values) / 2)
    assert summary["recall@20_std"] == pytest.approx(abs(values[0] - values[1]) / 2)
    assert summary["seconds"] == pytest.approx(sum(r["seconds"] for r in runs))
    for k in range(2):
        assert load_checkpoint(tmp_path / f"m-seed{k}.pt")["export"] is not None
        assert (tmp_path / f"m-seed{k}.csv").read_text().count("\n") == 3  # header and two epochs
    assert not ckpt.exists() and not csv.exists()
    # --resume names the run's PATH: its seeds' files are what must exist
    capsys.readouterr()
    assert main([*args[:-1], "--resume", str(ckpt), "--quiet"]) == 0
    assert json.loads(out.read_text())["per_seed"][1]["recall@20"] == runs[1]["recall@20"]
    assert main([*args[:-1], "--resume", str(tmp_path / "other.pt"), "--quiet"]) == 2
    assert "other-seed0.pt" in capsys.readouterr().err


@pytest.mark.parametrize("flags,message", [
    (["--model", "bspm", "--sharpen-steps", "0"], "--sharpen-steps must be between 1 and 1000"),
    (["--model", "bspm", "--sharpen-time=-1"], "--sharpen-time must be a finite time >= 0"),
    (["--model", "gfcf", "--svd-k", "-3"], "--svd-k must be >= 0"),
    (["--model", "bspm", "--alpha=-0.5"], "--alpha must be a finite weight >= 0"),
    (["--model", "mf", "--sharpen-time", "1"], "--sharpen-time is an option of --model bspm, not of --model mf"),
    (["--model", "gfcf", "--sharpen-steps", "2"], "--sharpen-steps is an option of --model bspm, not of --model gfcf"),
    (["--svd-k", "64"], "--svd-k is an option of --model gfcf and bspm, not of --model lightgcn"),
    (["--model", "gfcf", "--log-csv", "x.csv"], "--model gfcf has nothing to train (no epochs to log or stop), "
                                                "so --log-csv does not apply"),
    (["--model", "pop", "--epochs", "5"], "--model pop has nothing to train"),
    (["--model", "bspm", "--lr", "0.1"], "so --lr does not apply"),
])
def test_graph_filter_flags_are_checked_by_their_command_line_names(tmp_path, capsys, flags, message):
    # checked before any data is read: the root is empty
    assert main(["train", "rec", "--dataset", "ml-100k", "--root", str(tmp_path), "--no-download", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gnnkit: error: ") and message in err and err.count("\n") == 1


def test_ultragcn_from_the_command_line_and_recommend(data_root, tmp_path, capsys):
    from gnnkit.train.rec import MODEL_DEFAULTS

    dataset_dir(data_root, "ml-100k")
    assert main(["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "ultragcn",
                 "--epochs", "2", "--json", str(tmp_path / "u.json"), "--checkpoint", str(tmp_path / "u.pt"),
                 "--quiet"]) == 0
    summary = json.loads((tmp_path / "u.json").read_text())
    assert summary["model"] == "ultragcn" and summary["epochs_run"] == 2
    assert summary["lr"] == MODEL_DEFAULTS["ultragcn"]["lr"]
    assert load_checkpoint(tmp_path / "u.pt")["model"]["kind"] == "ultragcn"
    _recommend_four_new_items(tmp_path / "u.pt", capsys, "ultragcn")


def test_recommend_refuses_a_user_without_interactions(trained, tmp_path, capsys):
    from gnnkit.io import save_verified

    state = load_checkpoint(trained / "ml.pt")
    state["export"]["seen_rowptr"][1] = 0  # user 0's items now count as user 1's
    save_verified(tmp_path / "cold.pt", state, kind="gnnkit.rec")
    assert main(["recommend", "--checkpoint", str(tmp_path / "cold.pt"), "--user", "1"]) == 2
    err = capsys.readouterr().err
    assert "user 1 (index 0) has no training interactions" in err and "--model pop" in err


def test_recommend_refuses_a_checkpoint_of_another_task(tmp_path, capsys):
    from gnnkit.io import save_verified

    save_verified(tmp_path / "node.pt", {"format": "gnnkit.node/2", "task": "node", "model_state": {}},
                  kind="gnnkit.node")
    assert main(["recommend", "--checkpoint", str(tmp_path / "node.pt"), "--user", "0"]) == 2
    err = capsys.readouterr().err
    assert "`gnnkit train node`" in err and "not by `gnnkit train rec`" in err


def test_recommend_on_lastfm_takes_the_files_one_based_ids(data_root, tmp_path, capsys):
    """lastfm numbers users and items from 1 (data1.txt): --user 1 is the first user, items print 1-based."""
    dataset_dir(data_root, "lastfm")
    assert main(["train", "rec", "--dataset", "lastfm", "--root", str(data_root), "--model", "pop",
                 "--checkpoint", str(tmp_path / "fm.pt"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(tmp_path / "fm.pt"), "--user", "1", "--k", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["user"] == 1 and out["index"] == 0
    assert [r["item"] for r in out["items"]] == [r["index"] + 1 for r in out["items"]]
    mine = {int(f[1]) for f in (line.split() for line in
            (data_root / "lastfm" / "raw" / "data1.txt").read_text().splitlines()) if f and f[0] == "1"}
    assert mine and not mine & {r["item"] for r in out["items"]}  # user 1's own artists are left out
    assert main(["recommend", "--checkpoint", str(tmp_path / "fm.pt"), "--user", "0"]) == 2
    assert "user 0 is not in lastfm: lastfm's user ids run 1, 2, 3 … 1892" in capsys.readouterr().err


def test_train_rec_resume(data_root, tmp_path, capsys):
    # --resume continues the run saved in a checkpoint (the file --checkpoint wrote), and is an error when missing
    dataset_dir(data_root, "ml-100k")
    ckpt = tmp_path / "r.pt"
    base = ["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "mf", "--eval-every", "1",
            "--quiet"]
    assert main(base + ["--epochs", "2", "--checkpoint", str(ckpt)]) == 0
    capsys.readouterr()
    assert main(base + ["--epochs", "3", "--resume", str(ckpt), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs_run"] == 3
    assert main(base + ["--resume", str(tmp_path / "none.pt")]) == 2
    assert "no such checkpoint file" in capsys.readouterr().err
    assert main(base + ["--resume", str(ckpt), "--checkpoint", str(tmp_path / "other.pt")]) == 2
    assert "name different files" in capsys.readouterr().err
    assert main(["recommend", "--checkpoint", str(ckpt), "--user", "1", "--k", "2", "--json"]) == 0


def test_ks_sets_the_cut_offs_and_a_too_large_k_names_the_option(tmp_path, capsys):
    data = tmp_path / "small"
    data.mkdir()
    (data / "train.txt").write_text("".join(f"{u} " + " ".join(str((u + j) % 12) for j in range(8)) + "\n" for u in range(10)))
    (data / "test.txt").write_text("".join(f"{u} {(u + 9) % 12}\n" for u in range(10)))
    base = ["train", "rec", "--dataset", str(data), "--model", "pop", "--quiet"]
    assert main(base) == 2  # the default cut-off 20 exceeds 12 items
    assert "--ks" in capsys.readouterr().err
    assert main([*base, "--ks", "5", "2", "--json", "-"]) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert {"recall@2", "recall@5", "ndcg@5"} <= set(summary) and "recall@20" not in summary
    assert "recall@5" in out.err and "recall@2" in out.err


@pytest.mark.parametrize("model", ["gfcf", "pop", "mf"])
def test_a_user_with_no_training_item_is_not_graded_by_tie_order(tmp_path, capsys, model):
    """User 40 has test items (the lowest ids, which all-equal scores would
    rank first) and no training item: skipped and counted, for every model."""
    data = tmp_path / "cold"
    data.mkdir()
    (data / "train.txt").write_text("".join(f"{u} " + " ".join(str((u + j) % 30) for j in range(10)) + "\n"
                                            for u in range(40)) + "40\n")
    (data / "test.txt").write_text("".join(f"{u} {(u + 12) % 30}\n" for u in range(40)) + "40 0 1 2\n")
    epochs = ["--epochs", "1"] if model == "mf" else []  # (gfcf and pop train nothing: --epochs is an error there)
    assert main(["train", "rec", "--dataset", str(data), "--model", model, *epochs, "--json", "-",
                 "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["num_users"], summary["cold_users"], summary["skipped_users"]) == (40, 1, 1)


def test_resume_with_more_seeds_than_were_saved_names_the_missing_file(tmp_path, capsys):
    data = tmp_path / "mine"
    data.mkdir()
    (data / "train.txt").write_text("".join(f"{u} " + " ".join(str((u + j) % 12) for j in range(8)) + "\n"
                                            for u in range(10)))
    (data / "test.txt").write_text("".join(f"{u} {(u + 9) % 12}\n" for u in range(10)))
    ck = tmp_path / "m.pt"
    base = ["train", "rec", "--dataset", str(data), "--model", "mf", "--epochs", "1", "--eval-every", "1", "--ks", "2",
            "--quiet"]
    assert main([*base, "--seeds", "2", "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    assert main([*base, "--seeds", "3", "--resume", str(ck)]) == 2
    err = capsys.readouterr().err
    assert "m-seed2.pt, seed 2" in err and f"--checkpoint {ck}" in err
    assert not (tmp_path / "m-seed2.pt").exists()


def test_recommend_from_a_python_api_checkpoint_uses_its_ids_and_leaves_out_test_items(data_root, tmp_path,
                                                                                       capsys):
    from gnnkit.datasets import load
    from gnnkit.train import Engine, OptimConfig, RunConfig, StopConfig
    from gnnkit.train.tasks.rec import RecConfig, RecTask, build_model

    dataset_dir(data_root, "ml-100k")
    data = load("ml-100k", root=data_root, download=False)
    torch.manual_seed(0)
    model = build_model("mf", data.num_users, data.num_items, embedding_dim=8)
    ck = tmp_path / "api.pt"
    Engine(RecTask(model, data, RecConfig()), OptimConfig(lr=0.01), StopConfig(epochs=1),
           RunConfig(progress=False, checkpoint=str(ck))).fit()
    rated = {}
    for line in (data_root / "ml-100k" / "raw" / "u.data").read_text().splitlines():
        u, i = map(int, line.split()[:2])
        rated.setdefault(u, set()).add(i)
    capsys.readouterr()
    # old: --index printed internal indices as the dataset's ids ("item 99 Fargo", whose id is 100) and
    # recommended the user's test items (held out from training, but rated)
    assert main(["recommend", "--checkpoint", str(ck), "--index", "0", "-k", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["user"] == 1 and out["already_seen"] == len(rated[1])
    assert not {r["item"] for r in out["items"]} & rated[1]
    assert all(r["item"] == r["index"] + 1 for r in out["items"])


def test_a_user_id_of_thousands_of_digits_is_said_briefly(trained, capsys):
    capsys.readouterr()
    # old: Python's "Exceeds the limit (4300 digits) for integer string conversion"
    assert main(["recommend", "--checkpoint", str(trained / "ml.pt"), "--user", "9" * 5000]) == 2
    err = capsys.readouterr().err
    assert "user id of 5000 digits is not in ml-100k" in err and "4300" not in err
