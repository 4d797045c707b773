"""Friend recommendation: a GNN link predictor against common neighbours and Adamic–Adar.

On a social graph (the MUSAE Facebook page-page network by default; any graph
dataset with ``--dataset``):

1. hold out 5 % of the friendships for validation and 10 % for test
   (``gnnkit.sampling.split_edges``): the test friendships are the ones to
   find again;
2. train gnnkit's link predictor on the rest (``--model``, the defaults of
   ``gnnkit train link``; a graph without node features gets a learnable
   vector per node);
3. score the same training graph with the two classic heuristics, common
   neighbours ``|N(u) ∩ N(v)|`` and Adamic–Adar ``Σ_{w ∈ N(u) ∩ N(v)} 1 / log deg(w)``;
4. compare them on the test pairs (ROC-AUC, AP) and as a recommender:
   for every user with held-out friendships, suggest the ``k`` best-scored
   users who are not yet friends (training or validation), and count the
   share of suggestions that are held-out friends (precision@k, k = 1..20;
   ties broken at random, the same way for every method).

    python examples/friend_recommendation.py --root ../shared/data --out out/friends
    python examples/friend_recommendation.py --dataset twitch      # a social graph with node features
    python examples/friend_recommendation.py --hidden 128 --dim 64 --dropout 0.2   # wider: ranks better
    python examples/friend_recommendation.py --quick               # a smoke run: few epochs, lastfm-asia

Writes to ``--out``: ``precision_at_k.png``, ``results.md`` and ``results.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from _plotting import figures, positive_int, pyplot, run

from gnnkit import datasets
from gnnkit.sampling import split_edges
from gnnkit.train.config import OptimConfig, RunConfig, StopConfig
from gnnkit.train.engine import Engine
from gnnkit.train.link_metrics import average_precision, roc_auc
from gnnkit.train.tasks.link import MODEL_DEFAULTS, LinkConfig, LinkTask, build_model, link_features

plt = pyplot()  # None without matplotlib: everything but the figures still runs

KS = list(range(1, 21))


def adjacency(pairs: torch.Tensor, n: int) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency of undirected pairs."""
    u, v = pairs.cpu().numpy()
    a = sp.coo_matrix((np.ones(2 * u.size), (np.r_[u, v], np.r_[v, u])), shape=(n, n)).tocsr()
    a.data[:] = 1.0
    return a


def heuristic_weights(a: sp.csr_matrix) -> dict[str, sp.csr_matrix]:
    """``score = A W A`` with ``W = I`` (common neighbours) or ``diag(1 / log deg)`` (Adamic–Adar)."""
    deg = np.asarray(a.sum(1)).ravel()
    inv_log = np.where(deg > 1, 1.0 / np.log(np.maximum(deg, 2)), 0.0)  # a neighbour of degree 1 joins no pair
    return {"common neighbours": a, "Adamic–Adar": sp.diags(inv_log) @ a}


def pair_scores(a: sp.csr_matrix, weighted: sp.csr_matrix, pairs: torch.Tensor) -> np.ndarray:
    """Heuristic score of each pair ``(u, v)``: ``(A W)[u] · A[v]``."""
    u, v = pairs.cpu().numpy()
    left = (a[u] @ weighted)  # rows (A W)[u]; W symmetric diagonal, so (A W A)[u, v] = (A W)[u] · A[v]
    return np.asarray(left.multiply(a[v]).sum(1)).ravel()


