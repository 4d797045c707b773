"""``gnnkit train link`` and ``gnnkit suggest-friends``: link prediction from the command line.

Parses arguments into a ``LinkConfig``, the engine's configs and the model's
hyper-parameters (``MODEL_DEFAULTS`` of the chosen model unless given), then
runs ``gnnkit.train.tasks.link.LinkTask`` on the engine, one edge split and
one model per seed. ``suggest-friends`` reads the embeddings a finished
checkpoint exported. No training logic lives here.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from gnnkit.cli.output import (
    add_run_options, add_subject_options, apply_threads, finite_float, index_of_id, max_seconds, plain_int, seed_path,
)

_MODELS = ("gae", "vgae", "gcn", "sage")
_REPORTED = ("test_auc", "test_ap", "test_hits@10", "test_hits@50", "test_mrr", "val_auc", "val_ap")


def _defaults_text() -> str:
    from gnnkit.train.tasks.link import MODEL_DEFAULTS

    lines = []
    for name, d in MODEL_DEFAULTS.items():
        lines.append(f"  {name}: {d['hidden']} -> {d['out']}, dropout {d['dropout']}, lr {d['lr']}, {d['epochs']} "
                     f"epochs, {d['neg_ratio']:g} negative(s) per edge, features {d['feature_norm']}-normalised, "
                     f"{d['decoder']} decoder")
    return "\n".join(lines).replace("none-normalised", "not normalised")


def register_train(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser(
        "link",
        help="link prediction (GAE, VGAE, GCN / GraphSAGE + decoder) on a leak-free edge split",
        description=(
            "Hold out --val and --test of the edges (both directions of an undirected edge together, with as many "
            "non-edges), train a link predictor on the rest and report test ROC-AUC and AP (mean ± std over "
            "--seeds; seed k draws its own split and weights), keeping the best validation epoch. Defaults per "
            "model:\n" + _defaults_text() + "\n"
            "Graphs without node features get a learnable vector per node (--features auto); the output says "
            "which features were used. --dataset is a catalog name, an edge-list file (src dst per line) or a "
            "MUSAE- or Planetoid-layout folder."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", required=True, help="catalog name of a graph dataset (cora, citeseer, facebook, "
                   "lastfm-asia, twitch, karate...), the path of an edge-list file, or a folder of your own files: "
                   "edges.csv + target.csv [+ features.csv] (MUSAE layout) or ind.<prefix>.* (Planetoid)")
    p.add_argument("--model", default="gae", choices=_MODELS, help="model (default: gae)")
    p.add_argument("--root", default=None, help="data root holding NAME/raw/ (default: $GNNKIT_DATA or the "
                   "default data folder)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing raw files")
    p.add_argument("--directed", action="store_true", help="an edge-list file is directed: split its directed "
                   "edges (default: it is symmetrised)")
    p.add_argument("--val", type=finite_float, default=0.05, help="fraction of edges for validation (default: 0.05)")
    p.add_argument("--test", type=finite_float, default=0.10, help="fraction of edges for test (default: 0.10)")
    p.add_argument("--epochs", type=plain_int, default=None, help="training epochs (default per model, see above)")
    p.add_argument("--lr", type=finite_float, default=None, help="Adam learning rate (default: 0.01)")
    p.add_argument("--hidden", type=plain_int, default=None, help="width of the first layer (default per model)")
    p.add_argument("--dim", type=plain_int, default=None,
                   help="embedding width, the encoder's output (default per model)")
    p.add_argument("--dropout", type=finite_float, default=None,
                   help="dropout on each layer's input (default per model)")
    p.add_argument("--decoder", choices=("dot", "hadamard", "mlp"), default=None,
                   help="gcn / sage: pair decoder (default: dot; gae and vgae use the inner product)")
    p.add_argument("--neg-ratio", type=finite_float, default=None,
                   help="training negatives per edge, drawn afresh each "
                   "epoch (default per model)")
    p.add_argument("--negatives", choices=("uniform", "degree"), default="uniform",
                   help="how training negatives are drawn: uniform node pairs (default) or degree-weighted")
    p.add_argument("--loss", choices=("sampled", "dense"), default="sampled",
                   help="sampled: BCE on sampled negatives (default); dense: the GAE paper's weighted BCE over all "
                   "N^2 pairs (small graphs only)")
    p.add_argument("--features", choices=("auto", "given", "embedding", "structural"), default="auto",
                   help="node features: the dataset's, or a learnable vector per node when it has none (auto, "
                   "default; structural with --mode minibatch), given, embedding, or structural (degree, "
                   "clustering, PageRank, FastRP of the training graph)")
    p.add_argument("--feature-norm", choices=("row", "none"), default=None,
                   help="row-normalise the features or not (default per model)")
    p.add_argument("--patience", type=plain_int, default=0, help="validations without a better validation AUC/AP "
                   "before stopping; 0 trains every epoch (default: 0; the best epoch is kept either way)")
    add_run_options(p, checkpoint_every=50)
    p.add_argument("--amp", choices=("bf16", "fp16", "none"), default="none",
                   help="mixed precision autocast (default: none)")
    p.add_argument("--mode", choices=("full", "minibatch"), default="full",
                   help="full: the whole graph every step (default); minibatch: batches of --batch-size training "
                   "edges with sampled negatives and the sampled neighbourhoods of their endpoints")
    p.add_argument("--batch-size", type=plain_int, default=None,
                   help="minibatch: training edges per step (default: 1024)")
    p.add_argument("--fanout", default=None, help="minibatch: neighbours per node at each hop, one number per "
                   "layer (the encoders have 2); -1 takes all (default: 15,10)")
    p.set_defaults(handler=run_train)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "suggest-friends", help="top-k new neighbours of a node from a trained link model",
        description="Read a checkpoint written by `gnnkit train link --checkpoint PATH` and list the k nodes "
                    "with the highest predicted link probability to --node that are not already its neighbours "
                    "(in any part of the split).",
    )
    add_subject_options(p, "checkpoint of a finished `gnnkit train link` run", "--node",
                        "the node to suggest neighbours for, by its id as the dataset writes it (an edge-list "
                        "file's own ids, sparse ones included; a catalog graph's ids from 0)", "node")
    p.add_argument("-k", "--top", "--k", dest="top", type=plain_int, default=10,
                   help="number of suggestions (default: 10; fewer when the node has fewer non-neighbours, as "
                   "the printed count says)")
    p.add_argument("--json", default=None, help="write the suggestions as JSON to this file ('-' for stdout)")
    p.set_defaults(handler=run_suggest)


# ----------------------------------------------------------------------- helpers
def load_graph(name: str, root: str | None, download: bool = True, directed: bool = False):
    """A ``Graph``: a catalogued graph dataset by name, or an edge-list file."""
    from gnnkit.cli.datasets import OWN_GRAPH_LAYOUTS, load_dataset, own_graph_files, own_place
    from gnnkit.datasets import read_edge_list
    from gnnkit.datasets.catalog import get, names

    if name in names():
        info = get(name)
        if info.task != "node":
            graphs = [n for n in names() if get(n).task == "node"]
            raise ValueError(f"dataset {name!r} is a {info.task} dataset, not a graph of nodes and edges; use one "
                             f"of {', '.join(graphs)} or an edge-list file")
        return load_dataset(name, root, download)
    if Path(name).is_file():
        return read_edge_list(name, undirected=not directed, relabel=True)
    graph = own_graph_files(name, root)
    if graph is not None:
        return graph
    graphs = [n for n in names() if get(n).task == "node"]
    raise ValueError(f"unknown dataset {name!r}: not in the catalog ({', '.join(graphs)}), not an edge-list file, "
                     f"and no folder of your own files ({OWN_GRAPH_LAYOUTS}) in {own_place(name)}")


def file_node_ids(path: str):
    """The ids an edge-list file writes, in the order ``read_edge_list(...,
    relabel=True)`` numbers them (increasing): ``ids[i]`` is node ``i``'s own id."""
    import numpy as np
    import torch

    from gnnkit.datasets.formats.edgelist import _from_file  # the reader's own parser, so the ids agree

    ids = _from_file(Path(path), "#%", relabel=True)[0]
    return torch.from_numpy(np.unique(ids))


