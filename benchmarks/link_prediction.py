"""Link prediction: gnnkit's GAE / VGAE against PyG's autoencoder example, same process, alternating.

For every dataset, model and seed, two runs back to back:

* ``pyg`` — torch_geometric's ``examples/autoencoder.py`` as published:
  ``NormalizeFeatures`` + ``RandomLinkSplit(num_val=0.05, num_test=0.1,
  is_undirected=True, split_labels=True, add_negative_train_samples=False)``,
  a GCN encoder ``F → 32 → 16`` (``cached=True``), ``GAE`` / ``VGAE`` with
  one sampled negative per training edge (``recon_loss``, ``+ kl_loss / N``
  for VGAE), Adam lr 0.01, 400 epochs, the test pairs scored after every
  epoch (as the example prints them); its figure is the last epoch's.
* ``gnnkit`` — ``gnnkit train link --model M`` with its defaults (the split
  of ``gnnkit.sampling.split_edges``, ``LinkTask`` on the engine, the best
  validation epoch kept).

Both are seeded with the seed; AUC and AP are computed by
``gnnkit.train.link_metrics`` for both (scikit-learn's definitions). A run's
time is its wall time from the raw graph to the test figures, on
``--threads`` CPU threads. Run from the repository root::

    python benchmarks/link_prediction.py --root ../shared/data --seeds 10 --threads 1 --out results/link

``--quick`` runs 2 seeds of 50 epochs on Cora (a smoke test).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import table, write_results  # noqa: E402
from gnnkit.datasets import load  # noqa: E402
from gnnkit.train.link_metrics import average_precision, roc_auc  # noqa: E402


def pyg_run(graph, model: str, seed: int, epochs: int = 400) -> dict:
    """PyG's autoencoder example, unchanged but for the metric functions."""
    import torch_geometric.transforms as T
    from torch_geometric.data import Data
    from torch_geometric.nn import GAE, VGAE, GCNConv

    start = time.perf_counter()
    torch.manual_seed(seed)
    transform = T.Compose([T.NormalizeFeatures(), T.RandomLinkSplit(
        num_val=0.05, num_test=0.1, is_undirected=True, split_labels=True, add_negative_train_samples=False)])
    train_data, _, test_data = transform(Data(x=graph.x.clone(), edge_index=graph.edge_index.clone()))
    in_channels, out_channels = graph.num_features, 16

    class GCNEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = GCNConv(in_channels, 2 * out_channels, cached=True)
            self.conv2 = GCNConv(2 * out_channels, out_channels, cached=True)

        def forward(self, x, edge_index):
            return self.conv2(self.conv1(x, edge_index).relu(), edge_index)

    class VariationalGCNEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = GCNConv(in_channels, 2 * out_channels, cached=True)
            self.conv_mu = GCNConv(2 * out_channels, out_channels, cached=True)
            self.conv_logstd = GCNConv(2 * out_channels, out_channels, cached=True)

        def forward(self, x, edge_index):
            x = self.conv1(x, edge_index).relu()
            return self.conv_mu(x, edge_index), self.conv_logstd(x, edge_index)

    variational = model == "vgae"
    net = VGAE(VariationalGCNEncoder()) if variational else GAE(GCNEncoder())
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    auc = ap = 0.0
    for _ in range(epochs):
        net.train()
        optimizer.zero_grad()
        z = net.encode(train_data.x, train_data.edge_index)
        loss = net.recon_loss(z, train_data.pos_edge_label_index)
        if variational:
            loss = loss + (1 / train_data.num_nodes) * net.kl_loss()
        loss.backward()
        optimizer.step()
        net.eval()
        with torch.no_grad():  # the example's test(): score the test pairs every epoch
            z = net.encode(test_data.x, test_data.edge_index)
            pos = net.decoder(z, test_data.pos_edge_label_index, sigmoid=True)
            neg = net.decoder(z, test_data.neg_edge_label_index, sigmoid=True)
            scores = torch.cat([pos, neg])
            labels = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
            auc, ap = roc_auc(scores, labels), average_precision(scores, labels)
    return {"auc": auc, "ap": ap, "seconds": time.perf_counter() - start}


