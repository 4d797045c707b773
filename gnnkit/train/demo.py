"""The demo job: a GCN on Zachary's karate club, end to end in a second."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from gnnkit.datasets.loader import karate
from gnnkit.graph import Graph
from gnnkit.nn import GCNConv
from gnnkit.train.metrics import accuracy
from gnnkit.train.runtime import seed_everything


def karate_graph() -> Graph:
    """Zachary's karate club (``gnnkit.datasets.load("karate")``) with four
    labelled members per club for training and the other 26 for test."""
    graph = karate()
    train = torch.zeros(graph.num_nodes, dtype=torch.bool)
    for club in (0, 1):
        train[(graph.y == club).nonzero().flatten()[:4]] = True
    return graph.replace(train_mask=train, test_mask=~train)


def karate_demo(epochs: int = 100, seed: int = 0, quiet: bool = False) -> dict:
    seed_everything(seed)
    graph = karate_graph()
    conv1, conv2 = GCNConv(graph.num_features, 16), GCNConv(16, 2)
    params = list(conv1.parameters()) + list(conv2.parameters())
    opt = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="GCN on karate", disable=quiet)
    for _ in bar:
        h = F.relu(conv1(graph.x, graph.edge_index))
        out = conv2(F.dropout(h, 0.5), graph.edge_index)
        loss = F.cross_entropy(out[graph.train_mask], graph.y[graph.train_mask])
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    with torch.no_grad():
        out = conv2(F.relu(conv1(graph.x, graph.edge_index)), graph.edge_index)
    return {
        "test_accuracy": accuracy(out[graph.test_mask], graph.y[graph.test_mask]),
        "num_test": int(graph.test_mask.sum()),
        "seconds": time.perf_counter() - start,
    }
