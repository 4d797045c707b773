"""An option the chosen model, mode or loss does not use is one clear error:
it used to be ignored and recorded in the run's JSON as if it had been used.
Checked before any data is read (the data root here is empty)."""
import pytest

from gnnkit.cli import main

CASES = [
    (["rec", "--model", "mf", "--layers", "2"], "--layers is an option of --model lightgcn and ngcf"),
    (["rec", "--model", "ultragcn", "--layers", "2"], "not of --model ultragcn"),
    (["rec", "--ks", "5", "5"], "--ks lists a cut-off twice"),
    (["link", "--loss", "dense", "--neg-ratio", "3"], "--neg-ratio sets the sampled negatives"),
    (["link", "--fanout", "5,5"], "--fanout applies to --mode minibatch"),
    (["link", "--batch-size", "64"], "--batch-size applies to --mode minibatch"),
    (["link", "--mode", "minibatch", "--fanout", "5,5,5"], "gives 3 hop(s), but the link encoders have 2 layers"),
    (["link", "--features", "embedding", "--feature-norm", "row"], "--features embedding learns a vector per node"),
    (["kg", "--loss", "ce", "--margin", "3"], "--margin applies to --loss nssa / margin, not --loss ce"),
    (["kg", "--loss", "ce", "--negatives", "5"], "--negatives applies to --loss nssa / margin"),
    (["kg", "--loss", "nssa", "--label-smoothing", "0.5"], "--label-smoothing applies to --loss ce / bce"),
    (["kg", "--loss", "margin", "--adversarial-temperature", "0.5"], "--adversarial-temperature applies to --loss nssa"),
    (["kg", "--filter-negatives"], "--filter-negatives applies to --loss nssa / margin"),
    (["node", "--weight-decay-layers", "all", "--weight-decay-rest", "1"], "with --weight-decay-layers all"),
    (["node", "--fanout", "5,5"], "--fanout applies to --mode minibatch"),
    (["node", "--batch-size", "64"], "--batch-size applies to --mode minibatch"),
    (["node", "--inference-batch-size", "64"], "--inference-batch-size applies to --mode minibatch"),
    (["node", "--features", "structural", "--no-normalize-features"], "--features structural are never row-"),
    (["node", "--features", "embedding", "--no-normalize-features"], "--features embedding are never row-"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_an_option_that_does_not_apply_is_an_error(tmp_path, capsys, argv, message):
    task, *flags = argv
    assert main(["train", task, "--dataset", "nosuch", "--root", str(tmp_path), "--no-download", "--quiet",
                 *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gnnkit: error: ") and message in err and err.count("\n") == 1


def test_degenerate_data_is_said_as_a_warning(tmp_path, capsys):
    import warnings

    one_class = tmp_path / "sc"
    one_class.mkdir()
    (one_class / "edges.csv").write_text("id_1,id_2\n0,1\n1,2\n2,3\n3,0\n")
    (one_class / "target.csv").write_text("id,target\n0,1\n1,1\n2,1\n3,1\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["train", "node", "--dataset", str(one_class), "--epochs", "1", "--split", "0.5", "0.25", "0.25",
                     "--seeds", "2", "--quiet"]) == 0
    said = [str(w.message) for w in caught if "every labelled node has class 1" in str(w.message)]
    assert len(said) == 1  # once, not once per seed
    unseen = tmp_path / "uu"
    unseen.mkdir()
    (unseen / "train.txt").write_text("0 0 1\n1 1 2\n2 0 2\n")
    (unseen / "test.txt").write_text("0 3\n1 4\n2 3\n")
    with pytest.warns(UserWarning, match="none of the 3 test interactions is with an item that occurs in training"):
        assert main(["train", "rec", "--dataset", str(unseen), "--epochs", "1", "--ks", "1", "--val-fraction", "0.4",
                     "--quiet"]) == 0


@pytest.mark.parametrize("flag", ["--checkpoint", "--json", "--log-csv", "--resume"])
def test_an_empty_path_is_named(tmp_path, capsys, flag):
    assert main(["train", "node", "--dataset", "karate", "--epochs", "1", flag, "", "--quiet"]) == 2
    assert f"{flag} is empty; pass a file path" in capsys.readouterr().err


def test_library_log_warnings_are_cli_lines(data_root, capsys, monkeypatch):
    import gnnkit.datasets.loader as loader
    from gnnkit_testing import dataset_dir

    dataset_dir(data_root, "lastfm-asia")
    monkeypatch.setattr(loader, "_WARNED_FEATURELESS", set())  # said once per process: whatever ran before
    assert main(["train", "node", "--dataset", "lastfm-asia", "--root", str(data_root), "--features", "given",
                 "--quiet"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("gnnkit: warning: dataset 'lastfm-asia': x is None") and len(lines) == 2
