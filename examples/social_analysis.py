"""Social network analysis: statistics, classification, influence, embeddings, communities.

On a social graph (the Facebook page-page network by default; any MUSAE
dataset with ``--dataset``, or your own CSV files with ``--edges/--labels``):

1. network statistics: size, degree distribution (plot), connected components,
   clustering coefficients;
2. page-category classification, GCN vs an MLP that ignores the edges (the
   MUSAE sets used here have no node features, so both read the same
   structural features that the trainer builds: degree and random projections
   of the neighbourhood);
3. the most influential nodes by PageRank vs by *embedding centrality*, the
   summed cosine similarity of a node's learned GCN embedding to every other
   node's (a node the model represents like many others);
4. a 2-D map of the learned embeddings coloured by class (the same linear
   discriminant projection for both models, fitted on the training nodes);
5. Louvain communities (networkx) compared with the classes (NMI, ARI, purity).

    python examples/social_analysis.py --root ../shared/data --out out/social
    python examples/social_analysis.py --dataset lastfm-asia
    python examples/social_analysis.py --edges my_edges.csv --labels my_labels.csv
    python examples/social_analysis.py --quick       # a smoke run: few epochs

Writes to ``--out``: ``degree_distribution.png``, ``embedding_map.png``,
``communities.png``, ``results.md`` and ``results.json``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from scipy.stats import spearmanr
from _plotting import class_labels, figures, pyplot
from tqdm.auto import tqdm

from gnnkit import datasets
from gnnkit.train.node import NodeClassificationTrainer, NodeTrainConfig, build_model, prepare_graph

plt = pyplot()  # None without matplotlib: everything but the figures still runs

MODELS = {"mlp": "MLP", "gcn": "GCN"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=None, help="data root holding <name>/raw/ (default: $GNNKIT_DATA or datasets/)")
    p.add_argument("--out", default="out/social", help="folder for figures and tables (default out/social)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--quick", action="store_true", help="smoke run: at most 10 training epochs per model")
    p.add_argument("--dataset", default="facebook",
                   help="a MUSAE dataset: facebook (default), lastfm-asia, twitch, github, wikipedia, deezer")
    p.add_argument("--edges", default=None, help="your own edge list CSV (src,dst rows) instead of --dataset")
    p.add_argument("--labels", default=None, help="with --edges: CSV of id,label rows (needed for classification)")
    p.add_argument("--epochs", type=int, default=None, help="most training epochs (default 200, --quick 10)")
    p.add_argument("--hidden", type=int, default=64, help="hidden width = embedding size (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, weights and Louvain")
    p.add_argument("--top", type=int, default=10, help="how many influential nodes to list (default 10)")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 10 if args.quick else 200
    if args.edges is None and args.labels is not None:
        p.error("--labels needs --edges")
    return args


def load_graph(args: argparse.Namespace):
    if args.edges is not None:
        if args.labels is None:
            raise SystemExit("--edges given without --labels: classification and the class map need id,label rows")
        return datasets.from_csv(args.edges, args.labels), Path(args.edges).stem
    return datasets.load(args.dataset, root=args.root), args.dataset


# ----------------------------------------------------------------- statistics
def adjacency(graph) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency without self-loops."""
    ei = graph.edge_index.cpu().numpy()
    a = sp.coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(graph.num_nodes,) * 2).tocsr()
    a = ((a + a.T) > 0).astype(np.float64)
    a.setdiag(0)
    a.eliminate_zeros()
    return a


