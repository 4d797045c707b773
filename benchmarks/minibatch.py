"""Mini-batch GraphSAGE on a products-shaped graph: gnnkit against PyG's NeighborLoader example.

The graph is ``gnnkit.datasets.synthetic`` shaped like ogbn-products
(2,449,029 nodes, 61,859,140 directed edges, 100 features, 47 classes, 8 %
of the nodes for training); the real dataset is not on these machines. The
model and loop are those of PyG's ``examples/ogbn_products_sage.py``: three
mean-``SAGEConv`` layers of 256, fan-out 15,10,5, batches of 1024 seed
nodes, Adam at lr 0.003, dropout 0.5, and layer-wise inference over all
nodes in blocks of 4096 (``SAGE.inference`` with a ``[-1]`` subgraph loader).

* **pyg**: ``torch_geometric.loader.NeighborLoader`` samples on the CPU (the
  example's data stays in host memory) and each batch is copied to the
  device; ``torch_geometric.nn.SAGEConv`` layers.
* **gnnkit**: the graph lives on the device, ``gnnkit.sampling.NeighborLoader``
  samples there, ``gnnkit.nn.models.GraphSAGE``; inference with
  ``gnnkit.nn.inference.layerwise_inference``.

Both run in the same process, epoch by epoch in alternation. Reported per
library: seconds for one training epoch (sampling, copies and training),
seconds for inference over all nodes, and peak device memory (CUDA only).

    python benchmarks/minibatch.py --device cuda --out $OUT     # products-shaped
    python benchmarks/minibatch.py --quick                      # 100k nodes on CPU
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import environment, sync, table, write_results  # noqa: E402
from benchmarks.sampling import pyg_backend  # noqa: E402

PRODUCTS = dict(nodes=2_449_029, edges=61_859_140, features=100, classes=47, train=0.08)


def pyg_model(in_channels: int, hidden: int, out: int, layers: int, dropout: float):
    from torch_geometric.nn import SAGEConv

    class SAGE(torch.nn.Module):  # PyG's examples/ogbn_products_sage.py
        def __init__(self):
            super().__init__()
            sizes = [in_channels] + [hidden] * (layers - 1) + [out]
            self.convs = torch.nn.ModuleList(SAGEConv(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

        def forward(self, x, edge_index):
            for i, conv in enumerate(self.convs):
                x = conv(x, edge_index)
                if i < len(self.convs) - 1:
                    x = F.dropout(x.relu(), p=dropout, training=self.training)
            return x

        @torch.no_grad()
        def inference(self, x_all, loader, device):
            for i, conv in enumerate(self.convs):
                xs = []
                for batch in loader:
                    x = conv(x_all[batch.n_id].to(device), batch.edge_index.to(device))
                    if i < len(self.convs) - 1:
                        x = x.relu_()
                    xs.append(x[: batch.batch_size].cpu())
                x_all = torch.cat(xs, dim=0)
            return x_all

    return SAGE()


def peak_memory(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def train_step(model, optimizer, x, edge_index, y, batch_size: int) -> torch.Tensor:
    """One step on a sampled sub-graph: the loss on its seed nodes (the first ``batch_size``)."""
    loss = F.cross_entropy(model(x, edge_index)[:batch_size], y[:batch_size])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def pyg_contender(graph, train_idx, fanout, args, device):
    """PyG's example: its loaders over host memory, batches copied to the device."""
    from torch_geometric.loader import NeighborLoader as PygLoader

    data = graph.to_pyg()
    data.n_id = torch.arange(data.num_nodes)
    torch.manual_seed(0)
    peer = pyg_model(graph.num_features, args.hidden, graph.num_classes, len(fanout), 0.5).to(device)
    peer_opt = torch.optim.Adam(peer.parameters(), lr=0.003)
    train_loader = PygLoader(data, input_nodes=train_idx, num_neighbors=fanout, shuffle=True,
                             batch_size=args.batch_size)
    subgraph_loader = PygLoader(copy.copy(data), input_nodes=None, num_neighbors=[-1], shuffle=False,
                                batch_size=4096)
    del subgraph_loader.data.x, subgraph_loader.data.y  # as the example: only the structure is sampled

    def pyg_epoch(epoch: int) -> float:
        peer.train()
        total = torch.zeros((), device=device)
        for batch in train_loader:
            batch = batch.to(device)
            total += train_step(peer, peer_opt, batch.x, batch.edge_index, batch.y, batch.batch_size)
        return float(total) / len(train_loader)

    def pyg_inference() -> float:
        peer.eval()
        out = peer.inference(data.x, subgraph_loader, device)
        return float((out.argmax(1)[data.test_mask] == data.y[data.test_mask]).float().mean())

    return pyg_epoch, pyg_inference


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--nodes", type=int, default=PRODUCTS["nodes"])
    p.add_argument("--edges", type=int, default=PRODUCTS["edges"], help="directed edges (half drawn, stored both ways)")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--fanout", default="15,10,5")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per library, in alternation (default 2)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--quick", action="store_true", help="100k nodes, 2M edges")
    p.add_argument("--out", default=None, help="folder for minibatch.md / minibatch.json")
    args = p.parse_args()
    if args.quick:
        args.nodes, args.edges = 100_000, 2_000_000
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    from gnnkit.datasets import synthetic
    from gnnkit.sampling.neighbor import NeighborLoader
    from gnnkit.nn.inference import layerwise_inference
    from gnnkit.nn.models import GraphSAGE

    graph = synthetic(num_nodes=args.nodes, num_edges=args.edges // 2, num_features=PRODUCTS["features"],
                      num_classes=PRODUCTS["classes"], seed=0,
                      split=(PRODUCTS["train"], 0.02, 1 - PRODUCTS["train"] - 0.02))
    fanout = [int(k) for k in args.fanout.split(",")]
    train_idx = graph.train_mask.nonzero().flatten()
    print(f"graph: {graph.num_nodes:,} nodes, {graph.num_edges:,} edges, {graph.num_features} features, "
          f"{graph.num_classes} classes, {train_idx.numel():,} training nodes; fan-out {fanout}, "
          f"batch {args.batch_size}, hidden {args.hidden}")
    backend = pyg_backend()
    print(environment(), f"| PyG sampler: {backend}")

    # gnnkit: graph and sampling on the device
    g_dev = graph.to(device)
    adj = g_dev.csr()
    torch.manual_seed(0)
    ours = GraphSAGE(graph.num_features, args.hidden, graph.num_classes, num_layers=len(fanout),
                     dropout=0.5).to(device)
    ours_opt = torch.optim.Adam(ours.parameters(), lr=0.003)
    ours_seeds = train_idx.to(device)

    def gnnkit_epoch(epoch: int) -> float:
        ours.train()
        loader = NeighborLoader(g_dev, fanout, batch_size=args.batch_size, input_nodes=ours_seeds, shuffle=True,
                                seed=epoch)
        total = torch.zeros((), device=device)
        for batch in loader:
            sub = batch.graph
            total += train_step(ours, ours_opt, sub.x, sub.edge_index, sub.y, batch.batch_size)
        return float(total) / len(loader)

    def gnnkit_inference() -> float:
        out = layerwise_inference(ours, g_dev.x, adj, batch_size=4096, device=device)
        return float((out.argmax(1)[g_dev.test_mask] == g_dev.y[g_dev.test_mask]).float().mean())

    contenders = {"gnnkit": (gnnkit_epoch, gnnkit_inference)}
    if backend.startswith("none"):  # PyG's NeighborLoader has no sampling kernel to run
        print("PyG's NeighborLoader needs pyg-lib or torch-sparse; timing gnnkit alone")
    else:
        contenders["pyg"] = pyg_contender(graph, train_idx, fanout, args, device)
    epoch_s = {name: [] for name in contenders}
    infer_s, acc, peak = {}, {}, {}
    for epoch in range(1, args.epochs + 1):
        for name, (train, _) in contenders.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            sync(str(device))
            start = time.perf_counter()
            loss = train(epoch)
            sync(str(device))
            epoch_s[name].append(time.perf_counter() - start)
            peak[name] = max(peak.get(name) or 0.0, peak_memory(device) or 0.0) if device.type == "cuda" else None
            print(f"  {name} epoch {epoch}: {epoch_s[name][-1]:.1f} s, loss {loss:.3f}", flush=True)
    for name, (_, infer) in contenders.items():
        sync(str(device))
        start = time.perf_counter()
        acc[name] = infer()
        sync(str(device))
        infer_s[name] = time.perf_counter() - start
        print(f"  {name} inference: {infer_s[name]:.1f} s, test accuracy {acc[name]:.3f}", flush=True)

    best = {name: min(ts) for name, ts in epoch_s.items()}
    rows, results = [], []
    for name in contenders:
        mem = "-" if peak[name] is None else f"{peak[name]:.2f}"
        ratio = (lambda d: f"{d['pyg'] / d[name]:.2f}x") if "pyg" in contenders else (lambda d: "-")
        rows.append([name, f"{best[name]:.1f}", ratio(best), f"{infer_s[name]:.1f}", ratio(infer_s),
                     f"{acc[name]:.3f}", mem])
        results.append(dict(library=name, epoch_s=epoch_s[name], inference_s=infer_s[name], test_accuracy=acc[name],
                            peak_device_gib=peak[name], pyg_sampler=backend, nodes=graph.num_nodes,
                            edges=graph.num_edges, fanout=fanout, batch_size=args.batch_size, device=str(device)))
    text = (f"{graph.num_nodes:,} nodes, {graph.num_edges:,} edges, fan-out {args.fanout}, batch {args.batch_size}, "
            f"{device}; PyG sampler: {backend}\n\n"
            + table(rows, ["library", "s / epoch (best)", "speed-up vs pyg", "s / inference", "speed-up vs pyg",
                           f"test acc after {args.epochs} epochs", "peak device GiB (training)"]))
    write_results(args.out, "minibatch", text, results)


if __name__ == "__main__":
    main()
