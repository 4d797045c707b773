"""Knowledge-graph completion: gnnkit against PyKEEN on Kinships RotatE, same budget, one process.

Both libraries train RotatE with 1-vs-all (LCWA) training, the same
embedding dimension, Adam lr 0.01, batch 256, exactly ``--epochs`` epochs
(no early stopping, so both get the same budget) on one CPU thread, then rank
the test triples with filtered, realistic ranks (head and tail). gnnkit runs
its CLI recipe (cross-entropy over all entities with inverse triples and label
smoothing 0.1); PyKEEN runs its ``pipeline`` defaults for LCWA (BCE over all
tails, no inverse triples). The runs alternate (gnnkit, PyKEEN, gnnkit, ...)
so that machine noise hits both alike; the report gives each run's seconds,
test MRR and Hits@10, and the ratio of median seconds.

PyKEEN is an optional dependency of this script only (``pip install
pykeen``); without it gnnkit is timed alone.

    python benchmarks/knowledge_graph.py --root ../shared/data --dim 256 --epochs 100 --repeats 2
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import environment  # noqa: E402
from gnnkit.datasets.formats.triples import read_triples  # noqa: E402
from gnnkit.train.config import OptimConfig, RunConfig, StopConfig  # noqa: E402
from gnnkit.train.engine import Engine  # noqa: E402
from gnnkit.train.runtime import seed_everything  # noqa: E402
from gnnkit.train.tasks.kg import KGConfig, KGTask, build_model  # noqa: E402


def run_gnnkit(raw: str, dim: int, epochs: int, seed: int) -> dict:
    start = time.perf_counter()
    kg = read_triples(raw).with_inverse()
    seed_everything(seed)
    model = build_model("rotate", kg, dim=dim)
    task = KGTask(model, kg, KGConfig(), seed=seed, spec={"kind": "rotate", "dim": dim})
    fit = Engine(task, OptimConfig(lr=0.01), StopConfig(epochs=epochs, eval_every=epochs, restore_best=False),
                 RunConfig(seed=seed, device="cpu", progress=False)).fit()
    return {"seconds": time.perf_counter() - start, "test_mrr": fit.metrics["test_mrr"],
            "test_hits@10": fit.metrics["test_hits@10"]}


def run_pykeen(raw: str, dim: int, epochs: int, seed: int) -> dict:
    from pykeen.datasets import PathDataset
    from pykeen.pipeline import pipeline

    start = time.perf_counter()
    dataset = PathDataset(training_path=os.path.join(raw, "train.txt"), testing_path=os.path.join(raw, "test.txt"),
                          validation_path=os.path.join(raw, "valid.txt"))
    result = pipeline(dataset=dataset, model="RotatE", model_kwargs={"embedding_dim": dim}, training_loop="lcwa",
                      optimizer="Adam", optimizer_kwargs={"lr": 0.01},
                      training_kwargs={"num_epochs": epochs, "batch_size": 256, "use_tqdm": False},
                      evaluator_kwargs={"filtered": True}, evaluation_kwargs={"use_tqdm": False, "batch_size": 256},
                      random_seed=seed, device="cpu")
    metrics = result.metric_results
    return {"seconds": time.perf_counter() - start,
            "test_mrr": float(metrics.get_metric("both.realistic.inverse_harmonic_mean_rank")),
            "test_hits@10": float(metrics.get_metric("both.realistic.hits_at_10"))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default="../shared/data", help="data root holding kinships/raw/ (default: ../shared/data)")
    p.add_argument("--dataset", default="kinships", help="folder under --root (default: kinships)")
    p.add_argument("--dim", type=int, default=256, help="embedding dimension of both (default: 256, the issue's)")
    p.add_argument("--epochs", type=int, default=100, help="training epochs of both (default: 100)")
    p.add_argument("--repeats", type=int, default=2, help="runs of each library, alternating (default: 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first repeat; repeat k uses seed + k")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    p.add_argument("--json", default=None, help="write the report as JSON here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    raw = os.path.join(args.root, args.dataset, "raw")
    try:
        import pykeen  # noqa: F401

        contenders = {"gnnkit": run_gnnkit, "pykeen": run_pykeen}
    except ImportError:
        print("PyKEEN is not installed (pip install pykeen): timing gnnkit alone", file=sys.stderr)
        contenders = {"gnnkit": run_gnnkit}
    runs: dict[str, list[dict]] = {name: [] for name in contenders}
    for k in range(args.repeats):
        for name, fn in contenders.items():
            row = fn(raw, args.dim, args.epochs, args.seed + k)
            runs[name].append(row)
            print(f"{name:7s} seed {args.seed + k}: {row['seconds']:7.1f} s  test MRR {row['test_mrr']:.4f}  "
                  f"Hits@10 {row['test_hits@10']:.4f}", flush=True)
    report = {"dataset": args.dataset, "model": "rotate", "dim": args.dim, "epochs": args.epochs,
              "threads": torch.get_num_threads(), "environment": environment(), "runs": runs}
    for name, rows in runs.items():
        report[name] = {key: statistics.median(r[key] for r in rows) for key in ("seconds", "test_mrr", "test_hits@10")}
    if "pykeen" in runs:
        report["speedup"] = report["pykeen"]["seconds"] / report["gnnkit"]["seconds"]
        print(f"gnnkit {report['speedup']:.1f}x faster (median seconds {report['gnnkit']['seconds']:.1f} vs "
              f"{report['pykeen']['seconds']:.1f}); median test MRR {report['gnnkit']['test_mrr']:.4f} vs "
              f"{report['pykeen']['test_mrr']:.4f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
