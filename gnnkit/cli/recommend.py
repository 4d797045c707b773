"""``gnnkit recommend``: the top-K items for one user from a ``train rec`` checkpoint."""
from __future__ import annotations

import argparse
import json
import math
import sys

from gnnkit.cli.output import add_subject_options, plain_int
from gnnkit.cli.rec import held_out_items


def register(sub: argparse._SubParsersAction) -> None:
    from gnnkit.cli.source import ROOT_HELP

    p = sub.add_parser(
        "recommend",
        help="top-K items for one user from a checkpoint written by `gnnkit train rec`",
        description="Print the K best-scored items the user has not interacted with yet, by the dataset's own "
                    "item ids (and titles where the dataset has them, e.g. MovieLens).",
    )
    add_subject_options(p, "checkpoint written by `gnnkit train rec --checkpoint`", "--user",
                        "the user's id as the dataset's files write it (MovieLens: the user id of u.data / "
                        "ratings.dat, from 1; lastfm: data1.txt's, from 1; gowalla: train.txt's, from 0)", "user")
    p.add_argument("--root", default=None, help="only for checkpoints that do not record the dataset's ids "
                   "(written by the Python API): " + ROOT_HELP)
    p.add_argument("-k", "--k", "--top", dest="k", type=plain_int, default=None,
                   help="how many items (default: 10, or as many as the user has not seen when fewer)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=run_recommend)


def _scorer(export: dict):
    """``(num_users, num_items, scores(user) -> [I])`` from a finished checkpoint's export."""
    if "gfcf" in export:  # a graph filter: GF-CF or BSPM
        from gnnkit.nn.models.bspm import BSPM
        from gnnkit.nn.models.gfcf import GFCF

        model = (BSPM if export["gfcf"].get("kind") == "bspm" else GFCF).from_export(export["gfcf"])
        return model.num_users, model.num_items, lambda u: model.scores(u.view(1))[0]
    user_emb, item_emb = export["user_emb"], export["item_emb"]
    return user_emb.size(0), item_emb.size(0), lambda u: (user_emb[u] @ item_emb.t()).float()


def _dataset_facts(state: dict, path: str, args: argparse.Namespace) -> dict:
    """What ``recommend`` needs of the dataset beyond the export: its own id of
    each user and item (``user_ids`` / ``item_ids``, ``None`` when it numbers
    them ``0..n-1`` in its files) and each user's held-out test items
    (``held_out``, ``(rowptr, items)``), which a user has interacted with too.
    Read from the checkpoint (``gnnkit train rec`` records them in its
    "source"; every finished run's export carries them too), else, for an
    older checkpoint, from the dataset it names; ``--index`` on such a
    checkpoint needs neither."""
    source = state.get("source") or {}
    if "user_ids" not in source:  # a checkpoint written from Python: its export carries them
        source = state.get("export") or {}
    if "user_ids" in source:
        held = (source["held_out_rowptr"], source["held_out_items"]) if "held_out_rowptr" in source else None
        return {"user_ids": source["user_ids"], "item_ids": source.get("item_ids"), "held_out": held}
    if args.user is None:
        return {"user_ids": None, "item_ids": None, "held_out": None}
    from gnnkit.cli.datasets import load_dataset
    from gnnkit.cli.source import dataset_and_root

    name, root = dataset_and_root(state, path, argparse.Namespace(dataset=None, root=args.root),
                                  state.get("data", {}).get("name"))
    data = load_dataset(name, root, download=False)  # the ids only: never download a dataset for them
    sizes = (getattr(data, "num_users", None), getattr(data, "num_items", None))
    if sizes != (state["data"]["num_users"], state["data"]["num_items"]):
        raise ValueError(f"checkpoint {path} was trained on {state['data']['num_users']} users and "
                         f"{state['data']['num_items']} items, but {name} under {root or 'the default root'} has "
                         f"{sizes[0]} and {sizes[1]}; pass --root DIR with the data it was trained on, or --index N")
    return {"user_ids": data.user_ids, "item_ids": data.item_ids, "held_out": held_out_items(data)}


def _user_index(args: argparse.Namespace, user_ids, num_users: int, dataset: str) -> int:
    """The row of ``--user ID`` (the dataset's own id) or ``--index``."""
    if args.user is not None:
        import torch

        from gnnkit.cli.output import index_of_id

        ids = torch.arange(num_users) if user_ids is None else user_ids
        return index_of_id(args.user, ids, what="user", flag="--user",
                           ids_hint=f"{dataset}'s user ids", missing=f"in {dataset}")
    if not 0 <= args.index < num_users:
        raise ValueError(f"--index {args.index} is not a user index of {dataset}: expected 0 <= index < {num_users} "
                         f"(or pass --user ID with the dataset's own id)")
    return args.index


def _print_recommendations(args: argparse.Namespace, rows: list[dict], *, user_id: int, index: int, who: str,
                           num_seen: int, model: str, dataset: str) -> None:
    if args.json:
        print(json.dumps({"user": user_id, "index": index, "model": model, "dataset": dataset,
                          "already_seen": num_seen, "items": rows}, indent=2))
        return
    print(f"top {args.k} for {who} ({model} on {dataset}, {num_seen} items already seen, excluded):")
    for row in rows:
        label = f"  {row['title']}" if "title" in row else ""
        print(f"{row['rank']:3d}. item {row['item']:6d}  score {row['score']:8.4f}{label}")


def run_recommend(args: argparse.Namespace) -> int:
    import torch

    from gnnkit.train.checkpoint import load_checkpoint

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
    dataset = state["data"]["name"]
    facts = _dataset_facts(state, args.checkpoint, args)
    user_ids, item_ids = facts["user_ids"], facts["item_ids"]
    index = _user_index(args, user_ids, num_users, dataset)
    user_id = index if user_ids is None else int(user_ids[index])
    who = f"user {user_id}" + (f" (index {index})" if user_id != index else "")
    rowptr, seen_items = export["seen_rowptr"], export["seen_items"]
    seen = seen_items[rowptr[index]:rowptr[index + 1]]
    if seen.numel() == 0:
        raise ValueError(f"{who} has no training interactions, so {state['model']['kind']} knows nothing "
                         f"about them and any list would be a guess; pick a user with interactions, or train "
                         f"`--model pop` for a popularity list")
    if facts["held_out"] is not None:  # the test items: held out from training, but the user has them already
        held_rowptr, held_items = facts["held_out"]
        seen = torch.cat([seen, held_items[held_rowptr[index]:held_rowptr[index + 1]]]).unique()
    num_seen = seen.numel()
    available = num_items - num_seen
    if available == 0:
        raise ValueError(f"{who} has interacted with every item ({num_items}): there is nothing new to "
                         f"recommend")
    if args.k is None:
        args.k = min(10, available)
    if not 1 <= args.k <= available:
        raise ValueError(f"--k {args.k} must be between 1 and the {available} items {who} has not "
                         f"interacted with ({num_items} items in all)")
    all_scores = score(torch.tensor(index))
    masked = all_scores.clone()
    masked[seen] = -math.inf
    items = masked.topk(args.k).indices
    scores = all_scores[items].tolist()
    titles = export.get("item_titles")
    rows = []
    for r, (i, s) in enumerate(zip(items.tolist(), scores)):
        item_id = int(i) if item_ids is None else int(item_ids[i])
        rows.append({"rank": r + 1, "item": item_id, "index": int(i), "score": float(s),
                     **({"title": titles[int(i)]} if titles else {})})
    _print_recommendations(args, rows, user_id=user_id, index=index, who=who, num_seen=num_seen,
                           model=state["model"]["kind"], dataset=dataset)
    sys.stdout.flush()
    return 0
