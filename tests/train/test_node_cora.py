"""GCN on the real Cora (public split): accuracy and bf16 autocast."""
from __future__ import annotations

import pytest
import torch
from gnnkit_testing import dataset_dir

from gnnkit.train.node import PAPER_DEFAULTS, NodeClassificationTrainer, NodeTrainConfig, build_model, prepare_graph

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def cora(data_root):
    from gnnkit.datasets import load

    dataset_dir(data_root, "cora")
    return load("cora", root=data_root, download=False, progress=False)


def _gcn(graph, amp=None):
    d = PAPER_DEFAULTS["gcn"]
    config = NodeTrainConfig(epochs=d["epochs"], lr=d["lr"], weight_decay=d["weight_decay"], patience=d["patience"],
                             weight_decay_layers=d["weight_decay_layers"], amp=amp, seed=0, quiet=True,
                             dataset="cora")
    prepared = prepare_graph(graph, config)
    model = build_model("gcn", prepared, config, hidden_channels=d["hidden"], dropout=d["dropout"])
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return NodeClassificationTrainer(model, prepared, config).fit()
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def fp32(cora):
    return _gcn(cora)


def test_gcn_paper_protocol_on_cora(fp32):
    assert fp32.test_accuracy >= 0.78
    assert 10 < fp32.epochs_run <= 200


def test_bf16_autocast_within_one_point_of_fp32(cora, fp32):
    bf16 = _gcn(cora, amp="bf16")
    assert abs(bf16.test_accuracy - fp32.test_accuracy) <= 0.01