def network_statistics(a: sp.csr_matrix) -> tuple[dict, np.ndarray, np.ndarray]:
    """Sizes, components and clustering; triangles counted exactly as diag(A³)/2."""
    n = a.shape[0]
    deg = np.asarray(a.sum(1)).ravel()
    triangles = np.asarray((a @ a).multiply(a).sum(1)).ravel() / 2
    pairs = deg * (deg - 1) / 2
    local = np.divide(triangles, pairs, out=np.zeros(n), where=pairs > 0)
    num_comp, comp = connected_components(a, directed=False)
    sizes = np.bincount(comp)
    stats = {
        "nodes": int(n), "edges": int(a.nnz // 2), "mean_degree": float(deg.mean()), "max_degree": int(deg.max()),
        "median_degree": float(np.median(deg)), "isolated_nodes": int((deg == 0).sum()),
        "components": int(num_comp), "largest_component": int(sizes.max()),
        "largest_component_share": float(sizes.max() / n),
        "average_clustering": float(local.mean()), "transitivity": float(triangles.sum() * 3 / max(pairs.sum(), 1)),
        "triangles": int(triangles.sum() // 3),
    }
    return stats, deg, local


def plot_degrees(deg: np.ndarray, local: np.ndarray, name: str, path: Path) -> None:
    if plt is None:
        return
    fig, (ax_d, ax_c) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    values, counts = np.unique(deg[deg > 0].astype(int), return_counts=True)
    ax_d.loglog(values, counts, ".", alpha=0.6, label="nodes with degree k")
    ccdf = 1.0 - np.cumsum(counts) / counts.sum() + counts / counts.sum()
    ax_d2 = ax_d.twinx()
    ax_d2.loglog(values, ccdf, "-", color="tab:red", label="P(degree ≥ k)")
    ax_d2.set_ylabel("P(degree ≥ k)", color="tab:red")
    ax_d.set_xlabel("degree k")
    ax_d.set_ylabel("number of nodes")
    ax_d.set_title(f"{name}: degree distribution")
    ax_d.grid(alpha=0.3, which="both")
    # mean local clustering per degree: how cliquish neighbourhoods are as hubs grow
    bins = np.unique(np.logspace(0, np.log10(max(deg.max(), 2)), 25).astype(int))
    idx = np.digitize(deg, bins)
    xs, ys = [], []
    for b in range(1, len(bins) + 1):
        sel = (idx == b) & (deg >= 2)
        if sel.any():
            xs.append(deg[sel].mean())
            ys.append(local[sel].mean())
    ax_c.semilogx(xs, ys, "o-")
    ax_c.set_xlabel("degree k (log bins)")
    ax_c.set_ylabel("mean local clustering coefficient")
    ax_c.set_title("clustering vs degree")
    ax_c.set_ylim(0, 1)
    ax_c.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------- classification
def train(kind: str, graph, args: argparse.Namespace):
    """Train ``kind`` on a stratified 60/20/20 split; return the result and
    the node embeddings (the input of the model's last layer)."""
    config = NodeTrainConfig(epochs=args.epochs, lr=0.01, weight_decay=5e-4, weight_decay_layers="all", patience=50,
                             seed=args.seed, device=args.device, quiet=False, dataset=args.dataset)
    prepared = prepare_graph(graph, config)
    model = build_model(kind, prepared, config, hidden_channels=args.hidden, dropout=0.5)
    trainer = NodeClassificationTrainer(model, prepared, config)
    result = trainer.fit()
    captured = {}
    # the last layer's input is the learned representation (dropout is off in predict)
    hook = trainer.model.layers[-1].register_forward_pre_hook(lambda mod, inputs: captured.update(h=inputs[0]))
    pred = trainer.predict().cpu()
    hook.remove()
    return result, captured["h"].detach().float().cpu(), pred, prepared


def embedding_centrality(h: torch.Tensor) -> torch.Tensor:
    """Σ_j cos(h_i, h_j): large for nodes represented like many others (O(N·d))."""
    unit = torch.nn.functional.normalize(h, dim=1)
    return unit @ unit.sum(0)


def lda_2d(h: torch.Tensor, y: torch.Tensor, fit: torch.Tensor) -> torch.Tensor:
    """Fisher's linear discriminant: the two directions ``w`` that maximise
    ``wᵀ S_b w / wᵀ S_w w`` (between- over within-class scatter) on the nodes in
    ``fit``, applied to every node. The same projection for both models shows
    how far apart each model's embedding puts the classes."""
    h = h.double()
    x, labels = h[fit], y[fit]
    mean = x.mean(0)
    d = h.size(1)
    s_w, s_b = torch.zeros(d, d, dtype=h.dtype), torch.zeros(d, d, dtype=h.dtype)
    for c in labels.unique():
        xc = x[labels == c]
        centred = xc - xc.mean(0)
        s_w += centred.T @ centred
        s_b += len(xc) * torch.outer(xc.mean(0) - mean, xc.mean(0) - mean)
    # a ridge: ReLU units that never fire make S_w singular
    s_w += 1e-3 * torch.trace(s_w) / d * torch.eye(d, dtype=h.dtype)
    chol = torch.linalg.cholesky(s_w)
    inv = torch.linalg.solve_triangular(chol, torch.eye(d, dtype=h.dtype), upper=False)
    _, vecs = torch.linalg.eigh(inv @ s_b @ inv.T)  # eigenvalues ascending
    w = inv.T @ vecs[:, -2:].flip(1)
    return ((h - mean) @ w).float()


def plot_embeddings(maps: dict[str, torch.Tensor], y: torch.Tensor, shown: torch.Tensor, accs: dict[str, float],
                    name: str, path: Path, seed: int, note: str, max_points: int = 2000) -> None:
    if plt is None:
        return
    g = torch.Generator().manual_seed(seed)
    # test nodes only (the projection was fitted on training nodes); a sample keeps the plot readable
    keep = shown[torch.randperm(shown.numel(), generator=g)[:max_points]]
    classes = sorted(set(y[y >= 0].tolist()))
    label = class_labels(name, int(y.max()) + 1)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    fig, axes = plt.subplots(1, len(maps), figsize=(5.2 * len(maps), 4.8), dpi=100, squeeze=False)
    for ax, (kind, xy) in zip(axes[0], maps.items()):
        pts, lab = xy[keep].numpy(), y[keep].numpy()
        for k, c in enumerate(classes):
            sel = lab == c
            ax.scatter(pts[sel, 0], pts[sel, 1], s=3, alpha=0.5, color=cmap(k % cmap.N), label=label[c])
        # a few far-out hubs would squash the rest into a corner: zoom to the central 99 %
        lo, hi = np.percentile(pts, [0.5, 99.5], axis=0)
        pad = 0.05 * (hi - lo)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_xlabel("discriminant 1")
        ax.set_ylabel("discriminant 2")
        ax.set_title(f"{MODELS[kind]} embeddings (test acc {100 * accs[kind]:.1f}%)", fontsize=10)
        ax.grid(alpha=0.2)
    handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(k % cmap.N), label=label[c])
               for k, c in enumerate(classes)]
    fig.legend(handles=handles, loc="center right", fontsize=8, title="class", markerscale=1.2)
    fig.suptitle(f"{name}: learned node embeddings, 2-D linear discriminant fitted on the training nodes "
                 f"({keep.numel()} test nodes shown)\n{note}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.9 if len(classes) <= 20 else 0.85, 1))
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------- communities
def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)
    return table


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised mutual information (arithmetic-mean normalisation)."""
    t = contingency(a, b) / len(a)
    pa, pb = t.sum(1), t.sum(0)
    nz = t > 0
    mi = (t[nz] * np.log(t[nz] / np.outer(pa, pb)[nz])).sum()
    ha, hb = -(pa * np.log(pa)).sum(), -(pb * np.log(pb)).sum()
    return float(mi / ((ha + hb) / 2)) if ha + hb > 0 else 1.0


def ari(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index (Hubert & Arabie)."""
    t = contingency(a, b)

    def comb2(x):
        return (x * (x - 1) / 2).sum()

    index, ra, rb, total = comb2(t), comb2(t.sum(1)), comb2(t.sum(0)), comb2(np.array([len(a)]))
    expected = ra * rb / total
    return float((index - expected) / ((ra + rb) / 2 - expected))


