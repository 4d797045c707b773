"""Node classification: paper numbers, social graphs, and wall time against PyG.

Four parts (``--parts``):

* ``gcn``: GCN with the paper's protocol (Kipf & Welling 2017: row-normalised
  features, hidden 16, dropout 0.5, lr 0.01, weight decay 5e-4 on the first
  layer, 200 epochs, early stopping with patience 10 on the validation loss,
  best weights restored) on Cora and CiteSeer, public split, ``--seeds`` seeds.
  The same protocol runs with torch_geometric's ``GCNConv`` in the same
  process, seed by seed interleaved, and both wall times are reported.
* ``gat``: GAT on Cora with the paper's settings (8 heads × 8, dropout 0.6,
  lr 0.005, weight decay 5e-4, patience 100 on validation loss and accuracy).
* ``social``: GCN, GraphSAGE and the MLP baseline on facebook, lastfm-asia and
  twitch (stratified 60/20/20 split per seed; structural features where the
  graph has none), ``--social-seeds`` seeds.
* ``deep``: APPNP and GCNII (``--deep-models``) on Cora and CiteSeer, public
  split, with the CLI's paper defaults (GCNII on CiteSeer: the paper's 32
  layers of 256, λ = 0.6, dropout 0.7), on ``--device``.

Run from the repository root::

    python benchmarks/node_classification.py --root ../shared/data --threads 1

Prints Markdown tables (the ones in docs/results.md) and, with ``--json``,
writes every number.
"""
from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from gnnkit.datasets import load
from gnnkit.train.node import PAPER_DEFAULTS, NodeClassificationTrainer, NodeTrainConfig, build_model, prepare_graph


def gnnkit_run(graph, model: str, seed: int, dataset: str, model_overrides: dict | None = None, **overrides):
    """One gnnkit run with the model's paper defaults; returns (result, seconds incl. preparation)."""
    d = dict(PAPER_DEFAULTS[model])
    hparams = {"hidden_channels": d.pop("hidden"), "dropout": d.pop("dropout")}
    if "layers" in d:
        hparams["num_layers"] = d.pop("layers")
    for key in ("heads", "out_heads", "K", "alpha", "theta", "edge_dropout"):
        if key in d:
            hparams[key] = d.pop(key)
    hparams.update(model_overrides or {})
    d.update(overrides)
    start = time.perf_counter()
    config = NodeTrainConfig(seed=seed, quiet=True, dataset=dataset, **{"device": "cpu", **d})
    prepared = prepare_graph(graph, config)
    result = NodeClassificationTrainer(build_model(model, prepared, config, **hparams), prepared, config).fit()
    return result, time.perf_counter() - start


def pyg_gcn_run(graph, seed: int, epochs: int = 200, patience: int = 10):
    """torch_geometric's GCN under the same protocol as ``gnnkit_run(..., "gcn")``:
    the structure of PyG's examples/gcn.py with its row normalisation
    (NormalizeFeatures), first-layer weight decay, and our early stopping."""
    from torch_geometric.nn import GCNConv

    start = time.perf_counter()
    torch.manual_seed(seed)
    x = graph.x / graph.x.sum(1, keepdim=True).clamp(min=1e-12)  # T.NormalizeFeatures
    ei, y = graph.edge_index, graph.y
    train, val, test = graph.train_mask, graph.val_mask, graph.test_mask

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = GCNConv(x.size(1), 16, cached=True)
            self.conv2 = GCNConv(16, int(y.max()) + 1, cached=True)

        def forward(self, x, ei):
            x = F.dropout(x, 0.5, self.training)
            x = F.relu(self.conv1(x, ei))
            x = F.dropout(x, 0.5, self.training)
            return self.conv2(x, ei)

    model = Net()
    opt = torch.optim.Adam([dict(params=model.conv1.parameters(), weight_decay=5e-4),
                            dict(params=model.conv2.parameters(), weight_decay=0.0)], lr=0.01)
    best_loss, best_state, bad = float("inf"), None, 0
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        loss = F.cross_entropy(model(x, ei)[train], y[train])
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            out = model(x, ei)
            val_loss = float(F.cross_entropy(out[val], y[val]))
            pred = out.argmax(1)
            _ = [float((pred[m] == y[m]).float().mean()) for m in (train, val, test)]
        if val_loss < best_loss:
            best_loss, bad = val_loss, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        pred = model(x, ei).argmax(1)
    return float((pred[test] == y[test]).float().mean()), time.perf_counter() - start


