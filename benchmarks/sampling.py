"""Neighbour sampling throughput: gnnkit's NeighborLoader against PyG's, same graph, same fan-out.

Both loaders iterate over the same seed nodes with the same batch size and
fan-outs, without replacement; the figure is sampled nodes (sum of sub-graph
sizes) per second over a full pass, best of ``--repeats`` passes, run in
alternation. PyG's NeighborLoader needs pyg-lib or torch-sparse for its
sampling kernel; the table says which one ran (or that none could).

    python benchmarks/sampling.py                    # 1M nodes, 20M edges, fan-out 15,10
    python benchmarks/sampling.py --quick            # 100k nodes, 1M edges
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import environment, table  # noqa: E402


def gnnkit_pass(graph, fanout, batch_size, seeds) -> int:
    from gnnkit.sampling.neighbor import NeighborLoader

    loader = NeighborLoader(graph, fanout, batch_size=batch_size, input_nodes=seeds, shuffle=True, seed=0)
    return sum(b.graph.num_nodes for b in loader)


def pyg_pass(data, fanout, batch_size, seeds) -> int:
    from torch_geometric.loader import NeighborLoader

    loader = NeighborLoader(data, num_neighbors=fanout, batch_size=batch_size, input_nodes=seeds, shuffle=True)
    return sum(b.num_nodes for b in loader)


def pyg_backend() -> str:
    import torch_geometric.typing as t

    if t.WITH_PYG_LIB:
        return "pyg-lib"
    if t.WITH_TORCH_SPARSE:
        return "torch-sparse"
    return "none (needs pyg-lib or torch-sparse)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--edges", type=int, default=10_000_000, help="undirected edges (stored both ways)")
    p.add_argument("--fanout", default="15,10")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--seeds", type=int, default=50_000, help="seed nodes per pass")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: PyG's sampler is single-threaded C++)")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        args.nodes, args.edges, args.seeds, args.repeats = 100_000, 500_000, 10_000, 2
    from gnnkit.datasets.synthetic import synthetic

    fanout = [int(k) for k in args.fanout.split(",")]
    graph = synthetic(num_nodes=args.nodes, num_edges=args.edges, num_features=8, seed=0)
    seeds = torch.randperm(args.nodes, generator=torch.Generator().manual_seed(0))[: args.seeds]
    print(f"graph: {args.nodes:,} nodes, {graph.num_edges:,} directed edges; fan-out {fanout}, "
          f"batch {args.batch_size}, {args.seeds:,} seeds per pass")
    print(environment())
    graph.csr()  # both libraries get their CSR built before timing
    contenders = {"gnnkit": lambda: gnnkit_pass(graph, fanout, args.batch_size, seeds)}
    backend = pyg_backend()
    if not backend.startswith("none"):
        data = graph.to_pyg()
        pyg_pass(data, fanout, args.batch_size, seeds[: args.batch_size])  # builds PyG's CSC once
        contenders["pyg"] = lambda: pyg_pass(data, fanout, args.batch_size, seeds)
    best: dict[str, float] = {}
    nodes: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            nodes[name] = fn()
            rate = nodes[name] / (time.perf_counter() - start)
            best[name] = max(best.get(name, 0.0), rate)
    rows = [[name, f"{nodes[name]:,}", f"{best[name]:,.0f}", f"{best['gnnkit'] / best[name]:.2f}x"]
            for name in contenders]
    if "pyg" not in contenders:
        rows.append(["pyg", "-", "-", backend])
    print(f"PyG sampling backend: {backend}")
    print(table(rows, ["loader", "sampled nodes / pass", "sampled nodes / s (best)", "gnnkit speed-up"]))


if __name__ == "__main__":
    main()