def sparse_features_of(name: str, root: str | None, graph):
    """A MUSAE graph's features as a sparse ``CSR`` when the loader left ``x``
    empty because they would not fit densely (``None`` otherwise); the
    catalog's MUSAE graphs and your own MUSAE-layout folders alike."""
    from gnnkit.cli.datasets import own_graph_folder
    from gnnkit.datasets.catalog import get, names
    from gnnkit.datasets.formats.musae import read_musae_features
    from gnnkit.settings import data_root

    if graph.x is not None:
        return None
    if name in names():
        if get(name).format != "musae":
            return None
        raw = data_root(root) / name / "raw"
    else:
        found = own_graph_folder(name, root)
        if found is None or found[1] != "musae":
            return None
        raw = found[0]
    return read_musae_features(raw, graph.num_nodes) if raw.is_dir() else None


def _fanout(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(k) for k in text.split(","))
    except ValueError as err:
        raise ValueError(f"--fanout must be comma-separated integers such as 15,10, got {text!r}") from err


def _check_inapplicable(args: argparse.Namespace) -> None:
    """Options the chosen mode, loss or features do not use: an error, not ignored."""
    if args.mode == "full":
        for flag, value in (("--batch-size", args.batch_size), ("--fanout", args.fanout)):
            if value is not None:
                raise ValueError(f"{flag} applies to --mode minibatch; the default --mode full trains on the whole "
                                 f"graph every step")
    elif args.fanout is not None and len(_fanout(args.fanout)) != 2:
        raise ValueError(f"--fanout {args.fanout} gives {len(_fanout(args.fanout))} hop(s), but the link encoders "
                         f"have 2 layers: give one number per layer, e.g. 15,10")
    if args.loss == "dense" and args.neg_ratio is not None:
        raise ValueError("--neg-ratio sets the sampled negatives of --loss sampled; --loss dense scores every pair")
    if args.features == "embedding" and args.feature_norm is not None:
        raise ValueError("--feature-norm normalises given or structural features; --features embedding learns a "
                         "vector per node and has none to normalise")


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(LinkConfig fields, model hyper-parameters, engine settings)`` from the arguments and the defaults."""
    from gnnkit.train.tasks.link import MODEL_DEFAULTS

    d = MODEL_DEFAULTS[args.model]
    pick = lambda value, key: d[key] if value is None else value  # noqa: E731
    for flag, value in (("--seeds", args.seeds), ("--epochs", args.epochs), ("--hidden", args.hidden),
                        ("--dim", args.dim)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be >= 1, got {value}")
    if args.patience < 0:
        raise ValueError(f"--patience must be >= 0 (0 trains every epoch), got {args.patience}")
    _check_inapplicable(args)
    if args.decoder is not None and args.decoder != "dot" and args.model in ("gae", "vgae"):
        raise ValueError(f"--decoder {args.decoder} applies to --model gcn or sage; {args.model} decodes with the "
                         f"inner product")
    fields = dict(val=args.val, test=args.test, features=args.features,
                  feature_norm=pick(args.feature_norm, "feature_norm"), neg_ratio=pick(args.neg_ratio, "neg_ratio"),
                  negative_method=args.negatives, loss=args.loss, dataset=args.dataset)
    hparams = dict(hidden=pick(args.hidden, "hidden"), out=pick(args.dim, "out"), dropout=pick(args.dropout, "dropout"),
                   decoder=pick(args.decoder, "decoder"))
    engine = dict(lr=pick(args.lr, "lr"), epochs=pick(args.epochs, "epochs"), patience=args.patience or None)
    return fields, hparams, engine


def run_train(args: argparse.Namespace) -> int:
    from gnnkit.cli.datasets import input_files
    from gnnkit.cli.output import checkpoint_follows_resume, guard_outputs, locked_run_outputs, say, write_json

    checkpoint_follows_resume(args)
    guard_outputs(args, input_files(args.dataset, args.root), keep_checkpoints=True)  # before anything runs

    fields, hparams, engine = _settings(args)
    apply_threads(args)
    with locked_run_outputs(args.json, args.checkpoint, args.log_csv, args.seeds):
        graph = load_graph(args.dataset, args.root, download=not args.no_download, directed=args.directed)
        start = time.perf_counter()
        sparse_x = sparse_features_of(args.dataset, args.root, graph) if args.features in ("auto", "given") else None
        results, features = _train_seeds(args, graph, fields, hparams, engine, sparse_x)
        _record_sources(args)
        summary = _summary(args, results, time.perf_counter() - start, fields, hparams, engine, features)
        say(f"{args.dataset} {args.model}: test AUC {100 * summary['test_auc_mean']:.2f} ± "
            f"{100 * summary['test_auc_std']:.2f}, AP {100 * summary['test_ap_mean']:.2f} ± "
            f"{100 * summary['test_ap_std']:.2f} over {args.seeds} seed{'s' if args.seeds > 1 else ''} "
            f"({summary['seconds']:.1f} s; features: {features})", args.json)
        write_json(summary, args.json)
    return 0


def _record_sources(args: argparse.Namespace) -> None:
    """Record the dataset, its root and, for an edge-list file, its own node
    ids in each seed's checkpoint (``suggest-friends`` takes and prints those ids)."""
    from gnnkit.cli.source import record_source
    from gnnkit.datasets.catalog import names

    if args.checkpoint is None:
        return
    is_file = args.dataset not in names() and Path(args.dataset).is_file()
    dataset = str(Path(args.dataset).resolve()) if is_file else args.dataset
    node_ids = file_node_ids(args.dataset) if is_file else None
    for k in range(args.seeds):
        record_source(seed_path(args.checkpoint, k, args.seeds), dataset, args.root, node_ids=node_ids)


