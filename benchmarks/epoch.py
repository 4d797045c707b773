"""One full-batch GCN training epoch: gnnkit vs PyG, fp32 and bf16, time and peak memory.

A 2-layer GCN (``in → hidden → classes``, ReLU, cached normalisation) on a
synthetic skewed graph shaped like ogbn-products (2.4M nodes, 62M edges, 100
features, 47 classes) or Reddit (233k nodes, 115M edges, 602 features, 41
classes). An epoch is forward, cross-entropy on the training half, backward
and an Adam step. Contenders, each with the same weights:

* ``gnnkit``         — ``gnnkit.nn.GCNConv`` on ``edge_index`` (CSR built once, cached);
* ``pyg edge_index`` — ``torch_geometric.nn.GCNConv(cached=True)`` on ``edge_index``;
* ``pyg csr``        — the same PyG layer on a torch sparse-CSR ``adj_t``.

bf16 runs cast the model and features to bfloat16 (gnnkit accumulates its
aggregation in fp32). Peak memory is ``torch.cuda.max_memory_allocated`` on
CUDA; on CPU each contender runs in a fresh process and the figure is the
growth of its resident set at its peak. A contender that fails (e.g. out of
memory, or a dtype the peer lacks) is reported as such.

    python benchmarks/epoch.py --out results/epoch          # GPU, full sizes
    python benchmarks/epoch.py --quick --out /tmp/epoch      # smoke test, CPU
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import environment, peak_rss_during, run_isolated, skewed_graph, sync, table, write_results  # noqa: E402

GRAPHS = {  # name: (nodes, edges, features, classes)
    "products": (2_449_029, 61_859_140, 100, 47),
    "reddit": (232_965, 114_615_892, 602, 41),
}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
IMPLS = ("gnnkit", "pyg edge_index", "pyg csr")


class GCN(nn.Module):
    def __init__(self, conv, in_dim: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = conv(in_dim, hidden), conv(hidden, classes)

    def forward(self, x, graph):
        return self.conv2(F.relu(self.conv1(x, graph)), graph)


def make_case(graph: str, quick: bool, device: str, hidden: int):
    n, e, f, c = GRAPHS[graph]
    if quick:
        n, e = max(n // 100, 100), max(e // 1000, 1000)
    ei = skewed_graph(n, e, seed=0, device=device)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, f, generator=g).to(device)
    y = torch.randint(0, c, (n,), generator=g).to(device)
    train = (torch.rand(n, generator=g) < 0.5).to(device)
    return {"edge_index": ei, "x": x, "y": y, "train": train, "sizes": (n, e, f, c), "hidden": hidden}


def build(impl: str, case: dict, dtype: torch.dtype, device: str):
    n, _, f, c = case["sizes"]
    if impl == "gnnkit":
        from gnnkit.nn import GCNConv

        conv = lambda i, o: GCNConv(i, o, cached=True)  # noqa: E731
        graph = case["edge_index"]
    else:
        from torch_geometric.nn import GCNConv as PyGConv

        conv = lambda i, o: PyGConv(i, o, cached=True)  # noqa: E731
        graph = case["edge_index"]
        if impl == "pyg csr":
            # adj_t[i, j] for edge j -> i, as PyG expects for sparse input
            ei = case["edge_index"]
            graph = torch.sparse_coo_tensor(ei.flip(0), torch.ones(ei.size(1), device=device), (n, n))
            graph = graph.coalesce().to_sparse_csr()
    torch.manual_seed(0)
    model = GCN(conv, f, case["hidden"], c).to(device=device, dtype=dtype)
    return model, graph


def epoch_fn(model, graph, case, dtype):
    x = case["x"].to(dtype)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        out = model(x, graph)
        loss = F.cross_entropy(out[case["train"]].float(), case["y"][case["train"]])
        loss.backward()
        opt.step()

    return step


def measure(impl: str, graph: str, dname: str, quick: bool, device: str, hidden: int, epochs: int) -> dict:
    """Time and peak memory of one contender (run in this process)."""
    warnings.filterwarnings("ignore")
    case = make_case(graph, quick, device, hidden)
    dtype = DTYPES[dname]
    row = {"graph": graph, "sizes": case["sizes"], "dtype": dname, "impl": impl, "device": device}
    try:
        model, g = build(impl, case, dtype, device)
        step = epoch_fn(model, g, case, dtype)
        step()  # builds caches (CSR, normalisation), excluded from the timing
        times = []

        def loop():
            for _ in range(epochs):
                sync(device)
                start = time.perf_counter()
                step()
                sync(device)
                times.append(time.perf_counter() - start)

        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            loop()
            row["peak_mb"] = (torch.cuda.max_memory_allocated() - base) / 2**20
        else:
            row["peak_mb"] = peak_rss_during(loop) / 2**20
        row["ms"] = 1000 * statistics.median(times)
    except Exception as err:  # noqa: BLE001 - reported in the table
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        row["note"] = f"{type(err).__name__}: {str(err).splitlines()[0][:70]}"
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small graphs (smoke test, CPU-friendly)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--graphs", nargs="+", default=list(GRAPHS), choices=list(GRAPHS))
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=list(IMPLS))
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="folder for epoch.json and epoch.md")
    parser.add_argument("--single", nargs=3, metavar=("IMPL", "GRAPH", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.single:  # child process: one contender, JSON on the last line
        impl, graph, dname = args.single
        print(json.dumps(measure(impl, graph, dname, args.quick, args.device, args.hidden, args.epochs)))
        return

    results = []
    for graph in args.graphs:
        for dname in args.dtypes:
            for impl in args.impls:
                if args.device.startswith("cuda"):
                    results.append(measure(impl, graph, dname, args.quick, args.device, args.hidden, args.epochs))
                else:  # fresh process each, so that the resident-set peak is this contender's own
                    child = ["--single", impl, graph, dname, "--device", args.device, "--hidden", str(args.hidden),
                             "--epochs", str(args.epochs)] + (["--quick"] if args.quick else [])
                    results.append(run_isolated(__file__, child))

    rows = []
    for r in results:
        n, e, f, _ = r["sizes"]
        base = next((b for b in results if b["graph"] == r["graph"] and b["dtype"] == r["dtype"]
                     and b["impl"] == "pyg edge_index" and "ms" in b), None)
        fp32 = next((b for b in results if b["graph"] == r["graph"] and b["dtype"] == "fp32"
                     and b["impl"] == r["impl"] and "ms" in b), None)
        if "ms" in r:
            rows.append([f"{r['graph']} {n}/{e}/{f}", r["dtype"], r["impl"], f"{r['ms']:.1f}", f"{r['peak_mb']:.0f}",
                         "-" if base is None else f"{base['ms'] / r['ms']:.2f}x",
                         "-" if fp32 is None else f"{fp32['ms'] / r['ms']:.2f}x"])
        else:
            rows.append([f"{r['graph']} {n}/{e}/{f}", r["dtype"], r["impl"], r["note"], "", "", ""])
    mem = "peak MiB (CUDA allocated)" if args.device.startswith("cuda") else "peak MiB (RSS growth)"
    text = (f"{environment()}; hidden {args.hidden}, median of {args.epochs} epochs\n\n"
            + table(rows, ["graph (N/E/F)", "dtype", "impl", "ms / epoch", mem, "speed vs pyg edge_index",
                           "speed vs own fp32"]))
    write_results(args.out, "epoch", text, results)


if __name__ == "__main__":
    main()
