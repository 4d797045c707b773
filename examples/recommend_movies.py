"""Movie recommendation on MovieLens: LightGCN vs matrix factorisation (BPR).

Both models are trained with the LightGCN paper's recipe (BPR loss, Adam,
early stopping on validation recall@20) on a per-user 80/20 split of the
ratings. The script prints a table of test recall/ndcg@20 (with the
popularity floor), shows for a few users the films they rated highly next to
LightGCN's top-10 recommendations, and draws the training curves.

    python examples/recommend_movies.py --root ../shared/data --out out/movies
    python examples/recommend_movies.py --quick        # a smoke run: a few epochs

Writes to ``--out``: ``training_curves.png``, ``results.md`` (the table and
the recommendations) and ``results.json``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from _plotting import figures, positive_int, pyplot, run
from tqdm.auto import tqdm

from gnnkit import datasets
from gnnkit.datasets.interactions import positives_csr
from gnnkit.train.rec import RecommendationTrainer, RecTrainConfig, build_model, top_k

plt = pyplot()  # None without matplotlib: everything but the figure still runs

LABELS = {"lightgcn": "LightGCN", "mf": "MF (BPR)", "pop": "Popularity"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=None, help="data root holding <name>/raw/ (default: $GNNKIT_DATA or datasets/)")
    p.add_argument("--out", default="out/movies", help="folder for figures and tables (default out/movies)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--quick", action="store_true", help="smoke run: at most 3 epochs per model")
    p.add_argument("--dataset", default="ml-100k", help="ml-100k (default), ml-1m or ml-latest-small")
    p.add_argument("--epochs", type=positive_int, default=None, help="most epochs per model (default 300, --quick 3)")
    p.add_argument("--dim", type=positive_int, default=64, help="embedding size (default 64)")
    p.add_argument("--layers", type=positive_int, default=3, help="LightGCN propagation layers (default 3)")
    p.add_argument("--users", type=positive_int, nargs="+", default=[1, 2, 3],
                   help="users to show recommendations for, by the dataset's own ids (MovieLens: from 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, sampling and validation split")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 3 if args.quick else 300
    return args


def train(kind: str, data, args: argparse.Namespace) -> tuple[RecommendationTrainer, dict]:
    torch.manual_seed(args.seed)
    model = build_model(kind, data.num_users, data.num_items, embedding_dim=args.dim, num_layers=args.layers)
    # each model's own defaults (those of `gnnkit train rec --model KIND`): learning rate, L2, validation
    # every 5 epochs, 5 validations without a better recall@20 end a run
    config = RecTrainConfig.for_model(kind, epochs=args.epochs, device=args.device, seed=args.seed, progress=True)
    trainer = RecommendationTrainer(model, data, config)
    return trainer, trainer.fit()


def liked_titles(data, user: int, n: int = 6) -> list[str]:
    """The user's highest-rated training films (rating, then title order)."""
    users, items = data.train_interactions
    mine = (users == user).nonzero().flatten()
    if data.ratings is not None:
        mine = mine[torch.argsort(data.ratings[mine], descending=True, stable=True)]
    out = []
    for k in mine[:n].tolist():
        title = data.item_titles[int(items[k])] if data.item_titles else f"item {int(items[k])}"
        stars = f" ({data.ratings[k]:.0f}★)" if data.ratings is not None else ""
        out.append(title + stars)
    return out


def recommendations(trainer: RecommendationTrainer, data, users: list[int], k: int = 10) -> dict[int, list[str]]:
    """Top-``k`` unseen items per user from the trained model's final embeddings:
    every film the user rated is left out, the held-out test ratings included."""
    user_emb, item_emb = trainer.embeddings(trainer.full_graph)
    ids = torch.tensor(users, device=user_emb.device)
    splits = [t for t in (data.train_interactions, data.val_interactions, data.test_interactions) if t is not None]
    rated = torch.cat(splits, dim=1)
    exclude = positives_csr(rated[0], rated[1], data.num_users, data.num_items)
    ranked = top_k(user_emb, item_emb, ids, k, exclude=tuple(t.to(user_emb.device) for t in exclude)).cpu()
    titles = data.item_titles or [f"item {i}" for i in range(data.num_items)]
    return {u: [titles[i] for i in row.tolist()] for u, row in zip(users, ranked)}