def _train_seeds(args: argparse.Namespace, graph, fields: dict[str, Any], hparams: dict[str, Any],
                 engine: dict[str, Any], sparse_x=None) -> tuple[list[dict[str, Any]], str]:
    """One split, model and fit per seed; ``(rows, description of the features)``."""
    from gnnkit.cli.output import note
    from gnnkit.sampling import split_edges
    from gnnkit.train.config import MiniBatchConfig, OptimConfig, RunConfig, StopConfig
    from gnnkit.train.engine import Engine
    from gnnkit.train.tasks.link import LinkConfig, LinkTask, build_model, link_features

    config = LinkConfig(**fields)
    minibatch = None
    if args.mode == "minibatch":
        minibatch = MiniBatchConfig(batch_size=1024 if args.batch_size is None else args.batch_size,
                                    fanout=_fanout("15,10" if args.fanout is None else args.fanout))
    optim = OptimConfig(lr=engine["lr"])
    stop = StopConfig(epochs=engine["epochs"], patience=engine["patience"], max_seconds=max_seconds(args))
    undirected = not (args.directed and Path(args.dataset).is_file())
    rows = []
    for k in range(args.seeds):
        seed = args.seed + k
        split = split_edges(graph, val=config.val, test=config.test, undirected=undirected, seed=seed)
        # mini-batches slice dense rows of x; the full mode keeps sparse features sparse
        features = link_features(split, args.model, config, sparse=False if minibatch else None, x=sparse_x)
        model = build_model(args.model, features, split.num_nodes, seed=seed, **hparams)
        task = LinkTask(split, model, features, config, minibatch=minibatch, seed=seed,
                        spec={"kind": args.model, **hparams, "num_nodes": split.num_nodes,
                              "num_features": features.width})
        run = RunConfig(seed=seed, device=args.device, amp=None if args.amp == "none" else args.amp,
                        progress=not args.quiet, checkpoint=seed_path(args.checkpoint, k, args.seeds),
                        checkpoint_every=args.checkpoint_every, resume=seed_path(args.resume, k, args.seeds),
                        log_csv=seed_path(args.log_csv, k, args.seeds), profile=args.profile)
        t0 = time.perf_counter()
        fit = Engine(task, optim, stop, run).fit()
        m = fit.metrics
        rows.append({"seed": seed, **m, "best_epoch": fit.best_epoch, "epochs_run": fit.epochs_run,
                     "seconds": time.perf_counter() - t0, "seconds_per_epoch": fit.seconds_per_epoch})
        if not args.quiet or args.seeds > 1:
            note(f"seed {seed}: test AUC {m['test_auc']:.2%}, AP {m['test_ap']:.2%}, val AUC {m['val_auc']:.2%}, "
                 f"best epoch {fit.best_epoch}/{fit.epochs_run} ({rows[-1]['seconds']:.1f} s)")
    return rows, features.description


