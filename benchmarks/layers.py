"""Forward + backward of one graph layer: gnnkit against PyTorch Geometric, same process.

For each layer (GCNConv, SAGEConv, GATConv; SAGEConv with ``aggr="max"``
(``sage-max``); a bipartite SAGEConv from all nodes to a quarter of them
(``sage-bip``); APPNP with K = 10, alpha = 0.1 (``appnp``, gradient for ``x``);
GCN2Conv, the GCNII layer (``gcn2``); RGCNConv with ``RELATIONS`` edge types
drawn uniformly, full weight matrices (``rgcn``) and 4 bases (``rgcn-basis``),
against PyG's ``RGCNConv``, which has no ``torch.sparse`` input) it times a
forward and a backward pass on a synthetic power-law graph for

* gnnkit, called with ``edge_index`` (the layer builds its CSR once per graph),
* PyG called with ``edge_index`` (gather / scatter messages),
* PyG called with a ``torch.sparse`` CSR adjacency (its SpMM path),
* with ``--compile``, gnnkit's layer under ``torch.compile`` (inductor), given
  the same ``edge_index`` after one eager call,

runs the contenders in alternation (median and min of ``--repeats``), and measures each
one's step peak memory in a fresh process, after one warm-up step has built
every cache: the peak of bytes allocated above what was held before the step
(torch's allocator events on CPU, ``max_memory_allocated`` on CUDA; the same
for every contender, and unlike RSS not blurred by when malloc returns memory). Layers are built with their defaults (``cached=False`` for GCNConv: the
normalisation is recomputed on every call by both libraries).

    python benchmarks/layers.py                 # 100k nodes, 2M edges, 64 features
    python benchmarks/layers.py --quick         # small smoke run
    python benchmarks/layers.py --threads 1 --layers appnp,gcn2 --no-memory
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import (environment, peak_allocated_during, run_isolated, skewed_graph, table,  # noqa: E402
                               time_alternating)

LAYERS = ("gcn", "sage", "gat", "sage-max", "sage-bip", "appnp", "gcn2", "rgcn", "rgcn-basis")
CONTENDERS = ("gnnkit", "pyg", "pyg-csr")
RELATIONS = 8  # edge types of the rgcn layers


def contenders_of(layer: str, compiled: bool) -> tuple[str, ...]:
    """The contenders a layer is timed for (PyG's RGCNConv takes no torch.sparse adjacency)."""
    base = CONTENDERS if not layer.startswith("rgcn") else ("gnnkit", "pyg")
    return base + (("gnnkit-compiled",) if compiled else ())


def edge_types(num_edges: int, device) -> torch.Tensor:
    """The rgcn layers' relation of each edge: uniform over ``RELATIONS``, seeded."""
    return torch.randint(0, RELATIONS, (num_edges,), generator=torch.Generator().manual_seed(1)).to(device)


def build(layer: str, contender: str, features: int, heads: int):
    """The layer object and the graph argument it is called with."""
    if contender == "gnnkit":
        import gnnkit.nn as lib
    else:
        import torch_geometric.nn as lib
    if layer == "gcn":
        return lib.GCNConv(features, features)
    if layer == "sage":
        return lib.SAGEConv(features, features)
    if layer == "sage-max":
        return lib.SAGEConv(features, features, aggr="max")
    if layer == "sage-bip":
        return lib.SAGEConv((features, features), features)
    if layer == "appnp":
        return lib.APPNP(K=10, alpha=0.1)
    if layer == "gcn2":
        return lib.GCN2Conv(features, alpha=0.1, theta=0.5, layer=1)
    if layer.startswith("rgcn"):
        conv = __import__("gnnkit.nn.conv", fromlist=["RGCNConv"]) if contender == "gnnkit" else lib
        return conv.RGCNConv(features, features, RELATIONS, num_bases=4 if layer == "rgcn-basis" else None)
    return lib.GATConv(features, features // heads, heads=heads)


def graph_argument(contender: str, edge_index: torch.Tensor, size: tuple[int, int]):
    """``edge_index``, or for ``pyg-csr`` the ``torch.sparse`` CSR ``[targets, sources]``."""
    if contender == "pyg-csr":
        # PyG's sparse input is adj_t[i, j] for edge j -> i, i.e. target-major.
        from torch_geometric.utils import to_torch_csr_tensor

        return to_torch_csr_tensor(edge_index.flip(0), size=(size[1], size[0]))
    return edge_index


def step_fn(layer: str, contender: str, x: torch.Tensor, edge_index: torch.Tensor, heads: int):
    torch.manual_seed(0)
    compiled = contender == "gnnkit-compiled"
    if compiled:
        contender = "gnnkit"
    module = build(layer, contender, x.size(1), heads).to(x.device)
    n = x.size(0)
    if layer == "sage-bip":  # sources: every node; targets: the first quarter
        targets = max(n // 4, 1)
        edge_index = torch.stack([edge_index[0], edge_index[1] % targets])
        adj, inputs = graph_argument(contender, edge_index, (n, targets)), ((x, x[:targets]),)
    elif layer == "gcn2":
        adj, inputs = graph_argument(contender, edge_index, (n, n)), (x, x)
    else:
        adj, inputs = graph_argument(contender, edge_index, (n, n)), (x,)
    if layer == "appnp":  # no parameters: time the gradient for x
        inputs = (x.detach().requires_grad_(),)
    extra = (edge_types(edge_index.size(1), x.device),) if layer.startswith("rgcn") else ()
    call = module
    if compiled:
        module(*inputs, adj, *extra)  # one eager call builds the layer's CSR, so the compiled call is one graph
        call = torch.compile(module)

    def step() -> None:
        module.zero_grad(set_to_none=True)
        for t in inputs:
            if isinstance(t, torch.Tensor):
                t.grad = None
        call(*inputs, adj, *extra).sum().backward()

    return step


def worker(args: argparse.Namespace) -> None:
    """Measure one contender's peak memory in this (fresh) process; print JSON."""
    torch.set_num_threads(args.threads or torch.get_num_threads())
    ei = skewed_graph(args.nodes, args.edges, device=args.device)
    x = torch.randn(args.nodes, args.features, device=args.device)
    step = step_fn(args.layer, args.contender, x, ei, args.heads)
    step()  # build caches, as every later call finds them
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = peak_allocated_during(step)
    print(json.dumps({"peak_bytes": peak}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--edges", type=int, default=2_000_000)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--heads", type=int, default=4, help="GAT heads (features are split across them)")
    p.add_argument("--layers", default=",".join(LAYERS), help=f"comma-separated subset of {','.join(LAYERS)}")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    p.add_argument("--quick", action="store_true", help="10k nodes, 200k edges, 3 repeats")
    p.add_argument("--compile", action="store_true",
                   help="also time gnnkit's layer under torch.compile (inductor), given the same edge_index")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--worker", nargs=2, metavar=("LAYER", "CONTENDER"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.nodes, args.edges, args.repeats = 10_000, 200_000, 3
    if args.worker:
        args.layer, args.contender = args.worker
        return worker(args)
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"graph: {args.nodes:,} nodes, {args.edges:,} edges (power-law), {args.features} features; {args.device}")
    print(environment())
    ei = skewed_graph(args.nodes, args.edges, device=args.device)
    x = torch.randn(args.nodes, args.features, device=args.device)
    rows, results = [], []
    for layer in args.layers.split(","):
        contenders = contenders_of(layer, args.compile)
        fns = {c: step_fn(layer, c, x, ei, args.heads) for c in contenders}
        times = time_alternating(fns, repeats=args.repeats, device=args.device, with_min=True)
        memory = {}
        if not args.no_memory:
            common = ["--nodes", str(args.nodes), "--edges", str(args.edges), "--features", str(args.features),
                      "--heads", str(args.heads), "--device", args.device, "--threads", str(args.threads)]
            for c in contenders:
                memory[c] = run_isolated(__file__, common + ["--worker", layer, c])["peak_bytes"]
        for c in contenders:
            mem = memory.get(c)
            median, fastest = times[c]
            rows.append([
                layer, c, f"{median * 1000:.0f}", f"{fastest * 1000:.0f}",
                f"{median / times['gnnkit'][0]:.2f}x" if c != "gnnkit" else "1.00x",
                "-" if mem is None else f"{mem / 2**20:.0f}",
                # a contender that allocated nothing during the step has no ratio
                "-" if mem is None or c == "gnnkit" or mem == 0 else f"{memory['gnnkit'] / mem:.2f}",
            ])
            results.append({"layer": layer, "contender": c, "seconds": median, "min_seconds": fastest,
                            "peak_bytes": mem})
    print(table(rows, ["layer", "library / input", "fwd+bwd ms (median)", "min ms", "time vs gnnkit",
                       "step peak MiB", "gnnkit mem / this"]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "environment": environment(), "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
