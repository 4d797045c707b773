"""Cases from the fifth fuzz round: each was silently wrong, a traceback, or a misleading message."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from gnnkit import Graph
from gnnkit.cli import main
from gnnkit.cli.output import plain_int
from gnnkit.datasets import read_edge_list, read_musae
from gnnkit.nn.models.kge_losses import margin_ranking_loss
from gnnkit.ops import scatter
from gnnkit.train.tasks.node import NodeConfig


def _musae(folder, targets):
    folder.mkdir()
    (folder / "target.csv").write_text("id,target\n" + "".join(f"{i},{t}\n" for i, t in enumerate(targets)))
    (folder / "edges.csv").write_text("id_1,id_2\n0,1\n1,2\n2,3\n")
    return folder


@pytest.mark.parametrize("bad", ["inf", "-inf", "1e300", "99999999999999999999"])
def test_a_musae_target_that_is_no_class_id_is_named(tmp_path, bad):
    # each was cast to INT64_MIN, and the node silently became unlabelled
    folder = _musae(tmp_path / "m", [0, bad, 1, 0])
    with pytest.raises(ValueError, match=rf"target.csv, line 3: '{bad}' is not a finite target"):
        read_musae(folder)


def test_a_stray_huge_musae_class_id_is_named_with_its_line(tmp_path):
    folder = _musae(tmp_path / "m", [0, 1, 1099511627776, 0])
    with pytest.raises(ValueError, match=r"target.csv, line 4: target 1099511627776 would size an array"):
        read_musae(folder)


def test_a_first_row_of_other_scripts_digits_is_a_bad_row_not_a_header(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("１ ２\n0 1\n1 2\n", encoding="utf-8")  # fullwidth digits: dropped as a header before
    with pytest.raises(ValueError, match=r"line 1: '１' is not an integer node id"):
        read_edge_list(path)


@pytest.mark.parametrize("text", ["1\u00a0", "\u30001", "\u20031"])
def test_integer_options_take_ascii_spaces_only(text):
    with pytest.raises(argparse.ArgumentTypeError):
        plain_int(text)
    assert plain_int(" 7\t") == 7


def test_an_id_past_64_bits_is_not_in_the_dataset(tmp_path, capsys):
    edges = tmp_path / "e.txt"
    edges.write_text("".join(f"{i} {(i + 1) % 24}\n{i} {(i + 5) % 24}\n" for i in range(24)))
    ck = tmp_path / "l.pt"
    assert main(["train", "link", "--dataset", str(edges), "--epochs", "1", "--checkpoint", str(ck), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["suggest-friends", "--checkpoint", str(ck), "--node", "99999999999999999999"]) == 2
    assert "node 99999999999999999999 is not in the graph" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--root", "/tmp", "train", "kg"], ["--root=/tmp", "train", "kg"], ["--bogus"]])
def test_an_option_before_the_command_is_said_to_go_after_it(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert f"gnnkit: error: {argv[0]} is not an option of gnnkit itself: a command's options go after" in err


@pytest.mark.parametrize("n", ["3", np.True_, torch.tensor(True), 2**63, 10**400, 1e300, 3.5, float("nan"), 1 + 2j,
                               [3]])
def test_num_nodes_must_be_a_whole_number_that_fits(n):
    with pytest.raises(ValueError, match="num_nodes must be"):
        Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=n)


@pytest.mark.parametrize("n", [3, 3.0, np.int64(3), torch.tensor(3)])
def test_num_nodes_takes_whole_numbers_of_any_kind(n):
    assert Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=n).num_nodes == 3


@pytest.mark.parametrize("options", [{"per_class": 2.5}, {"per_class": "2"}, {"per_class": True},
                                     {"split": (float("nan"), 0.2, 0.2)}, {"split": "0.6"}, {"split": (0.6, 0.2)}])
def test_node_config_names_a_bad_split_or_per_class(options):
    with pytest.raises(ValueError, match=f"NodeConfig: {next(iter(options))} must be"):
        NodeConfig(**options)
    assert NodeConfig(per_class=np.int64(20)).per_class == 20


@pytest.mark.parametrize("reduce", ["sum", "max", "min", "mean"])
def test_deterministic_scatter_of_integers_and_bools(reduce):
    index = torch.tensor([0, 0, 1])
    for src in (torch.tensor([1, 2, 3]), torch.tensor([True, False, True])):
        assert scatter(src, index, 2, reduce, deterministic=True).tolist() == scatter(src, index, 2, reduce).tolist()


def test_margin_loss_averages_over_the_negatives_kept():
    kept = margin_ranking_loss(torch.tensor([1.0]), torch.tensor([[0.5, float("-inf")]]), 1.0)
    assert float(kept) == pytest.approx(0.5)  # one pair, not half of it spread over two


@pytest.mark.parametrize("value, wanted", [("0", False), ("false", False), ("OFF", False), ("no", False),
                                           ("1", True), ("yes", True)])
def test_retain_memory_switch_reads_the_usual_spellings(monkeypatch, value, wanted):
    from gnnkit.settings import retain_memory_wanted

    monkeypatch.setenv("GNNKIT_RETAIN_MEMORY", value)
    assert retain_memory_wanted() is wanted