def _summary(args: argparse.Namespace, rows: list[dict[str, Any]], seconds: float, fields: dict[str, Any],
             hparams: dict[str, Any], engine: dict[str, Any], features: str) -> dict[str, Any]:
    """The ``--json`` document: means and population standard deviations over
    the seeds, every seed's row, and the settings."""
    out: dict[str, Any] = {"dataset": args.dataset, "model": args.model, "seeds": args.seeds, "features": features}
    for key in _REPORTED:
        values = [r[key] for r in rows]
        out[f"{key}_mean"] = statistics.mean(values)
        out[f"{key}_std"] = statistics.pstdev(values)
    out.update(seconds=seconds, seconds_per_seed=seconds / len(rows), per_seed=rows,
               config={**fields, **engine, "seed": args.seed, "mode": args.mode}, hparams=hparams)
    return out


def _guard_dataset_files(args: argparse.Namespace, ckpt: dict) -> None:
    """``--json`` must not name a file of the graph the checkpoint was trained on."""
    from pathlib import Path

    from gnnkit.cli.datasets import input_files
    from gnnkit.cli.output import guard_outputs
    from gnnkit.cli.source import dataset_and_root

    try:
        dataset, root = dataset_and_root(ckpt, args.checkpoint, argparse.Namespace(dataset=None, root=None),
                                         ckpt.get("data", {}).get("dataset"))
    except ValueError:  # the data moved or is not recorded: nothing of it to overwrite where it was
        return
    guard_outputs(args, [*input_files(dataset, root), (Path(args.checkpoint), "the --checkpoint being read")],
                  outputs=("json",))