def plot_communities(comm: np.ndarray, y: np.ndarray, name: str, scores: dict, path: Path, shown: int = 15) -> None:
    if plt is None:
        return
    classes = sorted(set(y.tolist()))
    label = class_labels(name, int(y.max()) + 1)
    ids, sizes = np.unique(comm, return_counts=True)
    order = ids[np.argsort(-sizes)][:shown]
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    bottom = np.zeros(len(order))
    for k, c in enumerate(classes):
        counts = np.array([((comm == o) & (y == c)).sum() for o in order])
        ax.bar(range(len(order)), counts, bottom=bottom, color=cmap(k % cmap.N), label=label[c])
        bottom += counts
    ax.set_xticks(range(len(order)), [str(k + 1) for k in range(len(order))])
    ax.set_xlabel(f"Louvain community (the {len(order)} largest of {len(ids)}, by size)")
    ax.set_ylabel("nodes")
    ax.set_title(f"{name}: class make-up of communities (NMI {scores['nmi']:.2f}, ARI {scores['ari']:.2f}, "
                 f"purity {scores['purity']:.2f})", fontsize=10)
    ax.legend(fontsize=8, ncol=1 if len(classes) <= 6 else 2, title="class")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = tqdm(total=5, desc="analysis", unit="step")

    steps.set_postfix_str("loading and statistics")
    graph, name = load_graph(args)
    print(f"{name}: {graph}")
    a = adjacency(graph)
    stats, deg, local = network_statistics(a)
    plot_degrees(deg, local, name, out / "degree_distribution.png")
    steps.update()

    steps.set_postfix_str("classification")
    runs = {kind: train(kind, graph, args) for kind in MODELS}
    accs = {kind: r[0].test_accuracy for kind, r in runs.items()}
    steps.update()

    steps.set_postfix_str("influence")
    G = nx.from_scipy_sparse_array(a)
    pagerank = np.array([v for _, v in sorted(nx.pagerank(G).items())])
    h_gcn = runs["gcn"][1]
    centrality = embedding_centrality(h_gcn).numpy()
    k = args.top
    top_pr, top_emb = np.argsort(-pagerank)[:k], np.argsort(-centrality)[:k]
    rho_pr = float(spearmanr(pagerank, centrality).statistic)
    rho_deg = float(spearmanr(deg, centrality).statistic)
    steps.update()

    steps.set_postfix_str("embedding map")
    y = graph.y.cpu()
    note = f"seed {args.seed}, test accuracy of that one seed, at most {args.epochs} epochs" + (
        ": far from convergence (--quick)" if args.quick else "")
    split = runs["gcn"][3]  # both models train on the same seeded split
    maps = {kind: lda_2d(runs[kind][1], y, split.train_mask.cpu()) for kind in MODELS}
    shown = split.test_mask.cpu().nonzero().flatten()
    plot_embeddings(maps, y, shown, accs, name, out / "embedding_map.png", args.seed, note)
    steps.update()

    steps.set_postfix_str("communities")
    comm_sets = nx.community.louvain_communities(G, seed=args.seed)
    comm = np.empty(graph.num_nodes, dtype=np.int64)
    for c, members in enumerate(comm_sets):
        comm[list(members)] = c
    labelled = y.numpy() >= 0
    yl, cl = y.numpy()[labelled], comm[labelled]
    purity = float(contingency(cl, yl).max(1).sum() / len(yl))
    modularity = float(nx.community.modularity(G, comm_sets))
    scores = {"communities": len(comm_sets), "modularity": modularity, "nmi": nmi(cl, yl), "ari": ari(cl, yl),
              "purity": purity, "class_majority": float(np.bincount(yl).max() / len(yl))}
    plot_communities(cl, yl, name, scores, out / "communities.png")
    steps.update()
    steps.close()

    # ------------------------------------------------------------ report
    rows = ["| rank | node (PageRank) | degree | class | PageRank | node (embedding) | degree | class | centrality |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r, (i, j) in enumerate(zip(top_pr, top_emb), 1):
        rows.append(f"| {r} | {i} | {int(deg[i])} | {int(y[i])} | {pagerank[i]:.5f} | {j} | {int(deg[j])} | "
                    f"{int(y[j])} | {centrality[j]:.0f} |")
    influence = "\n".join(rows)
    stats_lines = "\n".join(f"| {key.replace('_', ' ')} | {value:.4g} |" if isinstance(value, float)
                            else f"| {key.replace('_', ' ')} | {value} |" for key, value in stats.items())
    cls_lines = "\n".join(f"| {MODELS[kind]} | {100 * r[0].test_accuracy:.1f} | {100 * r[0].test_macro_f1:.1f} | "
                          f"{r[0].epochs_run} |" for kind, r in runs.items())
    report = (f"# {name}\n\n| statistic | value |\n|---|---|\n{stats_lines}\n\n"
              f"## Classification (stratified 60/20/20 split)\n\n| model | test accuracy (%) | macro-F1 (%) | epochs |\n"
              f"|---|---|---|---|\n{cls_lines}\n\n## Most influential nodes\n\n{influence}\n\n"
              f"Spearman correlation over all nodes: embedding centrality vs PageRank {rho_pr:.2f}, vs degree "
              f"{rho_deg:.2f}; top-{k} overlap {len(set(top_pr) & set(top_emb))}.\n\n"
              f"## Louvain communities vs classes\n\n"
              + "\n".join(f"- {key}: {value:.3f}" if isinstance(value, float) else f"- {key}: {value}"
                          for key, value in scores.items()) + "\n")
    print("\n" + report)
    (out / "results.md").write_text(report)
    (out / "results.json").write_text(json.dumps(
        {"dataset": name, "quick": args.quick, "statistics": stats,
         "classification": {kind: r[0].to_dict() | {"history": None} for kind, r in runs.items()},
         "influence": {"pagerank_top": top_pr.tolist(), "embedding_top": top_emb.tolist(),
                       "spearman_pagerank": rho_pr, "spearman_degree": rho_deg},
         "communities": scores}, indent=2))

    gain = 100 * (accs["gcn"] - accs["mlp"])
    print("Summary")
    print(f"  {name}: {stats['nodes']} nodes, {stats['edges']} edges, mean degree {stats['mean_degree']:.1f}, "
          f"{stats['components']} component(s) (largest {100 * stats['largest_component_share']:.1f} %), "
          f"average clustering {stats['average_clustering']:.3f}")
    print(f"  classification: GCN {100 * accs['gcn']:.1f} % vs MLP {100 * accs['mlp']:.1f} % test accuracy "
          f"({gain:+.1f} points from the edges)")
    print(f"  influence: top-{k} by PageRank and by embedding centrality share {len(set(top_pr) & set(top_emb))} "
          f"node(s); Spearman {rho_pr:.2f}")
    print(f"  communities: {scores['communities']} Louvain communities (modularity {modularity:.2f}), NMI with the "
          f"classes {scores['nmi']:.2f}, purity {purity:.2f} (majority class alone: {scores['class_majority']:.2f})")
    pngs = ["degree_distribution.png", "embedding_map.png", "communities.png"]
    print(f"  tables in {out}/ (results.md, results.json); {figures(plt, pngs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