def plot_curves(histories: dict[str, list[dict]], path: Path) -> None:
    if plt is None:
        return
    from matplotlib.ticker import MaxNLocator

    fig, (ax_loss, ax_rec) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for kind, history in histories.items():
        epochs = [row["epoch"] for row in history]
        ax_loss.plot(epochs, [row["loss"] for row in history], label=LABELS[kind], marker="." if len(epochs) < 30 else None)
        ev = [row for row in history if "val_recall@20" in row]
        ax_rec.plot([r["epoch"] for r in ev], [r["val_recall@20"] for r in ev], label=LABELS[kind],
                    marker="." if len(ev) < 30 else None)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("BPR loss + L2 (training)")
    ax_loss.set_title("Training loss")
    ax_rec.set_xlabel("epoch")
    ax_rec.set_ylabel("recall@20 (validation)")
    ax_rec.set_title("Validation recall@20")
    for ax in (ax_loss, ax_rec):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = datasets.load(args.dataset, root=args.root)
    if not hasattr(data, "user_ids"):
        raise ValueError(f"--dataset {args.dataset} is not a user-item dataset; use ml-100k, ml-1m or ml-latest-small")
    print(data)
    own_ids = data.user_ids.tolist() if data.user_ids is not None else list(range(data.num_users))
    bad = [u for u in args.users if u not in own_ids]
    if bad:
        raise SystemExit(f"--users {bad}: not user ids of {args.dataset}, whose ids run {own_ids[0]}, {own_ids[1]} "
                         f"… {own_ids[-1]}")
    index = {u: own_ids.index(u) for u in args.users}  # the dataset's own id -> gnnkit's 0-based index

    results, trainers = {}, {}
    for kind in tqdm(["pop", "mf", "lightgcn"], desc="models", unit="model"):
        trainers[kind], results[kind] = train(kind, data, args)

    lines = ["| model | recall@20 | ndcg@20 | precision@20 | epochs | s/epoch |", "|---|---|---|---|---|---|"]
    for kind, r in results.items():
        lines.append(f"| {LABELS[kind]} | {r['recall@20']:.4f} | {r['ndcg@20']:.4f} | {r['precision@20']:.4f} | "
                     f"{r['epochs_run']} | {r['seconds_per_epoch']:.2f} |")
    table = "\n".join(lines)
    print(f"\n{args.dataset}, test split, full ranking over all {data.num_items} items:\n{table}\n")

    recs = recommendations(trainers["lightgcn"], data, [index[u] for u in args.users])
    blocks = []
    for user in args.users:
        liked = "\n".join(f"    {t}" for t in liked_titles(data, index[user]))
        top = "\n".join(f"    {k + 1:2d}. {t}" for k, t in enumerate(recs[index[user]]))
        blocks.append(f"user {user}\n  rated highly:\n{liked}\n  LightGCN's top 10 (unseen films):\n{top}")
    print("\n\n".join(blocks))

    plot_curves({k: results[k]["history"] for k in ("mf", "lightgcn")}, out / "training_curves.png")
    (out / "results.md").write_text(f"{args.dataset}, test split\n\n{table}\n\n```\n" + "\n\n".join(blocks) + "\n```\n")
    (out / "results.json").write_text(json.dumps(
        {"dataset": args.dataset, "quick": args.quick,
         "models": {k: {m: v for m, v in r.items() if m != "history"} for k, r in results.items()},
         "history": {k: r["history"] for k, r in results.items()},
         "recommendations": {str(u): recs[index[u]] for u in args.users}}, indent=2))

    lg, mf, pop = results["lightgcn"], results["mf"], results["pop"]
    print("\nSummary")
    print(f"  LightGCN recall@20 {lg['recall@20']:.4f} vs MF {mf['recall@20']:.4f} vs popularity {pop['recall@20']:.4f} "
          f"({100 * (lg['recall@20'] / mf['recall@20'] - 1):+.0f} % over MF)" if mf["recall@20"] > 0 else "")
    print(f"  LightGCN ndcg@20 {lg['ndcg@20']:.4f} vs MF {mf['ndcg@20']:.4f}; "
          f"{lg['epochs_run']} and {mf['epochs_run']} epochs")
    print(f"  tables in {out}/ (results.md, results.json); {figures(plt, ['training_curves.png'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