def run_suggest(args: argparse.Namespace) -> int:
    import torch

    from gnnkit.cli.output import say, write_json
    from gnnkit.io import load_verified
    from gnnkit.train.tasks.link import suggest

    from pathlib import Path

    from gnnkit.cli.output import guard_outputs
    from gnnkit.io import check_writable

    guard_outputs(args, [(Path(args.checkpoint), "the --checkpoint being read")], outputs=("json",))
    if args.json not in (None, "-"):
        check_writable(args.json)  # before the table is printed, not after
    ckpt = load_verified(args.checkpoint, map_location="cpu")
    task = ckpt.get("task", "?")
    if task != "link":
        raise ValueError(f"{args.checkpoint} is a {task!r} checkpoint, not a link-prediction one; pass a checkpoint "
                         f"written by `gnnkit train link --checkpoint`")
    if "export" not in ckpt:
        raise ValueError(f"{args.checkpoint} is from an unfinished run (no exported embeddings); finish it with "
                         f"`gnnkit train link ... --resume {args.checkpoint}`")
    _guard_dataset_files(args, ckpt)
    num_nodes = ckpt["export"]["embeddings"].size(0)
    ids = (ckpt.get("source") or {}).get("node_ids")  # None: the nodes' own ids are their indices
    ids = torch.arange(num_nodes) if ids is None else ids
    if args.node is not None:
        dataset = ckpt.get("data", {}).get("dataset", "the graph")
        index = index_of_id(args.node, ids, what="node", flag="--node", ids_hint=f"the node ids of {dataset}",
                            missing="in the graph")
    elif not 0 <= args.index < num_nodes:
        raise ValueError(f"--index {args.index} is outside the graph: expected 0 <= index < {num_nodes} (or pass "
                         f"--node ID with the node's own id)")
    else:
        index = args.index
    nodes, scores = suggest(ckpt, index, args.top)
    node_id = int(ids[index])
    if nodes.numel() == 0:
        raise ValueError(f"node {node_id} is already linked to every other node of the graph: there is no new "
                         f"neighbour to suggest")
    items = [{"node": int(ids[v]), "index": int(v), "probability": float(torch.sigmoid(s))}
             for v, s in zip(nodes, scores)]
    document = {"node": node_id, "index": index, "suggestions": items}
    if args.json == "-":
        write_json(document, "-")
        return 0
    say(f"top {len(items)} new neighbours of node {node_id}" + (f" (index {index})" if node_id != index else "")
        + ":", args.json)
    for rank, item in enumerate(items, 1):
        say(f"{rank:3d}. node {item['node']}  p = {item['probability']:.3f}", args.json)
    write_json(document, args.json)
    return 0


__all__ = ["load_graph", "register", "register_train"]
