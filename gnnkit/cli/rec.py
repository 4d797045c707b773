"""``gnnkit train rec`` (train a recommender) and ``gnnkit recommend`` (top-K for a user)."""
from __future__ import annotations

import argparse
import json
import sys


def _defaults_help() -> str:
    from gnnkit.train.tasks.rec import MODEL_DEFAULTS

    rows = [f"{kind}: lr {d['lr']:g}, reg {d['reg']:g}, epochs {d['epochs']}, eval every {d['eval_every']}, "
            f"patience {d['patience']}" for kind, d in MODEL_DEFAULTS.items() if d["epochs"]]
    return "; ".join(rows)


def register_train(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser(
        "rec",
        help="train LightGCN / MF / NGCF (BPR) or SimpleX (cosine contrastive loss), or build GF-CF or the popularity baseline, on user-item interactions",
        description=(
            "Train a recommender with the BPR loss (SimpleX: its cosine contrastive loss), early-stopped on "
            "validation recall@20 (validation carved "
            "from train when the dataset has none), and rank all items for every test user. GF-CF (a graph "
            "filter) and popularity have nothing to train. Each trained model has its own defaults for the "
            f"options marked 'per model' ({_defaults_help()})."
        ),
    )
    p.add_argument("--dataset", required=True, help="dataset name, e.g. ml-100k, lastfm, gowalla")
    p.add_argument("--model", default="lightgcn", choices=("lightgcn", "mf", "ngcf", "simplex", "pop", "gfcf"),
                   help="model (default: lightgcn)")
    p.add_argument("--root", default=None, help="data root holding NAME/raw/ (default: $GNNKIT_DATA or datasets/)")
    p.add_argument("--epochs", type=int, default=None, help="most training epochs (per model; lightgcn/mf/ngcf: 300)")
    p.add_argument("--dim", type=int, default=64, help="embedding size (default: 64)")
    p.add_argument("--layers", type=int, default=3, help="LightGCN / NGCF propagation layers (default: 3)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (per model; lightgcn: 5e-3, mf, ngcf and simplex: 1e-3)")
    p.add_argument("--batch-size", type=int, default=2048, help="BPR triples per step (default: 2048)")
    p.add_argument("--reg", type=float, default=None,
                   help="L2 on the batch's layer-0 embeddings (per model; lightgcn/mf/ngcf: 1e-4)")
    p.add_argument("--patience", type=int, default=None,
                   help="validations without improvement before stopping (per model; lightgcn/mf/ngcf: 5)")
    p.add_argument("--eval-every", type=int, default=None, help="epochs between validations (per model; lightgcn/mf/ngcf: 5)")
    p.add_argument("--svd-k", type=int, default=256, help="GF-CF: singular vectors of the ideal filter (default: 256)")
    p.add_argument("--alpha", type=float, default=0.3, help="GF-CF: weight of the ideal filter (default: 0.3)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop training after this wall time")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    p.add_argument("--amp", default=None, choices=("bf16", "fp16"), help="mixed precision for training")
    p.add_argument("--checkpoint", default=None, help="save the training state here after every validation, and resume from it when it exists (every option must equal that run's, except --epochs and --max-minutes)")
    p.add_argument("--log-csv", "--csv", dest="csv", default=None, help="write one row of metrics per epoch to this CSV file (--csv is the old spelling)")
    p.add_argument("--json", default=None, help="write the final metrics here as JSON ('-' for stdout; the summary line then goes to stderr)")
    p.add_argument("--profile", default=None, metavar="DIR", help="profile a few epochs with torch.profiler: a "
                   "trace for TensorBoard / Perfetto in DIR and the top operators on stderr")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_train)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recommend",
        help="top-K items for one user from a checkpoint written by `gnnkit train rec`",
        description="Print the K best-scored items the user has not interacted with yet (titles where the dataset has them).",
    )
    p.add_argument("--checkpoint", required=True, help="checkpoint written by `gnnkit train rec --checkpoint`")
    p.add_argument("--user", type=int, required=True, help="user index in the dataset, 0 .. num_users-1")
    p.add_argument("--k", type=int, default=10, help="how many items (default: 10)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=run_recommend)


def _load_interactions(name: str, root: str | None):
    from gnnkit.datasets import InteractionDataset, load

    data = load(name, root=root)
    if not isinstance(data, InteractionDataset):
        raise ValueError(f"dataset {name!r} is not a recommendation dataset (no user-item interactions); "
                         f"try ml-100k, lastfm or gowalla")
    return data


def run_train(args: argparse.Namespace) -> int:
    from gnnkit.cli.output import say, write_json
    from gnnkit.train.rec import MODEL_DEFAULTS, RecommendationTrainer, RecTrainConfig, build_model
    from gnnkit.train.runtime import seed_everything

    given = {"lr": args.lr, "reg": args.reg, "epochs": args.epochs, "eval_every": args.eval_every,
             "patience": args.patience}
    chosen = {name: MODEL_DEFAULTS[args.model][name] if value is None else value for name, value in given.items()}
    config = RecTrainConfig(
        **chosen, batch_size=args.batch_size, device=args.device, amp=args.amp, seed=args.seed,
        checkpoint=args.checkpoint, csv=args.csv, progress=not args.quiet, profile=args.profile,
        max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes,
    )
    data = _load_interactions(args.dataset, args.root)
    seed_everything(args.seed)
    model = build_model(args.model, data.num_users, data.num_items, args.dim, args.layers, args.svd_k, args.alpha)
    trainer = RecommendationTrainer(model, data, config)
    result = trainer.fit()
    trainer.close()
    if not trainer.dist.is_main:  # under torchrun only rank 0 reports
        return 0
    summary = {"dataset": args.dataset, "model": args.model, "seed": args.seed, **chosen,
               **{k: v for k, v in result.items() if k != "history"}}
    say(f"{args.dataset} {args.model}: recall@20 {result['recall@20']:.4f}  ndcg@20 {result['ndcg@20']:.4f}  "
        f"precision@20 {result['precision@20']:.4f}  recall@10 {result['recall@10']:.4f}  "
        f"({result['epochs_run']} epochs, best {result['best_epoch']}, {result['seconds']:.1f} s)", args.json)
    write_json(summary, args.json)
    return 0


def _scorer(export: dict):
    """``(num_users, num_items, scores(user) -> [I])`` from a finished checkpoint's export."""
    if "gfcf" in export:
        from gnnkit.nn.models.gfcf import GFCF

        model = GFCF.from_export(export["gfcf"])
        return model.num_users, model.num_items, lambda u: model.scores(u.view(1))[0]
    user_emb, item_emb = export["user_emb"], export["item_emb"]
    return user_emb.size(0), item_emb.size(0), lambda u: (user_emb[u] @ item_emb.t()).float()


def run_recommend(args: argparse.Namespace) -> int:
    import torch

    from gnnkit.train.checkpoint import load_checkpoint
    from gnnkit.train.ranking import masked_top_k

    state = load_checkpoint(args.checkpoint)
    task = state.get("task", "rec" if str(state.get("format", "")).startswith("gnnkit.rec") else None)
    if task != "rec":
        raise ValueError(f"checkpoint {args.checkpoint} was written by `gnnkit train {task}` (a {task} task), not by "
                         f"`gnnkit train rec`; pass a recommendation checkpoint")
    export = state.get("export")
    if export is None:
        raise ValueError(f"checkpoint {args.checkpoint} has no final embeddings (training did not finish); "
                         f"run `gnnkit train rec ... --checkpoint {args.checkpoint}` again to finish it")
    num_users, num_items, score = _scorer(export)
    if not 0 <= args.user < num_users:
        raise ValueError(f"user {args.user} is not in the dataset: expected 0 <= user < {num_users}")
    seen = (export["seen_rowptr"], export["seen_items"])
    num_seen = int(seen[0][args.user + 1] - seen[0][args.user])
    if num_seen == 0:
        raise ValueError(f"user {args.user} has no training interactions, so {state['model']['kind']} knows nothing "
                         f"about them and any list would be a guess; pick a user with interactions, or train "
                         f"`--model pop` for a popularity list")
    available = num_items - num_seen
    if not 1 <= args.k <= available:
        raise ValueError(f"--k {args.k} must be between 1 and the {available} items user {args.user} has not "
                         f"interacted with ({num_items} items in all)")
    user = torch.tensor([args.user])
    all_scores = score(user[0])
    items = masked_top_k(all_scores.unsqueeze(0).clone(), user, args.k, exclude=seen)[0]
    scores = all_scores[items].tolist()
    titles = export.get("item_titles")
    rows = [{"rank": r + 1, "item": int(i), "score": float(s), **({"title": titles[int(i)]} if titles else {})}
            for r, (i, s) in enumerate(zip(items.tolist(), scores))]
    if args.json:
        print(json.dumps({"user": args.user, "model": state["model"]["kind"], "dataset": state["data"]["name"],
                          "already_seen": num_seen, "items": rows}, indent=2))
        return 0
    print(f"top {args.k} for user {args.user} ({state['model']['kind']} on {state['data']['name']}, "
          f"{num_seen} items already seen, excluded):")
    for row in rows:
        label = f"  {row['title']}" if "title" in row else ""
        print(f"{row['rank']:3d}. item {row['item']:6d}  score {row['score']:8.4f}{label}")
    sys.stdout.flush()
    return 0