def precision_at_k(score_rows, users: np.ndarray, known: sp.csr_matrix, relevant: sp.csr_matrix,
                   seed: int = 0, batch: int = 512) -> np.ndarray:
    """Mean over ``users`` of the share of held-out friends among the top-k
    non-friends, for every k in ``KS``; ``score_rows(batch_of_users)`` gives a
    dense ``[b, N]`` score block."""
    rng = np.random.default_rng(seed)
    total = np.zeros(len(KS))
    for start in range(0, len(users), batch):
        ids = users[start:start + batch]
        scores = np.asarray(score_rows(ids), dtype=np.float64)
        scores = scores + 1e-9 * rng.random(scores.shape)  # random tie-break, the same rule for every method
        mask = known[ids].toarray() > 0
        mask[np.arange(len(ids)), ids] = True  # never suggest the user itself
        scores[mask] = -np.inf
        top = np.argpartition(-scores, max(KS), axis=1)[:, :max(KS)]
        order = np.take_along_axis(scores, top, 1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, 1)
        hits = np.take_along_axis(relevant[ids].toarray() > 0, top, 1)
        total += np.array([hits[:, :k].mean(1).sum() for k in KS])
    return total / len(users)


def train_link_model(graph, split, model: str, epochs: int | None, seed: int, **hparams):
    d = MODEL_DEFAULTS[model]
    config = LinkConfig(feature_norm=d["feature_norm"], neg_ratio=d["neg_ratio"])
    features = link_features(split, model, config)
    net = build_model(model, features, split.num_nodes, seed=seed, **hparams)
    task = LinkTask(split, net, features, config, seed=seed)
    stop = StopConfig(epochs=epochs or d["epochs"])
    fit = Engine(task, OptimConfig(lr=d["lr"]), stop, RunConfig(seed=seed, device="cpu", progress=True)).fit()
    return task, fit, features.description