def mean_std(values):
    return 100 * statistics.mean(values), 100 * statistics.pstdev(values)


def part_gcn(root, seeds: int, pyg_seeds: int, report: dict) -> None:
    print(f"\n### GCN, public split, paper protocol (gnnkit: {seeds} seeds, PyG: {pyg_seeds} seeds; "
          f"wall time for {seeds} seeds, PyG's extrapolated from its per-seed mean when it ran fewer)\n")
    print("| dataset | gnnkit GCN test acc | PyG GCN test acc | paper | gnnkit wall time | PyG wall time | speed-up |")
    print("|---|---|---|---|---|---|---|")
    paper = {"cora": 81.5, "citeseer": 70.3}
    for name in ("cora", "citeseer"):
        graph = load(name, root=root, download=False, progress=False)
        ours, theirs, t_ours, t_theirs, epochs = [], [], 0.0, 0.0, []
        gnnkit_run(graph, "gcn", 0, name, epochs=5)  # warm-up: imports, allocator
        pyg_gcn_run(graph, 0, epochs=5)
        for seed in range(seeds):
            result, seconds = gnnkit_run(graph, "gcn", seed, name)
            ours.append(result.test_accuracy)
            epochs.append(result.epochs_run)
            t_ours += seconds
            if seed < pyg_seeds:
                acc, seconds = pyg_gcn_run(graph, seed)
                theirs.append(acc)
                t_theirs += seconds
            print(f"  {name} seed {seed}: gnnkit {result.test_accuracy:.3f} ({t_ours:.1f} s so far), "
                  f"PyG {theirs[-1]:.3f} ({t_theirs:.1f} s so far)", file=sys.stderr, flush=True)
        t_theirs *= seeds / len(theirs)  # wall time for the same number of seeds
        (m, s), (pm, ps) = mean_std(ours), mean_std(theirs)
        print(f"| {name} | {m:.2f} ± {s:.2f} | {pm:.2f} ± {ps:.2f} | {paper[name]} | {t_ours:.1f} s | "
              f"{t_theirs:.1f} s | {t_theirs / t_ours:.2f}× |")
        report[f"gcn_{name}"] = dict(gnnkit=ours, pyg=theirs, gnnkit_seconds=t_ours, pyg_seconds=t_theirs,
                                     epochs_run=epochs, speedup=t_theirs / t_ours)


def part_gat(root, seeds: int, report: dict) -> None:
    graph = load("cora", root=root, download=False, progress=False)
    accs, seconds, epochs = [], 0.0, []
    for seed in range(seeds):
        result, t = gnnkit_run(graph, "gat", seed, "cora")
        accs.append(result.test_accuracy)
        epochs.append(result.epochs_run)
        seconds += t
        print(f"  gat seed {seed}: {result.test_accuracy:.3f}, {result.epochs_run} epochs, {t:.0f} s",
              file=sys.stderr, flush=True)
    m, s = mean_std(accs)
    print(f"\n### GAT on Cora, public split (mean ± std over {seeds} seeds)\n")
    print("| model | test acc | paper | epochs run | wall time |\n|---|---|---|---|---|")
    print(f"| GAT 8×8 heads, 1 output head | {m:.2f} ± {s:.2f} | 83.0 ± 0.7 | {min(epochs)}–{max(epochs)} | {seconds:.1f} s |")
    report["gat_cora"] = dict(gnnkit=accs, seconds=seconds, epochs_run=epochs)


