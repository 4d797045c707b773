"""Data-parallel mini-batch training for real: several processes on 127.0.0.1 with gloo."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gnnkit.distributed import DistContext, init_distributed, shard

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_shard_gives_every_rank_the_same_number_of_items():
    items = torch.arange(103)
    parts = [shard(items, DistContext(rank=r, world_size=4)) for r in range(4)]
    assert all(p.numel() == 25 for p in parts)
    assert len(set(torch.cat(parts).tolist())) == 100  # disjoint
    assert torch.equal(shard(items, DistContext()), items)
    with pytest.raises(ValueError, match="cannot be shared among 4 ranks"):
        shard(torch.arange(3), DistContext(rank=0, world_size=4))


def test_inconsistent_world_size_is_an_error(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(ValueError, match="inconsistent distributed environment: RANK=5, WORLD_SIZE=2"):
        init_distributed(torch.device("cpu"))
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="RANK='one' is not an integer"):
        init_distributed(torch.device("cpu"))


@pytest.mark.slow
def test_two_processes_train_cora_like_one(data_root, tmp_path):
    args = ["train", "node", "--dataset", "cora", "--root", str(data_root), "--model", "sage", "--mode", "minibatch",
            "--batch-size", "64", "--fanout", "10,5", "--epochs", "30", "--patience", "0", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GNNKIT_CACHE": str(tmp_path / "cache")}
    single = subprocess.run([sys.executable, "-m", "gnnkit", *args, "--json", str(tmp_path / "one.json")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    ckpt = tmp_path / "ddp.pt"
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                          "--master-addr", "127.0.0.1", "--master-port", str(free_port()), "-m", "gnnkit", *args,
                          "--json", str(tmp_path / "two.json"), "--checkpoint", str(ckpt)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    one = json.loads((tmp_path / "one.json").read_text())["test_accuracy_mean"]
    two = json.loads((tmp_path / "two.json").read_text())["test_accuracy_mean"]
    # each of 2 ranks takes half the seeds per epoch: the same 30 epochs make half as many steps
    assert one > 0.75 and two > 0.75  # GraphSAGE on Cora, 30 epochs (full-batch reaches ~0.80)
    assert abs(one - two) < 0.05
    assert ddp.stdout.count("test accuracy") == 1  # only rank 0 reports
    assert ckpt.is_file()  # and writes the checkpoint


WORKER = r'''
import os, sys, torch
from gnnkit.datasets import synthetic
from gnnkit.train.node import NodeClassificationTrainer, NodeTrainConfig, build_model

graph = synthetic(num_nodes=3000, num_edges=15000, num_features=8, seed=0)
config = NodeTrainConfig(mode="minibatch", batch_size=100, fanout=(5, 5), epochs=50, patience=None, quiet=True,
                         normalize_features=False, weight_decay_layers="all")
model = build_model("sage", graph, config, hidden_channels=16)
trainer = NodeClassificationTrainer(model, graph, config)

def die(epoch, row):
    if epoch == 2 and trainer.dist.rank == 1:
        os._exit(3)  # a crash: no goodbye to the others

trainer.fit(callback=die)
'''


@pytest.mark.slow
def test_a_dying_rank_makes_the_other_exit_with_a_clear_error(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    start = time.monotonic()
    try:
        _, err0 = procs[0].communicate(timeout=180)
    finally:
        for p in procs:
            p.kill()
    assert procs[1].wait() == 3
    assert procs[0].returncode != 0
    assert time.monotonic() - start < 180
    assert "another training process died or stopped answering" in err0


@pytest.mark.slow
def test_two_processes_train_lightgcn_and_rank_every_user(data_root, tmp_path):
    args = ["train", "rec", "--dataset", "ml-100k", "--root", str(data_root), "--model", "lightgcn", "--epochs", "10",
            "--eval-every", "5", "--lr", "0.005", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GNNKIT_CACHE": str(tmp_path / "cache")}
    single = subprocess.run([sys.executable, "-m", "gnnkit", *args, "--json", str(tmp_path / "one.json")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                          "--master-addr", "127.0.0.1", "--master-port", str(free_port()), "-m", "gnnkit", *args,
                          "--json", str(tmp_path / "two.json")], env=env, capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    one = json.loads((tmp_path / "one.json").read_text())
    two = json.loads((tmp_path / "two.json").read_text())
    # each rank ranked its share of the users; the gathered result covers all of them
    assert two["num_users"] == one["num_users"] == 943
    assert two["recall@20"] > 0.2 and abs(two["recall@20"] - one["recall@20"]) < 0.05
    assert ddp.stdout.count("recall@20") == 1  # only rank 0 reports
