"""The demo job: a GCN on Zachary's karate club, end to end in a second,
through the same engine as ``gnnkit train node``."""
from __future__ import annotations

import time

import torch

from gnnkit.datasets.loader import karate
from gnnkit.graph import Graph
from gnnkit.train.node import NodeClassificationTrainer, NodeTrainConfig, build_model, prepare_graph


def karate_graph() -> Graph:
    """Zachary's karate club (``gnnkit.datasets.load("karate")``): four
    labelled members per club for training, the next two per club for
    validation, and the other 22 for test."""
    graph = karate()
    train = torch.zeros(graph.num_nodes, dtype=torch.bool)
    val = torch.zeros(graph.num_nodes, dtype=torch.bool)
    for club in (0, 1):
        members = (graph.y == club).nonzero().flatten()
        train[members[:4]] = True
        val[members[4:6]] = True
    return graph.replace(train_mask=train, val_mask=val, test_mask=~(train | val))


def karate_demo(epochs: int = 100, seed: int = 0, quiet: bool = False) -> dict:
    """Train a 2-layer GCN (hidden 16, the GCN paper's optimiser settings)
    for ``epochs`` epochs, no early stopping; returns the test accuracy,
    the number of test members and the seconds taken."""
    config = NodeTrainConfig(epochs=epochs, patience=None, restore_best=False, seed=seed, quiet=quiet,
                             lr=0.01, weight_decay=5e-4, dataset="karate")
    graph = prepare_graph(karate_graph(), config)
    model = build_model("gcn", graph, config, hidden_channels=16)
    start = time.perf_counter()
    result = NodeClassificationTrainer(model, graph, config).fit()
    return {
        "test_accuracy": result.test_accuracy,
        "num_test": int(graph.test_mask.sum()),
        "seconds": time.perf_counter() - start,
    }