def part_social(root, seeds: int, report: dict) -> None:
    print(f"\n### Social graphs, stratified 60/20/20 split (test accuracy, mean ± std over {seeds} seeds)\n")
    print("| dataset | features | GCN | GraphSAGE | MLP |\n|---|---|---|---|---|")
    for name in ("facebook", "lastfm-asia", "twitch"):
        graph = load(name, root=root, download=False, progress=False)
        cells = []
        for model in ("gcn", "sage", "mlp"):
            accs = [gnnkit_run(graph, model, seed, name)[0].test_accuracy for seed in range(seeds)]
            print(f"  {name} {model}: {accs}", file=sys.stderr, flush=True)
            cells.append(mean_std(accs))
            report[f"social_{name}_{model}"] = accs
        feats = f"given ({graph.num_features})" if graph.x is not None else "structural (36)"
        print(f"| {name} | {feats} | " + " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in cells) + " |")


def part_deep(root, seeds: int, models: list[str], device: str, report: dict) -> None:
    print(f"\n### APPNP and GCNII, public split (mean ± std over {seeds} seeds, {device})\n")
    print("| model | dataset | test acc | paper | epochs run | wall time |\n|---|---|---|---|---|---|")
    paper = {("appnp", "cora"): 83.3, ("appnp", "citeseer"): 71.8, ("gcnii", "cora"): 85.5,
             ("gcnii", "citeseer"): 73.4}  # APPNP: its public-split figures in the GCNII paper
    citeseer_gcnii = dict(num_layers=32, hidden_channels=256, theta=0.6, dropout=0.7)
    for model in models:
        for name in ("cora", "citeseer"):
            graph = load(name, root=root, download=False, progress=False)
            extra = citeseer_gcnii if (model, name) == ("gcnii", "citeseer") else None
            accs, seconds, epochs = [], 0.0, []
            for seed in range(seeds):
                result, t = gnnkit_run(graph, model, seed, name, extra, device=device)
                accs.append(result.test_accuracy)
                epochs.append(result.epochs_run)
                seconds += t
                print(f"  {model} {name} seed {seed}: {result.test_accuracy:.3f}, {result.epochs_run} epochs, "
                      f"{t:.0f} s", file=sys.stderr, flush=True)
            m, s = mean_std(accs)
            print(f"| {model} | {name} | {m:.2f} ± {s:.2f} | {paper[model, name]} | {min(epochs)}–{max(epochs)} | "
                  f"{seconds:.1f} s |")
            report[f"{model}_{name}"] = dict(gnnkit=accs, seconds=seconds, epochs_run=epochs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help="data root holding NAME/raw (default: gnnkit's data root)")
    p.add_argument("--parts", default="gcn,gat,social", help="comma-separated parts: gcn, gat, social, deep")
    p.add_argument("--deep-models", default="appnp,gcnii", help="models of the deep part (default: appnp,gcnii)")
    p.add_argument("--device", default="cpu", help="device of the deep part (default: cpu)")
    p.add_argument("--seeds", type=int, default=10, help="seeds for the GCN and GAT parts (default: 10)")
    p.add_argument("--pyg-seeds", type=int, default=None, help="seeds for PyG in the gcn part (default: --seeds; "
                   "fewer extrapolates its wall time from the per-seed mean)")
    p.add_argument("--social-seeds", type=int, default=5, help="seeds for the social part (default: 5)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads for both libraries")
    p.add_argument("--json", default=None, help="write all numbers to this JSON file")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} thread(s), CPU")
    report: dict = {"threads": torch.get_num_threads()}
    parts = args.parts.split(",")
    if "gcn" in parts:
        part_gcn(args.root, args.seeds, args.pyg_seeds or args.seeds, report)
    if "gat" in parts:
        part_gat(args.root, args.seeds, report)
    if "social" in parts:
        part_social(args.root, args.social_seeds, report)
    if "deep" in parts:
        part_deep(args.root, args.seeds, args.deep_models.split(","), args.device, report)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
