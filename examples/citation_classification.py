"""Citation networks: MLP vs GCN vs GraphSAGE vs GAT on Cora and CiteSeer.

Every model is trained with its paper's recipe (``gnnkit.train.node.PAPER_DEFAULTS``)
on the public Planetoid split, once per seed. The script prints a table of
test accuracy (mean ± std over seeds), draws it as a bar chart, and draws the
confusion matrix of the best model on each dataset.

    python examples/citation_classification.py --root ../shared/data --out out/citation
    python examples/citation_classification.py --quick      # a smoke run: 2 seeds, 15 epochs
    python examples/citation_classification.py --seeds 3 --epochs 200   # shorter: GAT capped at 200 epochs

Writes to ``--out``: ``accuracy.png``, ``confusion_<dataset>.png``,
``results.md`` (the table) and ``results.json`` (every run).
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
from _plotting import class_labels, figures, positive_int, pyplot, run
from tqdm.auto import tqdm

from gnnkit import datasets
from gnnkit.train.node import (
    PAPER_DEFAULTS,
    NodeClassificationTrainer,
    NodeTrainConfig,
    build_model,
    prepare_graph,
)

plt = pyplot()  # None without matplotlib: everything but the figures still runs

MODELS = {"mlp": "MLP", "gcn": "GCN", "sage": "GraphSAGE", "gat": "GAT"}
# PAPER_DEFAULTS mixes model and trainer settings; these keys go to the model.
MODEL_KEYS = {"hidden": "hidden_channels", "heads": "heads", "out_heads": "out_heads", "dropout": "dropout"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=None, help="data root holding <name>/raw/ (default: $GNNKIT_DATA or datasets/)")
    p.add_argument("--out", default="out/citation", help="folder for figures and tables (default out/citation)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 seeds and at most 15 epochs per model")
    p.add_argument("--datasets", nargs="+", default=["cora", "citeseer"], help="Planetoid datasets (default cora citeseer)")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS), help="models to compare")
    p.add_argument("--seeds", type=positive_int, default=None, help="seeds per model (default 10, --quick 2)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="cap on each model's epochs (default: the paper's, e.g. GCN 200, GAT 1000; --quick 15)")
    args = p.parse_args(argv)
    if args.seeds is None:
        args.seeds = 2 if args.quick else 10
    if args.seeds < 1:
        p.error(f"--seeds must be >= 1, got {args.seeds}")
    return args


def settings(model: str, seed: int, args: argparse.Namespace, dataset: str) -> tuple[NodeTrainConfig, dict]:
    """The paper's settings for ``model``, split into trainer config and model arguments."""
    defaults = dict(PAPER_DEFAULTS[model])
    hparams = {MODEL_KEYS[k]: defaults.pop(k) for k in list(defaults) if k in MODEL_KEYS}
    cap = args.epochs if args.epochs is not None else (15 if args.quick else None)
    if cap is not None:
        defaults["epochs"] = min(defaults["epochs"], cap)
    config = NodeTrainConfig(**defaults, seed=seed, device=args.device, quiet=True, dataset=dataset)
    return config, hparams


def run_one(graph, model_name: str, seed: int, args: argparse.Namespace, dataset: str) -> dict:
    config, hparams = settings(model_name, seed, args, dataset)
    prepared = prepare_graph(graph, config)
    model = build_model(model_name, prepared, config, **hparams)
    trainer = NodeClassificationTrainer(model, prepared, config)
    result = trainer.fit()
    pred = trainer.predict().cpu()
    mask = prepared.test_mask.cpu()
    return {"seed": seed, "test_accuracy": result.test_accuracy, "val_accuracy": result.val_accuracy,
            "test_macro_f1": result.test_macro_f1, "epochs": result.epochs_run, "seconds": result.seconds,
            "pred": pred[mask], "true": prepared.y.cpu()[mask]}


def run_label(args: argparse.Namespace) -> str:
    """What a figure was drawn from: the seeds, and a warning when training was cut short."""
    seeds = f"seeds 0-{args.seeds - 1}" if args.seeds > 1 else "seed 0"
    cap = args.epochs if args.epochs is not None else (15 if args.quick else None)
    if cap is None:
        return f"{seeds}, paper settings"
    return f"{seeds}, at most {cap} epochs: far from convergence"


