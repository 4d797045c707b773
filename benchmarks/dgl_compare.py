"""Forward + backward of one graph layer: gnnkit against DGL, same process, same graph, same weights.

The graph is gnnkit's own skewed builder (``benchmarks.common.skewed_graph``,
power-law degrees), self-loops dropped and stored both ways so that in- and
out-degrees agree (DGL's ``norm='both'`` scales sources by out-degree,
gnnkit by in-degree: on a symmetric graph they are the same formula). The
default is 100,000 nodes and 2,000,000 directed edges with 64 features.
Layers (64 → 64; GAT 4 heads × 16):

* ``gcn``          — no edge weights: gnnkit ``GCNConv`` against DGL
  ``GraphConv(norm='both')`` on the graph with a self-loop at every node;
* ``gcn-weighted`` — the normalised weights ``d_i^{-1/2} d_j^{-1/2}`` given to
  both: gnnkit ``GCNConv(normalize=False, add_self_loops=False)`` against DGL
  ``GraphConv(norm='none')`` with ``edge_weight``;
* ``sage``         — ``SAGEConv`` mean aggregation (no self-loops);
* ``gat``          — ``GATConv`` (self-loops at every node, as gnnkit adds them).

Both libraries get the same weights, and each layer's outputs are checked
equal (``--atol``) before anything is timed. Time: median and minimum of
``--repeats`` alternating runs (gnnkit, DGL, gnnkit, ...) after one warm-up
step each. Memory: each contender runs again in a fresh interpreter, which
builds the same graph, takes one warm-up step, then records the resident
set before the step, its growth at the peak of one step (``VmHWM`` reset)
and the peak of one step's tensors through torch's allocator
(``peak_allocated_during``: steady from run to run; DGL's own C++
allocations outside torch are not in it). The same method for both.

DGL is a reference for this script only (the ``bench`` extra). It needs a
torch it was built for; DGL 2.1.0 with a newer torch cannot load its
GraphBolt library, which these layers never use, so the script stands in an
empty ``dgl.graphbolt`` module when that is the only thing failing (and
says so). When ``dgl`` cannot be imported the script prints why and exits
0 without timing anything.

    python benchmarks/dgl_compare.py --threads 1
    python benchmarks/dgl_compare.py --quick --threads 1      # 10k nodes, 200k edges
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import types
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import (  # noqa: E402
    environment, peak_allocated_during, peak_rss_during, read_status, run_isolated, skewed_graph, table,
    time_alternating, write_results,
)

LAYERS = ("gcn", "gcn-weighted", "sage", "gat")
CONTENDERS = ("gnnkit", "dgl")


# --- importing DGL ---------------------------------------------------------------------------------------------

def _graphbolt_placeholder(name: str) -> type:
    """A class for each name other DGL modules look up in ``dgl.graphbolt`` at import."""
    if name.startswith("__"):  # module machinery (inspect, pickling) must see a plain module
        raise AttributeError(name)
    return type(name, (), {})


def import_dgl() -> tuple[types.ModuleType | None, str]:
    """``(dgl, note)``, or ``(None, reason)`` when DGL cannot be imported.

    DGL 2.x loads a GraphBolt C++ library built for each torch release at
    import; with an unsupported torch that file is missing. The layers here
    never touch GraphBolt, so in that one case an empty stand-in module is
    registered and the import retried; the note says so."""
    try:
        return importlib.import_module("dgl"), ""
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] != "dgl":
            return None, f"dgl is not importable ({type(err).__name__}: {err})"
        return None, f"dgl is not installed ({err})"
    except (FileNotFoundError, ImportError, OSError) as err:
        if "graphbolt" not in str(err).lower():
            return None, f"dgl is not importable ({type(err).__name__}: {err})"
        first = f"{type(err).__name__}: {err}"
    for name in [n for n in sys.modules if n == "dgl" or n.startswith("dgl.")]:
        del sys.modules[name]  # the failed import left half-initialised modules
    stub = types.ModuleType("dgl.graphbolt")
    stub.__path__ = []
    stub.__getattr__ = _graphbolt_placeholder
    sys.modules["dgl.graphbolt"] = stub
    try:
        dgl = importlib.import_module("dgl")
    except Exception as err:  # noqa: BLE001 - reported as the reason
        return None, f"dgl is not importable ({first}; with GraphBolt stubbed: {type(err).__name__}: {err})"
    return dgl, f"GraphBolt stubbed: no build of it for torch {torch.__version__} ({first.split(':')[0]})"


# --- the case: graph, features, weights ---------------------------------------------------------------------

def make_case(nodes: int, edges: int, features: int, seed: int) -> dict:
    """The symmetric skewed graph (about ``edges`` directed edges, no loops), its
    loop-added copy with normalised GCN weights, and the features."""
    ei = skewed_graph(nodes, edges // 2, seed=seed)
    ei = ei[:, ei[0] != ei[1]]
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    loops = torch.arange(nodes).repeat(2, 1)
    looped = torch.cat([ei, loops], dim=1)
    deg = torch.bincount(looped[1], minlength=nodes).float()
    inv_sqrt = deg.pow(-0.5)
    weight = inv_sqrt[looped[0]] * inv_sqrt[looped[1]]
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(nodes, features, generator=g)
    return {"edge_index": ei, "looped": looped, "weight": weight, "x": x, "nodes": nodes}


def layer_weights(layer: str, features: int, heads: int, seed: int) -> dict[str, torch.Tensor]:
    """Random weights in gnnkit's parameter names (uniform, fan-in scaled)."""
    g = torch.Generator().manual_seed(seed + 2)
    f = features

    def u(*shape):
        return (torch.rand(*shape, generator=g) * 2 - 1) / f ** 0.5

    if layer in ("gcn", "gcn-weighted"):
        return {"lin.weight": u(f, f), "bias": u(f)}
    if layer == "sage":
        return {"lin_l.weight": u(f, f), "lin_l.bias": u(f), "lin_r.weight": u(f, f)}
    return {"lin.weight": u(f, f), "att_src": u(1, heads, f // heads), "att_dst": u(1, heads, f // heads),
            "bias": u(f)}


def build(layer: str, contender: str, case: dict, features: int, heads: int, seed: int, dgl=None):
    """``(module, forward)``: the layer with the shared weights and a call returning ``[N, features]``."""
    w = layer_weights(layer, features, heads, seed)
    x = case["x"]
    if contender == "gnnkit":
        from gnnkit import nn as gnn

        if layer == "gcn":
            mod = gnn.GCNConv(features, features)
            ei, ew = case["edge_index"], None
        elif layer == "gcn-weighted":
            mod = gnn.GCNConv(features, features, normalize=False, add_self_loops=False)
            ei, ew = case["looped"], case["weight"]
        elif layer == "sage":
            mod = gnn.SAGEConv(features, features, aggr="mean")
            ei, ew = case["edge_index"], None
        else:
            mod = gnn.GATConv(features, features // heads, heads=heads)
            ei, ew = case["edge_index"], None
        mod.load_state_dict(w)
        if ew is None:
            return mod, lambda: mod(x, ei)
        return mod, lambda: mod(x, ei, ew)

    from dgl.nn import GATConv, GraphConv, SAGEConv

    graph = case.get("_dgl_graph", {}).get(layer)
    if graph is None:
        src, dst = (case["edge_index"] if layer == "sage" else case["looped"])
        graph = dgl.graph((src, dst), num_nodes=case["nodes"])
        case.setdefault("_dgl_graph", {})[layer] = graph
    with torch.no_grad():
        if layer in ("gcn", "gcn-weighted"):
            mod = GraphConv(features, features, norm="both" if layer == "gcn" else "none",
                            allow_zero_in_degree=True)
            mod.weight.copy_(w["lin.weight"].t())
            mod.bias.copy_(w["bias"])
        elif layer == "sage":
            mod = SAGEConv(features, features, "mean")
            mod.fc_neigh.weight.copy_(w["lin_l.weight"])
            mod.fc_self.weight.copy_(w["lin_r.weight"])
            mod.fc_self.bias.copy_(w["lin_l.bias"])
        else:
            mod = GATConv(features, features // heads, heads, allow_zero_in_degree=True)
            mod.fc.weight.copy_(w["lin.weight"])
            mod.attn_l.copy_(w["att_src"])
            mod.attn_r.copy_(w["att_dst"])
            mod.bias.copy_(w["bias"])
    if layer == "gcn-weighted":
        ew = case["weight"]
        return mod, lambda: mod(graph, x, edge_weight=ew)
    if layer == "gat":
        return mod, lambda: mod(graph, x).flatten(1)
    return mod, lambda: mod(graph, x)


def step_of(mod, forward):
    def step() -> None:
        mod.zero_grad(set_to_none=True)
        forward().sum().backward()

    return step


# --- the parts ------------------------------------------------------------------------------------------------

def worker(args: argparse.Namespace) -> dict:
    """One contender's memory in this fresh process: resident before a step, growth during it."""
    layer, contender = args.worker
    dgl = None
    if contender == "dgl":
        dgl, _ = import_dgl()
    case = make_case(args.nodes, args.edges, args.features, args.seed)
    mod, forward = build(layer, contender, case, args.features, args.heads, args.seed, dgl)
    step = step_of(mod, forward)
    step()  # warm-up: caches (CSR, formats) as every later call finds them
    before = read_status("VmRSS:")
    growth = peak_rss_during(step)
    allocated = peak_allocated_during(step)  # tensors through torch's allocator: steady from run to run
    return {"layer": layer, "contender": contender, "resident_before_bytes": before, "step_growth_bytes": growth,
            "step_allocated_bytes": allocated}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--edges", type=int, default=2_000_000, help="directed edges (half drawn, stored both ways)")
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--heads", type=int, default=4, help="GAT heads (features are split across them)")
    p.add_argument("--layers", default=",".join(LAYERS), help=f"comma-separated subset of {','.join(LAYERS)}")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--seed", type=int, default=0, help="graph, features and weights seed")
    p.add_argument("--atol", type=float, default=1e-4, help="largest output difference accepted")
    p.add_argument("--no-memory", action="store_true", help="skip the fresh-process memory measurements")
    p.add_argument("--quick", action="store_true", help="10k nodes, 200k edges, 3 repeats")
    p.add_argument("--out", type=Path, default=None, help="folder for dgl_compare.json and dgl_compare.md")
    p.add_argument("--worker", nargs=2, metavar=("LAYER", "CONTENDER"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.layers = [name.strip() for name in args.layers.split(",") if name.strip()]
    bad = [name for name in args.layers if name not in LAYERS]
    if bad or not args.layers:
        p.error(f"--layers takes names from {','.join(LAYERS)}, got {bad or args.layers}")
    if args.repeats < 1 or args.threads < 1 or args.features % args.heads:
        p.error(f"need --repeats >= 1 and --threads >= 1 and --features divisible by --heads, got "
                f"{args.repeats}, {args.threads}, {args.features} / {args.heads}")
    if args.quick:
        args.nodes, args.edges, args.repeats = 10_000, 200_000, 3
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.worker:
        row = worker(args)
        print(json.dumps(row))  # the parent reads the last line
        return row
    dgl, note = import_dgl()
    if dgl is None:
        print(f"dgl_compare: skipped: {note}. Install DGL beside a torch it supports (the bench extra, "
              f"in its own environment) and rerun with PYTHONPATH pointing at this checkout.")
        return {"status": "skipped", "reason": note}
    print(f"graph: {args.nodes:,} nodes, ~{args.edges:,} directed edges (power-law, symmetric), "
          f"{args.features} features; seed {args.seed}; {args.threads} thread(s)")
    print(f"{environment()}, dgl {dgl.__version__}" + (f"; {note}" if note else ""))
    case = make_case(args.nodes, args.edges, args.features, args.seed)
    print(f"edges after dropping loops, both directions: {case['edge_index'].size(1):,}")
    rows, results = [], []
    for layer in args.layers:
        built = {c: build(layer, c, case, args.features, args.heads, args.seed, dgl) for c in CONTENDERS}
        with torch.no_grad():
            outs = {c: fwd() for c, (_, fwd) in built.items()}
        diff = float((outs["gnnkit"] - outs["dgl"]).abs().max())
        del outs
        if not diff <= args.atol:
            raise SystemExit(f"dgl_compare: {layer}: outputs differ by {diff:.2e} > --atol {args.atol}; "
                             f"not timing a different computation")
        steps = {c: step_of(mod, fwd) for c, (mod, fwd) in built.items()}
        times = time_alternating(steps, repeats=args.repeats, with_min=True)
        memory = {}
        if not args.no_memory:
            common = ["--nodes", str(args.nodes), "--edges", str(args.edges), "--features", str(args.features),
                      "--heads", str(args.heads), "--threads", str(args.threads), "--seed", str(args.seed)]
            for c in CONTENDERS:
                memory[c] = run_isolated(__file__, common + ["--worker", layer, c],
                                         env={"OMP_NUM_THREADS": str(args.threads)})
        for c in CONTENDERS:
            median, fastest = times[c]
            mem = memory.get(c, {})
            mib = {k: mem[k] / 2**20 for k in ("resident_before_bytes", "step_growth_bytes", "step_allocated_bytes")
                   if k in mem}
            rows.append([layer, c, f"{median * 1000:.0f}", f"{fastest * 1000:.0f}",
                         f"{times['dgl'][0] / median:.2f}x",
                         f"{mib['step_allocated_bytes']:.0f}" if mib else "-",
                         f"{mib['step_growth_bytes']:.0f}" if mib else "-",
                         f"{mib['resident_before_bytes']:.0f}" if mib else "-",
                         f"{diff:.1e}"])
            results.append({"layer": layer, "contender": c, "seconds": median, "min_seconds": fastest,
                            "max_abs_diff": diff, **mem})
        del built, steps
    header = ["layer", "library", "fwd+bwd ms (median)", "min ms", "DGL time / this", "step peak allocated MiB",
              "step RSS growth MiB",
              "resident before MiB", "max |out diff|"]
    write_results(args.out, "dgl_compare", table(rows, header), results)
    return {"status": "ran", "results": results, "note": note}


if __name__ == "__main__":
    main()
