"""How cost grows with the graph: epoch time and peak memory on large synthetic graphs (issue 20, part 5).

Two modes.

**One point** (the default, as before): builds ``gnnkit.datasets.synthetic``
(power-law degrees, homophilous labels) with ``--nodes`` nodes and
``--edges`` directed edges, then trains GraphSAGE (or GCN) in mini-batches
(``NeighborLoader``, fan-out ``--fanout``) for ``--epochs`` epochs: one epoch
is one pass over the training nodes (60 %). Reports seconds per epoch
(sampling + training), the time of one evaluation over all nodes
(layer-wise, in blocks of 4096 target nodes), test accuracy, and the
process's peak resident memory.

**The sweep** (``--sweep``): graphs of 0.25M, 1M, 4M, 16M and 64M directed
edges at a fixed average degree (``--degree``, so nodes grow with edges),
each measured at 1 and 2 torch threads, for

* ``gcn``: one full-batch epoch of a 2-layer GCN (forward, cross-entropy on
  the training nodes, backward, Adam step), median of ``--repeats`` epochs
  after one warm-up epoch that builds the cached CSR and normalisation;
* ``sage``: one neighbour-sampled epoch of a 2-layer GraphSAGE over the
  training nodes (``NeighborLoader``, fan-out ``--fanout``, batches of
  ``--batch-size``; sampling and training both timed).

Every (size, threads, model) point runs in a fresh interpreter, so that its
peak resident memory (``VmHWM``) is its own. A point is skipped, with the
reason printed, when the previous size's measurement extrapolated linearly
predicts more memory than ``--memory-fraction`` of what the machine has
available now, or more seconds than ``--max-point-seconds``. The sweep fits
the slope of log(time) against log(edges) per model and thread count
(linear cost is slope 1; the goal is ≤ 1.05), states the two-thread
speed-up, and writes ``scale.json`` (and a log-log plot with ``--plot``).

    python benchmarks/scale.py                      # one point: 1M nodes, 20M edges
    python benchmarks/scale.py --quick              # one point: 100k nodes, 2M edges
    python benchmarks/scale.py --sweep --out results/scale --plot docs/images/scale_loglog.png
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import (  # noqa: E402
    environment, fit_loglog_slope, parse_count, peak_rss_during, read_status, run_isolated, table,
)

SWEEP_EDGES = (250_000, 1_000_000, 4_000_000, 16_000_000, 64_000_000)
SWEEP_THREADS = (1, 2)
SWEEP_MODELS = ("gcn", "sage")
SLOPE_GOAL = 1.05


def peak_rss_gib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def available_memory_bytes() -> int:
    """``MemAvailable`` from ``/proc/meminfo`` (what the machine can give now, other jobs included)."""
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def _counts(text: str) -> list[int]:
    try:
        return [parse_count(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from err
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=1_000_000, help="one point: nodes")
    p.add_argument("--edges", type=int, default=20_000_000,
                   help="one point: directed edges (half drawn, stored both ways)")
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--classes", type=int, default=8)
    p.add_argument("--model", default="sage", choices=("sage", "gcn"), help="one point: the model")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--fanout", default="15,10")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--epochs", type=int, default=1, help="one point: epochs")
    p.add_argument("--threads", type=int, default=0, help="one point: torch threads (0: torch's default)")
    p.add_argument("--quick", action="store_true", help="one point: 100k nodes, 2M edges")
    p.add_argument("--malloc", choices=("retain", "default"), default="retain",
                   help="retain: keep freed memory in the process, as the gnnkit command does "
                   "(gnnkit.settings.retain_freed_memory; default); default: glibc's own behaviour")
    sweep = p.add_argument_group("sweep")
    sweep.add_argument("--sweep", action="store_true", help="measure every size × thread count × model")
    sweep.add_argument("--sizes", type=_counts, default=list(SWEEP_EDGES),
                       help="directed edges per point, e.g. 0.25M,1M,4M,16M,64M (the default)")
    sweep.add_argument("--thread-counts", type=_ints, default=list(SWEEP_THREADS), help="default 1,2")
    sweep.add_argument("--models", default=",".join(SWEEP_MODELS),
                       help="comma-separated, from gcn,sage (default both)")
    sweep.add_argument("--degree", type=int, default=20, help="directed edges per node (nodes = edges / degree)")
    sweep.add_argument("--repeats", type=int, default=3, help="timed GCN epochs per point (median)")
    sweep.add_argument("--point-runs", type=int, default=1,
                       help="fresh processes per point; the point is the one with the median time (default 1)")
    sweep.add_argument("--seed", type=int, default=0, help="graph, weights and sampling seed")
    sweep.add_argument("--memory-fraction", type=float, default=0.6,
                       help="skip a point predicted to need more than this share of MemAvailable (default 0.6)")
    sweep.add_argument("--max-point-seconds", type=float, default=900.0,
                       help="skip a point predicted to take longer (default 900)")
    sweep.add_argument("--out", type=Path, default=None, help="folder for scale.json and scale.md")
    sweep.add_argument("--plot", type=Path, default=None, help="PNG path for the log-log plot (needs matplotlib)")
    sweep.add_argument("--report", type=Path, default=None, metavar="SCALE_JSON",
                       help="summarise (and with --plot, draw) a saved sweep's scale.json without measuring")
    sweep.add_argument("--point", nargs=3, metavar=("EDGES", "THREADS", "MODEL"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in args.models if m not in SWEEP_MODELS]
    if bad or not args.models:
        p.error(f"--models takes names from {','.join(SWEEP_MODELS)}, got {bad or args.models}")
    if args.degree < 1 or args.repeats < 1 or args.point_runs < 1:
        p.error(f"--degree, --repeats and --point-runs must be >= 1, got {args.degree}, {args.repeats} and "
                f"{args.point_runs}")
    if not 0 < args.memory_fraction <= 1:
        p.error(f"--memory-fraction is a share of the available memory in (0, 1], got {args.memory_fraction}")
    if args.quick:
        args.nodes, args.edges = 100_000, 2_000_000
    return args


# --- one measured point (runs in its own interpreter) -------------------------------------------------------------

def measure_point(edges: int, threads: int, model: str, args: argparse.Namespace) -> dict:
    """Time and memory of one epoch of ``model`` on a graph of ``edges`` directed edges, in this process."""
    import torch.nn.functional as F

    from gnnkit.datasets import synthetic
    from gnnkit.nn.models import GCN, GraphSAGE
    from gnnkit.sampling.neighbor import NeighborLoader

    from gnnkit.settings import retain_freed_memory

    torch.set_num_threads(threads)
    retained = retain_freed_memory() if args.malloc == "retain" else False
    nodes = max(edges // args.degree, 1000)
    start = time.perf_counter()
    graph = synthetic(num_nodes=nodes, num_edges=edges // 2, num_features=args.features,
                      num_classes=args.classes, seed=args.seed)
    adj = graph.csr()  # both models read the cached CSR; built here, outside the timing
    row = {"model": model, "threads": threads, "nodes": graph.num_nodes, "edges": graph.num_edges,
           "build_s": time.perf_counter() - start, "malloc": "retain" if retained else "default"}
    torch.manual_seed(args.seed)
    times: list[float] = []
    if model == "gcn":
        net = GCN(args.features, args.hidden, args.classes, num_layers=2, dropout=0.0)
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        train = graph.train_mask

        def epoch() -> None:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(graph.x, adj)[train], graph.y[train])
            loss.backward()
            opt.step()

        epoch()  # warm-up: the layers' normalisation cache

        def timed() -> None:
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                epoch()
                times.append(time.perf_counter() - t0)
    else:
        fanout = [int(k) for k in args.fanout.split(",")]
        net = GraphSAGE(args.features, args.hidden, args.classes, num_layers=len(fanout), dropout=0.0)
        opt = torch.optim.Adam(net.parameters(), lr=0.003)
        seeds = graph.train_mask.nonzero().flatten()

        sampled = {"nodes": 0, "edges": 0}

        def timed() -> None:
            t0 = time.perf_counter()
            loader = NeighborLoader(graph, fanout, batch_size=args.batch_size, input_nodes=seeds, shuffle=True,
                                    seed=args.seed)
            for batch in loader:
                sub = batch.graph
                sampled["nodes"] += sub.num_nodes
                sampled["edges"] += sub.edge_index.size(1)
                opt.zero_grad(set_to_none=True)
                out = net(sub.x, sub.edge_index)[: batch.batch_size]
                F.cross_entropy(out, sub.y[: batch.batch_size]).backward()
                opt.step()
            times.append(time.perf_counter() - t0)

    row["resident_before_mib"] = read_status("VmRSS:") / 2**20
    row["step_growth_mib"] = peak_rss_during(timed) / 2**20
    row["peak_rss_mib"] = read_status("VmHWM:") / 2**20  # since the last reset: resident before + growth
    if model == "sage":
        # a batch's sampled neighbourhood overlaps itself less as the graph grows, so the work per
        # training node grows until the graph is much larger than a batch's 2-hop reach
        row["sampled_nodes"], row["sampled_edges"] = sampled["nodes"], sampled["edges"]
    if model == "gcn":
        row["spmm_s"] = spmm_floor(adj, graph.x, args.repeats)
    row["load_average"] = os.getloadavg()[0]  # other jobs on the machine, for reading the thread figures
    row["epoch_s"] = statistics.median(times)
    row["epoch_min_s"] = min(times)
    return row


def spmm_floor(adj, x: torch.Tensor, repeats: int) -> float:
    """Median seconds of torch's own sparse product ``A @ X`` (MKL's CSR kernel, unweighted, the graph's
    feature width) on the same graph: the aggregation every GCN epoch does at least once, by a library
    other than gnnkit. Its growth with the graph is the floor the epoch's growth is read against: the
    gathers of ``X``'s rows stop fitting in the CPU's caches as the graph grows, whichever library
    does them."""
    a = torch.sparse_csr_tensor(adj.rowptr, adj.col, torch.ones(adj.col.numel(), dtype=x.dtype),
                                (adj.num_rows, adj.num_cols), check_invariants=False)
    torch.sparse.mm(a, x)  # warm-up
    times = []
    for _ in range(max(repeats, 3)):
        t0 = time.perf_counter()
        torch.sparse.mm(a, x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --- the sweep -----------------------------------------------------------------------------------------------------

def predict_skip(previous: dict | None, edges: int, args: argparse.Namespace,
                 available: int | None = None) -> str | None:
    """Why the point at ``edges`` should be skipped, from the last measured size (linear
    extrapolation, 25 % margin on memory), or ``None`` to run it."""
    if previous is None:
        return None
    scale = edges / previous["edges"]
    need_mib = 1.25 * scale * previous["peak_rss_mib"]
    avail_mib = (available_memory_bytes() if available is None else available) / 2**20
    if need_mib > args.memory_fraction * avail_mib:
        return (f"predicted peak {need_mib / 1024:.1f} GiB (linear from {previous['edges']:,} edges, +25 %) exceeds "
                f"{args.memory_fraction:.0%} of the {avail_mib / 1024:.1f} GiB available now")
    epochs = args.repeats + 1 if previous["model"] == "gcn" else 1
    seconds = scale * args.point_runs * (previous["build_s"] + previous["epoch_s"] * epochs)
    if seconds > args.max_point_seconds:
        return f"predicted {seconds:.0f} s for the point exceeds --max-point-seconds {args.max_point_seconds:.0f}"
    return None


def summarise(points: list[dict]) -> dict:
    """Per model and thread count: the log-log slope of epoch time against edges;
    per model and size: the speed-up of the largest thread count over one thread."""
    summary: dict = {"slopes": {}, "slopes_largest_two": {}, "speedups": {}}
    for model in sorted({p["model"] for p in points}):
        for threads in sorted({p["threads"] for p in points}):
            pts = sorted((p["edges"], p["epoch_s"]) for p in points if p["model"] == model and p["threads"] == threads)
            if len(pts) >= 2:
                name = f"{model}, {threads} thread{'s' if threads > 1 else ''}"
                floor = sorted((p["edges"], p["spmm_s"]) for p in points
                               if p["model"] == model and p["threads"] == threads and p.get("spmm_s"))
                if len(floor) >= 2:  # torch's sparse product alone on the same graphs
                    summary.setdefault("slopes_spmm", {})[name] = fit_loglog_slope([e for e, _ in floor],
                                                                                   [t for _, t in floor])
                summary["slopes"][name] = fit_loglog_slope([e for e, _ in pts], [t for _, t in pts])
                # the growth once the graph is large (a sampled batch's neighbourhood stops overlapping itself)
                summary["slopes_largest_two"][name] = fit_loglog_slope([e for e, _ in pts[-2:]],
                                                                       [t for _, t in pts[-2:]])
                for work in ("sampled_edges", "sampled_nodes"):  # the sampled epoch against the work it was given
                    sampled = sorted((p[work], p["epoch_s"]) for p in points if p["model"] == model
                                     and p["threads"] == threads and p.get(work))
                    if len(sampled) >= 2:
                        summary.setdefault(f"slopes_vs_{work}", {})[name] = fit_loglog_slope(
                            [e for e, _ in sampled], [t for _, t in sampled])
        by_size: dict[int, dict[int, float]] = {}
        for p in points:
            if p["model"] == model:
                by_size.setdefault(p["edges"], {})[p["threads"]] = p["epoch_s"]
        for edges, t in sorted(by_size.items()):
            if 1 in t and len(t) > 1:
                most = max(t)
                summary["speedups"].setdefault(model, {})[edges] = {"threads": most, "speedup": t[1] / t[most]}
    return summary


def plot(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for model, label in (("gcn", "GCN full-batch epoch"), ("sage", "SAGE sampled epoch")):
        for threads, marker in ((1, "o"), (2, "s")):
            pts = sorted((p["edges"], p["epoch_s"], p["peak_rss_mib"]) for p in points
                         if p["model"] == model and p["threads"] == threads)
            if not pts:
                continue
            e, t, m = zip(*pts)
            name = f"{label}, {threads} thread{'s' if threads > 1 else ''}"
            axes[0].plot(e, t, marker=marker, label=name)
            axes[1].plot(e, [v / 1024 for v in m], marker=marker, label=name)
    edges = sorted({p["edges"] for p in points})
    if edges:  # a slope-1 guide through the fastest point at the smallest size
        ref = min((p for p in points if p["edges"] == edges[0]), key=lambda p: p["epoch_s"])
        axes[0].plot(edges, [ref["epoch_s"] * e / edges[0] for e in edges], "k:", lw=1, label="slope 1 (linear)")
    from matplotlib.ticker import FuncFormatter, LogLocator

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax, ylabel in zip(axes, ("seconds per epoch", "peak resident memory, GiB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel("directed edges")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _point_args(args: argparse.Namespace) -> list[str]:
    return ["--features", str(args.features), "--classes", str(args.classes), "--hidden", str(args.hidden),
            "--fanout", args.fanout, "--batch-size", str(args.batch_size), "--degree", str(args.degree),
            "--repeats", str(args.repeats), "--seed", str(args.seed), "--malloc", args.malloc]


def report(points: list[dict], skipped: list[dict], args: argparse.Namespace, saved: dict | None = None) -> dict:
    """Print the table, slopes, speed-ups and skips; write scale.json / scale.md and the plot when asked.
    ``saved``: a sweep read back (``--report``), whose settings and environment are kept."""
    summary = summarise(points)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("point",)}
    if saved is not None:
        settings, env = saved.get("settings", {}), saved.get("environment", "")
    else:
        env = environment()
    result = {"environment": env, "settings": settings, "points": points, "skipped": skipped, **summary}
    rows = [[p["model"], p["threads"], f"{p['nodes']:,}", f"{p['edges']:,}", f"{p['epoch_s']:.2f}",
             f"{p['spmm_s']:.3f}" if p.get("spmm_s") else "-",
             f"{p['peak_rss_mib']:.0f}", f"{p['step_growth_mib']:.0f}", f"{p.get('load_average', float('nan')):.1f}"]
            for p in points]
    text = table(rows, ["model", "threads", "nodes", "edges", "s / epoch", "torch A@X s", "peak RSS MiB", "step growth MiB",
                        "load average"])
    lines = [text, ""]
    for name, slope in summary["slopes"].items():
        lines.append(f"log-log slope of time vs edges, {name}: {slope:.3f} "
                     f"({'within' if slope <= SLOPE_GOAL else 'above'} the goal {SLOPE_GOAL}); "
                     f"between the two largest sizes {summary['slopes_largest_two'][name]:.3f}")
    for name, slope in summary.get("slopes_spmm", {}).items():
        lines.append(f"log-log slope of torch.sparse.mm alone (A @ X, same graphs) vs edges, {name}: {slope:.3f}")
    for work in ("edges", "nodes"):
        for name, slope in summary.get(f"slopes_vs_sampled_{work}", {}).items():
            lines.append(f"log-log slope of time vs {work} sampled in the epoch, {name}: {slope:.3f}")
    for model, sizes in summary["speedups"].items():
        for edges, s in sizes.items():
            lines.append(f"{model} {edges:,} edges: {s['threads']} threads {s['speedup']:.2f}x one thread")
    for s in skipped:
        lines.append(f"skipped {s['model']} {s['edges']:,} edges, {s['threads']} thread(s): {s['reason']}")
    print("\n".join(lines))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scale.json").write_text(json.dumps(result, indent=1))
        (args.out / "scale.md").write_text("\n".join(lines) + "\n")
    if args.plot is not None and points:
        plot(points, args.plot)
        print(f"plot: {args.plot}")
    return result


def sweep(args: argparse.Namespace) -> dict:
    print(environment())
    print(f"sweep: sizes {[f'{e:,}' for e in args.sizes]} directed edges, degree {args.degree}, "
          f"threads {args.thread_counts}, models {args.models}, {args.features} features, hidden {args.hidden}, "
          f"fan-out {args.fanout}, batch {args.batch_size}, seed {args.seed}", flush=True)
    points: list[dict] = []
    skipped: list[dict] = []
    for model in args.models:
        for threads in args.thread_counts:
            previous = None
            for edges in sorted(args.sizes):
                reason = predict_skip(previous, edges, args)
                if reason is not None:
                    print(f"  skip {model} {edges:,} edges, {threads} thread(s): {reason}", flush=True)
                    skipped.append({"model": model, "threads": threads, "edges": edges, "reason": reason})
                    continue
                env_threads = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
                try:
                    # the process is the unit of noise (its heap, its pages): the median of --point-runs processes
                    runs = sorted((run_isolated(__file__, ["--point", str(edges), str(threads), model,
                                                           *_point_args(args)], env=env_threads)
                                   for _ in range(args.point_runs)), key=lambda r: r["epoch_s"])
                    row = runs[len(runs) // 2]
                    row["process_epoch_s"] = [r["epoch_s"] for r in runs]
                except subprocess.CalledProcessError as err:  # e.g. killed for memory: say so, go on
                    reason = f"failed (exit {err.returncode}): {(err.stderr or '').strip()[-300:]}"
                    print(f"  {model} {edges:,} edges, {threads} thread(s): {reason}", flush=True)
                    skipped.append({"model": model, "threads": threads, "edges": edges, "reason": reason})
                    continue
                print(f"  {model} {row['edges']:,} edges ({row['nodes']:,} nodes), {threads} thread(s): "
                      f"{row['epoch_s']:.2f} s/epoch, peak {row['peak_rss_mib']:.0f} MiB "
                      f"(step +{row['step_growth_mib']:.0f} MiB), load average {row['load_average']:.1f}",
                      flush=True)
                points.append(row)
                previous = row
                if args.out is not None:  # so that an interrupted sweep keeps what it measured
                    args.out.mkdir(parents=True, exist_ok=True)
                    (args.out / "scale.partial.json").write_text(json.dumps({"points": points, "skipped": skipped}))
    return report(points, skipped, args)


# --- the original one-point run ------------------------------------------------------------------------------------

def one_point(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.malloc == "retain":
        from gnnkit.settings import retain_freed_memory

        retain_freed_memory()
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


def main(argv: list[str] | None = None) -> dict | None:
    args = parse_args(argv)
    if args.point:
        edges, threads, model = args.point
        row = measure_point(int(edges), int(threads), model, args)
        print(json.dumps(row))  # the parent reads the last line
        return row
    if args.report is not None:
        saved = json.loads(args.report.read_text())
        return report(saved["points"], saved.get("skipped", []), args, saved)
    if args.sweep:
        return sweep(args)
    one_point(args)
    return None


if __name__ == "__main__":
    main()
