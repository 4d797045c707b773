"""Mini-batch training on a large synthetic graph: epoch time and peak memory (issue: scale).

Builds ``gnnkit.datasets.synthetic`` (power-law degrees, homophilous labels)
with ``--nodes`` nodes and ``--edges`` directed edges, then trains GraphSAGE
(or GCN) in mini-batches (``NeighborLoader``, fan-out ``--fanout``) for
``--epochs`` epochs: one epoch is one pass over the training nodes (60 %).
Reports seconds per epoch (sampling + training), the time of one evaluation
over all nodes (layer-wise, in blocks of 4096 target nodes), test accuracy,
and the process's peak resident memory.

    python benchmarks/scale.py                      # 1M nodes, 20M edges
    python benchmarks/scale.py --quick              # 100k nodes, 2M edges
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import environment, table  # noqa: E402


def peak_rss_gib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--edges", type=int, default=20_000_000, help="directed edges (half drawn, stored both ways)")
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--classes", type=int, default=8)
    p.add_argument("--model", default="sage", choices=("sage", "gcn"))
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--fanout", default="15,10")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.nodes, args.edges = 100_000, 2_000_000
    if args.threads:
        torch.set_num_threads(args.threads)
    from gnnkit.datasets import synthetic
    from gnnkit.train.node import NodeClassificationTrainer, NodeTrainConfig, build_model

    start = time.perf_counter()
    graph = synthetic(num_nodes=args.nodes, num_edges=args.edges // 2, num_features=args.features,
                      num_classes=args.classes, seed=0)
    build_s = time.perf_counter() - start
    print(f"graph: {graph.num_nodes:,} nodes, {graph.num_edges:,} edges, {args.features} features "
          f"(built in {build_s:.1f} s)")
    print(environment())
    fanout = tuple(int(k) for k in args.fanout.split(","))
    config = NodeTrainConfig(mode="minibatch", batch_size=args.batch_size, fanout=fanout, epochs=args.epochs,
                             patience=None, normalize_features=False, weight_decay_layers="all", lr=0.003)
    model = build_model(args.model, graph, config, hidden_channels=args.hidden, num_layers=len(fanout), dropout=0.0)
    trainer = NodeClassificationTrainer(model, graph, config)
    epoch_times: list[float] = []
    marks = [time.perf_counter()]

    def on_epoch(epoch: int, row: dict) -> None:
        marks.append(time.perf_counter())

    # fit() evaluates after every epoch; time the evaluation separately to split the two.
    t0 = time.perf_counter()
    trainer.evaluate(full=False)
    eval_s = time.perf_counter() - t0
    marks[0] = time.perf_counter()
    result = trainer.fit(callback=on_epoch)
    epoch_times = [b - a - eval_s for a, b in zip(marks[:-1], marks[1:])]
    rows = [[args.model, f"{graph.num_nodes:,}", f"{graph.num_edges:,}", args.fanout, args.batch_size,
             f"{sum(epoch_times) / len(epoch_times):.1f}", f"{eval_s:.1f}", f"{result.test_accuracy:.3f}",
             f"{peak_rss_gib():.2f}"]]
    print(table(rows, ["model", "nodes", "edges", "fan-out", "batch", "s / epoch (sample+train)",
                       "s / evaluation of all nodes", "test acc", "peak RSS GiB"]))


if __name__ == "__main__":
    main()