def confusion(true: torch.Tensor, pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``C[t, p]`` = number of test nodes of class ``t`` predicted as ``p``."""
    return torch.bincount(true * num_classes + pred, minlength=num_classes**2).view(num_classes, num_classes)


def plot_accuracy(table: dict, models: list[str], path: Path, subtitle: str) -> None:
    if plt is None:
        return
    names = list(table)
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for k, m in enumerate(models):
        xs = [i + (k - (len(models) - 1) / 2) * width for i in range(len(names))]
        means = [100 * table[d][m]["mean"] for d in names]
        stds = [100 * table[d][m]["std"] for d in names]
        bars = ax.bar(xs, means, width, yerr=stds, capsize=3, label=MODELS[m])
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in means], fontsize=8, padding=2)
    ax.set_xticks(range(len(names)), [n.capitalize() if n != "citeseer" else "CiteSeer" for n in names])
    low = min(100 * table[d][m]["mean"] for d in names for m in models)
    ax.set_ylim(max(0, low - 15), 100)
    ax.set_xlabel("dataset (public Planetoid split)")
    ax.set_ylabel("test accuracy (%), mean ± std over seeds")
    ax.set_title(f"Node classification on citation graphs\n{subtitle}", fontsize=10)
    ax.legend(ncol=len(models), loc="upper center", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_confusion(matrix: torch.Tensor, labels: list[str], title: str, path: Path) -> None:
    if plt is None:
        return
    n = matrix.size(0)
    rates = matrix.float() / matrix.sum(1, keepdim=True).clamp(min=1)
    fig, ax = plt.subplots(figsize=(7.2, 6.0), dpi=100)
    im = ax.imshow(rates.numpy(), cmap="Blues", vmin=0, vmax=1)
    for t in range(n):
        for p in range(n):
            ax.text(p, t, int(matrix[t, p]), ha="center", va="center", fontsize=8,
                    color="white" if rates[t, p] > 0.5 else "black")
    ax.set_xticks(range(n), labels, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    graphs = {}
    for name in args.datasets:
        graphs[name] = datasets.load(name, root=args.root)
        if getattr(graphs[name], "y", None) is None or getattr(graphs[name], "train_mask", None) is None:
            raise ValueError(f"--datasets {name} is not a node-classification graph with a public split; use "
                             f"cora, citeseer or pubmed")
        print(f"{name}: {graphs[name]}")

    runs: dict[str, dict[str, list[dict]]] = {d: {m: [] for m in args.models} for d in args.datasets}
    jobs = [(d, m, s) for d in args.datasets for m in args.models for s in range(args.seeds)]
    bar = tqdm(jobs, desc="training", unit="run")
    for dataset, model, seed in bar:
        bar.set_postfix_str(f"{dataset} {MODELS[model]} seed {seed}")
        runs[dataset][model].append(run_one(graphs[dataset], model, seed, args, dataset))
    bar.close()

    table: dict[str, dict[str, dict]] = {}
    for dataset, per_model in runs.items():
        table[dataset] = {}
        for model, rs in per_model.items():
            accs = [r["test_accuracy"] for r in rs]
            table[dataset][model] = {"mean": statistics.fmean(accs),
                                     "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                                     "seconds": statistics.fmean(r["seconds"] for r in rs),
                                     "epochs": statistics.fmean(r["epochs"] for r in rs)}

    header = "| model | " + " | ".join(args.datasets) + " |"
    lines = [header, "|" + "---|" * (len(args.datasets) + 1)]
    for model in args.models:
        cells = [f"{100 * table[d][model]['mean']:.1f} ± {100 * table[d][model]['std']:.1f}" for d in args.datasets]
        lines.append(f"| {MODELS[model]} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    print(f"\nTest accuracy (%), mean ± std over {args.seeds} seed(s):\n{text}\n")
    (out / "results.md").write_text(f"Test accuracy (%), mean ± std over {args.seeds} seed(s)\n\n{text}\n")
    (out / "results.json").write_text(json.dumps(
        {"seeds": args.seeds, "quick": args.quick, "table": table,
         "class_names": {d: class_labels(d, int(graphs[d].y.max()) + 1) for d in args.datasets},
         "runs": {d: {m: [{k: v for k, v in r.items() if k not in ("pred", "true")} for r in rs]
                      for m, rs in pm.items()} for d, pm in runs.items()}}, indent=2))

    plot_accuracy(table, args.models, out / "accuracy.png", run_label(args))
    summary = []
    for dataset in args.datasets:
        best = max(args.models, key=lambda m: table[dataset][m]["mean"])
        # the confusion matrix of the best model's median-accuracy seed (a typical run, not the luckiest)
        rs = sorted(runs[dataset][best], key=lambda r: r["test_accuracy"])
        typical = rs[len(rs) // 2]
        k = int(graphs[dataset].y.max()) + 1
        matrix = confusion(typical["true"], typical["pred"], k)
        plot_confusion(matrix, class_labels(dataset, k), f"{dataset}: {MODELS[best]} (seed {typical['seed']}, "
                               f"test acc {100 * typical['test_accuracy']:.1f}%)\n{run_label(args)}",
                       out / f"confusion_{dataset}.png")
        mlp = table[dataset].get("mlp")
        gain = f", {100 * (table[dataset][best]['mean'] - mlp['mean']):+.1f} points over the MLP" if mlp and best != "mlp" else ""
        summary.append(f"  {dataset}: best is {MODELS[best]} at {100 * table[dataset][best]['mean']:.1f} ± "
                       f"{100 * table[dataset][best]['std']:.1f} % test accuracy{gain}")
    print("Summary")
    print("\n".join(summary))
    pngs = ["accuracy.png"] + [f"confusion_{d}.png" for d in args.datasets]
    print(f"  tables in {out}/ (results.md, results.json); {figures(plt, pngs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