def plot_precision(curves: dict[str, np.ndarray], title: str, path: Path) -> None:
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=100)
    for (name, curve), style in zip(curves.items(), ("-o", "--s", ":^")):
        ax.plot(KS, 100 * curve, style, markersize=4, label=name)
    ax.set_xlabel("k (suggestions per user)")
    ax.set_ylabel("precision@k (%): suggestions that are held-out friends")
    ax.set_title(title)
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="facebook", help="graph dataset (default: facebook)")
    p.add_argument("--root", default=None, help="data root (default: $GNNKIT_DATA or the default data folder)")
    p.add_argument("--model", default="gae", choices=sorted(MODEL_DEFAULTS), help="link model (default: gae)")
    p.add_argument("--epochs", type=positive_int, default=None, help="training epochs (default: the model's default)")
    p.add_argument("--hidden", type=positive_int, default=None, help="width of the first layer (default: the model's)")
    p.add_argument("--dim", type=positive_int, default=None, help="embedding width (default: the model's); a graph "
                   "without features ranks better with a wider one, e.g. --hidden 128 --dim 64 --dropout 0.2")
    p.add_argument("--dropout", type=float, default=None, help="dropout (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the model (default: 0)")
    p.add_argument("--users", type=positive_int, default=None, help="evaluate precision@k on at most this many users "
                   "(default: every user with a held-out friendship)")
    p.add_argument("--device", default="cpu", help="only cpu is used by this example (kept for a uniform CLI)")
    p.add_argument("--quick", action="store_true", help="smoke run: lastfm-asia, 40 epochs, 1000 users")
    p.add_argument("--out", default="out/friends", help="output folder (default: out/friends)")
    args = p.parse_args(argv)
    if args.quick:
        args.dataset = "lastfm-asia" if args.dataset == "facebook" else args.dataset
        args.epochs, args.users = args.epochs or 40, args.users or 1000
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    graph = datasets.load(args.dataset, root=args.root, progress=False)
    split = split_edges(graph, seed=args.seed)
    n = graph.num_nodes
    print(f"{args.dataset}: {n} users, {split.train_pos.size(1)} training / {split.val_pos.size(1)} validation / "
          f"{split.test_pos.size(1)} test friendships")

    t0 = time.perf_counter()
    hparams = {k: v for k, v in (("hidden", args.hidden), ("out", args.dim), ("dropout", args.dropout)) if v is not None}
    task, fit, features = train_link_model(graph, split, args.model, args.epochs, args.seed, **hparams)
    train_seconds = time.perf_counter() - t0
    z = task.embeddings()
    print(f"{args.model} trained in {train_seconds:.1f} s (best epoch {fit.best_epoch}; features: {features})")

    a = adjacency(split.train_pos, n)
    heuristics = heuristic_weights(a)
    test_pairs, test_labels = split.pairs("test")
    table: dict[str, dict[str, float]] = {}
    gnn_name = f"gnnkit {args.model.upper()}"
    with torch.no_grad():
        gnn = task.model.decode(z, test_pairs).float()
    table[gnn_name] = {"auc": roc_auc(gnn, test_labels), "ap": average_precision(gnn, test_labels)}
    for name, weighted in heuristics.items():
        s = torch.from_numpy(pair_scores(a, weighted, test_pairs))
        table[name] = {"auc": roc_auc(s, test_labels), "ap": average_precision(s, test_labels)}

    # precision@k: suggestions exclude every current friendship (training and validation)
    known = a + adjacency(split.val_pos, n)
    relevant = adjacency(split.test_pos, n)
    users = np.flatnonzero(np.asarray(relevant.sum(1)).ravel() > 0)
    if args.users is not None and len(users) > args.users:
        users = np.sort(np.random.default_rng(args.seed).choice(users, args.users, replace=False))
    z_np = z.cpu().numpy()
    rows = {gnn_name: (lambda ids: z_np[ids] @ z_np.T)}  # the inner-product decoder, all candidates at once
    if args.model in ("gcn", "sage") and task.spec.get("decoder", "dot") != "dot":
        def rows_decoder(ids):
            cand = torch.arange(n)
            with torch.no_grad():
                return np.stack([task.model.decode(z, torch.stack([torch.full_like(cand, int(u)), cand])).numpy()
                                 for u in ids])
        rows[gnn_name] = rows_decoder
    for name, weighted in heuristics.items():
        rows[name] = (lambda ids, w=weighted: (a[ids] @ w @ a).toarray())
    curves = {name: precision_at_k(fn, users, known, relevant, seed=args.seed) for name, fn in rows.items()}
    for name in table:
        table[name].update({f"precision@{k}": float(curves[name][k - 1]) for k in (1, 5, 10, 20)})

    plot_precision(curves, f"{args.dataset}: friend suggestions for {len(users)} users", out / "precision_at_k.png")

    lines = ["| method | test AUC % | test AP % | P@1 % | P@5 % | P@10 % | P@20 % |", "|---|---|---|---|---|---|---|"]
    for name, r in table.items():
        lines.append(f"| {name} | {100 * r['auc']:.2f} | {100 * r['ap']:.2f} | " + " | ".join(
            f"{100 * r[f'precision@{k}']:.2f}" for k in (1, 5, 10, 20)) + " |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps({
        "dataset": args.dataset, "model": args.model, "hparams": hparams, "seed": args.seed, "features": features,
        "users": len(users),
        "best_epoch": fit.best_epoch, "train_seconds": train_seconds, "table": table,
        "precision_at_k": {name: curve.tolist() for name, curve in curves.items()}, "ks": KS}, indent=1))

    user = int(users[0])
    scores = z_np[user] @ z_np.T
    scores[known[user].indices] = -np.inf
    scores[user] = -np.inf
    best = np.argsort(-scores)[:5].tolist()
    held_out = set(relevant[user].indices.tolist())
    print(f"user {user}: suggested {best}; held-out friends among them: {sorted(held_out & set(best))}")
    print("\n".join(lines))
    winner = max(table, key=lambda name: table[name]["precision@10"])
    print(f"Summary: on {args.dataset}, {gnn_name} reaches test AUC {100 * table[gnn_name]['auc']:.2f} % "
          f"(Adamic–Adar {100 * table['Adamic–Adar']['auc']:.2f} %, common neighbours "
          f"{100 * table['common neighbours']['auc']:.2f} %); best precision@10: {winner}. "
          f"Tables in {out}/ (results.md, results.json); {figures(plt, ['precision_at_k.png'])}")


if __name__ == "__main__":
    raise SystemExit(run(main))