def gnnkit_run(graph, model: str, seed: int, epochs: int | None = None, dataset: str | None = None) -> dict:
    """``gnnkit train link --model MODEL`` with its defaults, as the CLI runs one seed."""
    from gnnkit.sampling import split_edges
    from gnnkit.train.config import OptimConfig, RunConfig, StopConfig
    from gnnkit.train.engine import Engine
    from gnnkit.train.tasks.link import MODEL_DEFAULTS, LinkConfig, LinkTask, build_model, link_features

    d = MODEL_DEFAULTS[model]
    start = time.perf_counter()
    config = LinkConfig(feature_norm=d["feature_norm"], neg_ratio=d["neg_ratio"], dataset=dataset)
    split = split_edges(graph, seed=seed)
    features = link_features(split, model, config)
    net = build_model(model, features, split.num_nodes, seed=seed)
    task = LinkTask(split, net, features, config, seed=seed)
    stop = StopConfig(epochs=epochs or d["epochs"])
    fit = Engine(task, OptimConfig(lr=d["lr"]), stop, RunConfig(seed=seed, device="cpu", progress=False)).fit()
    return {"auc": fit.metrics["test_auc"], "ap": fit.metrics["test_ap"], "seconds": time.perf_counter() - start,
            "best_epoch": fit.best_epoch}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=None, help="data root holding cora/ and citeseer/ (default: $GNNKIT_DATA)")
    p.add_argument("--datasets", default="cora,citeseer", help="comma-separated (default: cora,citeseer)")
    p.add_argument("--models", default="gae,vgae", help="comma-separated, gae and/or vgae (default: both)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per dataset and model (default: 10)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    p.add_argument("--quick", action="store_true", help="2 seeds of 50 epochs on Cora (smoke test)")
    p.add_argument("--out", default=None, help="folder for link_prediction.md / .json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    datasets, models, seeds = args.datasets.split(","), args.models.split(","), args.seeds
    epochs = None
    if args.quick:
        datasets, seeds, epochs = ["cora"], 2, 50
    rows, results = [], []
    for name in datasets:
        graph = load(name, root=args.root, download=False, progress=False)
        for model in models:
            runs: dict[str, list[dict]] = {"pyg": [], "gnnkit": []}
            for seed in range(seeds):  # alternate, so machine noise hits both alike
                runs["pyg"].append(pyg_run(graph, model, seed, epochs or 400))
                runs["gnnkit"].append(gnnkit_run(graph, model, seed, epochs, name))
                print(f"{name} {model} seed {seed}: " + ", ".join(
                    f"{k} AUC {r[-1]['auc']:.4f} AP {r[-1]['ap']:.4f} {r[-1]['seconds']:.1f} s"
                    for k, r in runs.items()), file=sys.stderr, flush=True)
            pyg_time = statistics.median(r["seconds"] for r in runs["pyg"])
            for impl, rs in runs.items():
                auc = [100 * r["auc"] for r in rs]
                ap = [100 * r["ap"] for r in rs]
                sec = statistics.median(r["seconds"] for r in rs)
                rows.append([name, model, impl, f"{statistics.mean(auc):.2f} ± {statistics.pstdev(auc):.2f}",
                             f"{statistics.mean(ap):.2f} ± {statistics.pstdev(ap):.2f}", f"{sec:.2f}",
                             f"{pyg_time / sec:.2f}x"])
                results.append({"dataset": name, "model": model, "impl": impl, "runs": rs,
                                "auc_mean": statistics.mean(auc), "ap_mean": statistics.mean(ap),
                                "median_seconds": sec})
    text = table(rows, ["dataset", "model", "impl", "test AUC %", "test AP %", "s / run (median)", "speed vs pyg"])
    text += f"\n\n{seeds} seeds, {torch.get_num_threads()} thread(s); `python benchmarks/link_prediction.py " + \
            " ".join(argv if argv is not None else sys.argv[1:]) + "`"
    write_results(args.out, "link_prediction", text, results)


if __name__ == "__main__":
    main()
