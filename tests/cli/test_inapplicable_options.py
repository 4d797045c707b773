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
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_an_option_that_does_not_apply_is_an_error(tmp_path, capsys, argv, message):
    task, *flags = argv
    assert main(["train", task, "--dataset", "nosuch", "--root", str(tmp_path), "--no-download", "--quiet",
                 *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gnnkit: error: ") and message in err and err.count("\n") == 1
