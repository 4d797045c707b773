"""Same seed, same numbers: every `gnnkit train TASK` run twice on the CPU with one
seed gives bit-identical metrics and per-epoch logs, and another seed gives other ones.

Between the two runs the global random state is scrambled (torch, NumPy, Python),
so a run that read a generator it did not seed itself would differ; the run with
another seed shows the comparison could fail.
"""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from gnnkit.cli import main
from gnnkit_testing import dataset_dir, write_ring_triples


def _scramble_global_rng(k: int) -> None:
    torch.manual_seed(1000 + k)
    torch.rand(17)
    np.random.seed(2000 + k)
    random.seed(3000 + k)


def _timeless(value):
    """A result without its wall-clock entries (``seconds``, ``epoch_seconds`` ...)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if "second" not in k}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _run(argv: list[str], out: Path, seed: int, json_flag: str = "--json", csv_flag: str = "--log-csv") -> dict:
    """One training run; its JSON result and CSV log, without timings."""
    out.mkdir()
    assert main([*argv, "--seed", str(seed), "--device", "cpu", "--quiet", json_flag, str(out / "r.json"),
                 csv_flag, str(out / "log.csv")]) == 0
    with open(out / "log.csv", newline="") as f:
        log = [_timeless(row) for row in csv.DictReader(f)]
    return {"result": _timeless(json.loads((out / "r.json").read_text())), "log": log}


def _check(argv: list[str], tmp_path: Path, **flags) -> None:
    runs = []
    for k, seed in enumerate((0, 0, 1)):
        _scramble_global_rng(k)
        runs.append(_run(argv, tmp_path / f"run{k}", seed, **flags))
    first, again, other = runs
    assert len(first["log"]) >= 2
    assert again == first  # exactly: the same floats, not merely close ones
    assert other["log"] != first["log"]  # the seed matters, so the equality above could have failed


def test_train_node_is_deterministic(tmp_path):
    # GAT: dropout on features and attention, so every epoch draws random numbers
    _check(["train", "node", "--dataset", "karate", "--model", "gat", "--epochs", "4"], tmp_path)


def test_train_node_minibatch_is_deterministic(tmp_path):
    # sampled neighbourhoods and shuffled seed nodes on top of dropout
    _check(["train", "node", "--dataset", "karate", "--model", "sage", "--mode", "minibatch", "--batch-size", "8",
            "--fanout", "3,2", "--epochs", "3", "--split", "0.5", "0.25", "0.25"], tmp_path)


@pytest.mark.data
def test_train_rec_is_deterministic(tmp_path, data_root):
    dataset_dir(data_root, "ml-100k")
    # BPR negatives, batch order and the validation split carved from train all come from the seed
    _check(["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "lightgcn", "--epochs", "2",
            "--eval-every", "1"], tmp_path, csv_flag="--log-csv")


def test_train_link_is_deterministic(tmp_path):
    # the edge split, negatives drawn each epoch, dropout and VGAE's sampling
    _check(["train", "link", "--dataset", "karate", "--model", "vgae", "--epochs", "4"], tmp_path)


def test_train_kg_is_deterministic(tmp_path):
    write_ring_triples(tmp_path / "data" / "ring" / "raw")
    # sampled negatives with the self-adversarial loss, and shuffled batches
    _check(["train", "kg", "--dataset", "ring", "--root", str(tmp_path / "data"), "--model", "rotate", "--dim", "8",
            "--loss", "nssa", "--negatives", "4", "--batch-size", "8", "--epochs", "4", "--eval-every", "1",
            "--threads", "1"], tmp_path)
