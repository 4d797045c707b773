"""``gnnkit train node`` and ``gnnkit predict node``: node classification from the command line.

Parses arguments into a ``NodeTrainConfig`` and the model's hyper-parameters
(the paper's defaults for the chosen model unless given), then calls
``gnnkit.train.node``. No training logic lives here.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any
from gnnkit.cli.output import finite_float, plain_int

_MODELS = ("gcn", "sage", "gat", "mlp", "appnp", "gcnii")


def _defaults_text() -> str:
    from gnnkit.train.node import PAPER_DEFAULTS

    lines = []
    for name, d in PAPER_DEFAULTS.items():
        extra = f", heads {d['heads']}x{d['hidden']}, output heads {d['out_heads']}" if "heads" in d else ""
        extra += "".join(f", {key} {d[key]}" for key in ("layers", "K", "alpha", "theta", "edge_dropout") if key in d)
        scope = "all layers" if d["weight_decay_layers"] == "all" else "first layer"
        if name == "gcnii" and d["weight_decay_layers"] == "first":
            scope = "the convolutions"  # GCNII's layers[0] holds its convolutions
        if d.get("weight_decay_rest"):
            scope += f"; {d['weight_decay_rest']} on the rest"
        lines.append(f"  {name}: hidden {d['hidden']}{extra}, dropout {d['dropout']}, lr {d['lr']}, "
                     f"weight decay {d['weight_decay']} ({scope}), "
                     f"epochs {d['epochs']}, patience {d['patience']} on {d['early_stopping'].replace('_', ' ')}")
    return "\n".join(lines)


def register_train(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser(
        "node",
        help="node classification (GCN, GraphSAGE, GAT, MLP, APPNP, GCNII) on a catalogued dataset",
        description=(
            "Train a node classifier full-batch and report test accuracy (mean ± std over --seeds). Options left "
            "out take the paper's value for the chosen model:\n" + _defaults_text() + "\n"
            "Graphs without split masks get a stratified random split (--split); graphs without features get "
            "structural features (--features auto)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", required=True, help="catalog name of a node-classification dataset, e.g. cora, "
                   "citeseer, facebook, lastfm-asia, twitch (`gnnkit datasets list` shows all), or a folder of your "
                   "own files: edges.csv + target.csv (MUSAE layout) or ind.<prefix>.* (Planetoid)")
    p.add_argument("--model", default="gcn", choices=_MODELS, help="model (default: gcn)")
    p.add_argument("--root", default=None, help="data root holding NAME/raw/ (default: $GNNKIT_DATA or the "
                   "default data folder)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing raw files")
    p.add_argument("--epochs", type=plain_int, default=None,
                   help="maximum epochs (paper default per model: gcn 200, gat 1000)")
    p.add_argument("--hidden", type=plain_int, default=None,
                   help="hidden units (per head for gat; default gcn 16, gat 8, "
                   "sage/mlp 64)")
    p.add_argument("--layers", type=plain_int, default=None, help="number of layers (gcnii: convolutions, default 64; "
                   "appnp: MLP layers; default 2)")
    p.add_argument("--K", type=plain_int, default=None, help="appnp: propagation steps (default: 10)")
    p.add_argument("--alpha", type=finite_float, default=None,
                   help="appnp: teleport probability; gcnii: initial-residual "
                   "strength (default: 0.1)")
    p.add_argument("--theta", type=finite_float, default=None,
                   help="gcnii: the paper's lambda, identity-mapping strength "
                   "beta_l = log(theta / l + 1) (default: 0.5)")
    p.add_argument("--edge-dropout", type=finite_float, default=None,
                   help="appnp: dropout on the propagation matrix at "
                   "each step (default: 0.5)")
    p.add_argument("--heads", type=plain_int, default=None, help="gat: attention heads in hidden layers (default: 8)")
    p.add_argument("--out-heads", type=plain_int, default=None,
                   help="gat: attention heads in the output layer, averaged "
                   "(default: 1)")
    p.add_argument("--dropout-scheme", choices=("reference", "shared"), default=None,
                   help="gat: 'reference' (default) drops each head's input with its own mask and drops the "
                   "transformed features again before aggregating, as the paper's code; 'shared' drops the layer "
                   "input once for all heads, as PyG's example")
    p.add_argument("--lr", type=finite_float, default=None, help="Adam learning rate (default gcn 0.01, gat 0.005)")
    p.add_argument("--weight-decay", type=finite_float, default=None, help="L2 weight decay (default: 5e-4)")
    p.add_argument("--weight-decay-layers", choices=("first", "all"), default=None,
                   help="put weight decay on the first layer only (gcn paper default) or on all layers")
    p.add_argument("--weight-decay-rest", type=finite_float, default=None,
                   help="with --weight-decay-layers first: the weight decay of every other parameter "
                        "(default 0; gcnii 5e-4 on its linear layers, as the authors' code)")
    p.add_argument("--dropout", type=finite_float, default=None, help="dropout on each layer's input (default gcn 0.5, "
                   "gat 0.6, also on gat's attention)")
    p.add_argument("--patience", type=plain_int, default=None,
                   help="early-stopping patience in epochs; 0 disables early "
                   "stopping (default gcn 10, gat 100, sage/mlp 50)")
    p.add_argument("--features", choices=("auto", "given", "structural", "embedding"), default="auto",
                   help="node features: the dataset's (structural ones when it has none; default auto), given, "
                   "structural (degree, clustering, PageRank, FastRP), or a learnable embedding")
    p.add_argument("--no-normalize-features", action="store_true",
                   help="do not row-normalise the features (the papers do)")
    p.add_argument("--split", type=finite_float, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                   help="stratified split fractions for graphs without split masks (default: 0.6 0.2 0.2)")
    p.add_argument("--per-class", type=plain_int, default=None, help="instead of --split: this many training nodes per "
                   "class, 500 validation, 1000 test (Planetoid protocol)")
    _add_run_options(p)
    p.set_defaults(handler=run_train)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """The shared run options, mixed precision, TensorBoard and the mini-batch options of `train node`."""
    from gnnkit.cli.output import add_run_options

    add_run_options(p, checkpoint_every=10)
    p.add_argument("--amp", choices=("bf16", "fp16", "none"), default="none",
                   help="mixed precision autocast (default: none; bf16 works on CPU and recent GPUs)")
    p.add_argument("--tensorboard", default=None, help="write TensorBoard scalars to this folder (needs tensorboard)")
    p.add_argument("--mode", choices=("full", "minibatch"), default="full",
                   help="full: the whole graph every step (default); minibatch: sampled neighbourhoods around "
                   "--batch-size training nodes per step (GraphSAGE-style). Under `torchrun --nproc-per-node N` "
                   "minibatch training runs data-parallel: each process takes a share of the training nodes")
    p.add_argument("--batch-size", type=plain_int, default=None, help="minibatch: seed nodes per step (default: 1024)")
    p.add_argument("--inference-batch-size", type=plain_int, default=None,
                   help="minibatch: evaluation and prediction run layer-wise over all nodes in blocks of this many "
                   "nodes, so memory stays bounded (default: 4096)")
    p.add_argument("--fanout", default=None, help="minibatch: neighbours sampled per node at each hop, one "
                   "number per layer, comma-separated; -1 takes all (default: 15,10)")


def register_predict(tasks: argparse._SubParsersAction) -> None:
    from gnnkit.cli.source import ROOT_HELP

    node = tasks.add_parser(
        "node", help="per-node class predictions from a node-classification checkpoint",
        description="Load a checkpoint written by `gnnkit train node --checkpoint PATH`, prepare the dataset as that "
                    "run did, and write one predicted class per node (CSV: node,prediction).",
    )
    node.add_argument("--checkpoint", required=True, help="checkpoint written by gnnkit train node --checkpoint")
    node.add_argument("--dataset", default=None, help="the dataset the checkpoint was trained on (default: the "
                      "one recorded in the checkpoint)")
    node.add_argument("--root", default=None, help=ROOT_HELP)
    node.add_argument("--no-download", action="store_true", help="fail instead of downloading missing raw files")
    node.add_argument("--output", default=None, help="write the CSV here instead of printing it")
    node.set_defaults(handler=run_predict)


# ----------------------------------------------------------------------- helpers
def load_node_dataset(name: str, root: str | None, download: bool = True):
    """A catalogued dataset as a ``Graph``, checked to be a node-classification
    one; or your own files: a MUSAE-layout folder (``edges.csv``,
    ``target.csv``, optional ``features.csv`` / ``features.json``) or a
    Planetoid one (``ind.<prefix>.*``), found as ``<root>/<name>/raw``,
    ``<root>/<name>`` or the folder ``name`` (as ``train kg`` and ``train rec`` look)."""
    from gnnkit.cli.datasets import OWN_GRAPH_LAYOUTS, own_graph_files, own_place
    from gnnkit.cli.datasets import load_dataset as load
    from gnnkit.datasets.catalog import get, names

    if name not in names():
        graph = own_graph_files(name, root)
        if graph is None:
            node_names = [n for n in names() if get(n).task == "node"]
            raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(node_names)}, or your own files: "
                             f"{OWN_GRAPH_LAYOUTS} in {own_place(name)}")
        return graph
    info = get(name)
    if info.task != "node":
        node_names = [n for n in names() if get(n).task == "node"]
        raise ValueError(f"dataset {name!r} is a {info.task} dataset, not a node-classification one; "
                         f"use one of {', '.join(node_names)}")
    return load(name, root, download)


def _build(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config fields, model hyper-parameters)`` from the arguments and the paper defaults."""
    from gnnkit.cli.output import max_seconds
    from gnnkit.train.node import PAPER_DEFAULTS

    d = dict(PAPER_DEFAULTS[args.model])
    pick = lambda value, key: d[key] if value is None else value  # noqa: E731
    patience = pick(args.patience, "patience")
    if patience is not None and patience < 0:
        raise ValueError(f"--patience must be >= 0 (0 disables early stopping), got {patience}")
    if args.layers is not None and not 1 <= args.layers <= 1024:
        raise ValueError(f"--layers must be between 1 and 1024 (GCNII's deepest published model has 64), got "
                         f"{args.layers}")
    if args.weight_decay_rest is not None and pick(args.weight_decay_layers, "weight_decay_layers") == "all":
        raise ValueError("--weight-decay-rest is the decay of the parameters --weight-decay-layers first leaves out; "
                         "with --weight-decay-layers all every parameter has --weight-decay")
    if args.mode != "minibatch":
        for flag, value in (("--batch-size", args.batch_size), ("--fanout", args.fanout),
                            ("--inference-batch-size", args.inference_batch_size)):
            if value is not None:
                raise ValueError(f"{flag} applies to --mode minibatch; the default --mode full trains on the whole "
                                 f"graph every step")
    if args.no_normalize_features and args.features in ("structural", "embedding"):
        raise ValueError(f"--no-normalize-features applies to a dataset's own features; --features {args.features} "
                         f"are never row-normalised")
    fields = dict(
        epochs=pick(args.epochs, "epochs"), lr=pick(args.lr, "lr"), weight_decay=pick(args.weight_decay, "weight_decay"),
        weight_decay_layers=pick(args.weight_decay_layers, "weight_decay_layers"),
        weight_decay_rest=d.get("weight_decay_rest", 0.0) if args.weight_decay_rest is None else args.weight_decay_rest,
        patience=patience or None, early_stopping=d["early_stopping"],
        normalize_features=not args.no_normalize_features, features=args.features,
        split=(0.6, 0.2, 0.2) if args.split is None else tuple(args.split),
        per_class=args.per_class, device=args.device, amp=None if args.amp == "none" else args.amp,
        quiet=args.quiet, tensorboard=args.tensorboard, profile=args.profile, checkpoint_every=args.checkpoint_every,
        max_seconds=max_seconds(args),
        dataset=args.dataset,
        mode=args.mode, batch_size=1024 if args.batch_size is None else args.batch_size,
        fanout=_fanout("15,10" if args.fanout is None else args.fanout),
        inference_batch_size=4096 if args.inference_batch_size is None else args.inference_batch_size,
    )
    hparams: dict[str, Any] = dict(hidden_channels=pick(args.hidden, "hidden"),
                                   num_layers=d.get("layers", 2) if args.layers is None else args.layers,
                                   dropout=pick(args.dropout, "dropout"))
    for option, key in (("K", "K"), ("alpha", "alpha"), ("theta", "theta"), ("edge_dropout", "edge_dropout")):
        if key in d:
            hparams[key] = pick(getattr(args, option), key)
        elif getattr(args, option) is not None:
            models = [m for m, v in PAPER_DEFAULTS.items() if key in v]
            raise ValueError(f"--{option.replace('_', '-')} applies to --model {' / '.join(models)} only, "
                             f"not {args.model!r}")
    if args.model == "gat":
        hparams.update(heads=pick(args.heads, "heads"), out_heads=pick(args.out_heads, "out_heads"),
                       dropout_scheme=args.dropout_scheme or "reference")
    elif args.heads is not None or args.out_heads is not None or args.dropout_scheme is not None:
        raise ValueError(f"--heads / --out-heads / --dropout-scheme apply to --model gat only, not {args.model!r}")
    return fields, hparams


def _check_split_options(args: argparse.Namespace, graph) -> None:
    """``--split`` / ``--per-class`` draw a split; a dataset with its own split
    masks (Cora's public split) would silently ignore them."""
    given = [flag for flag, value in (("--split", args.split), ("--per-class", args.per_class)) if value is not None]
    if len(given) == 2:
        raise ValueError("--per-class replaces --split (a fixed number of training nodes per class instead of "
                         "fractions); give one of them")
    if given and graph.train_mask is not None:
        raise ValueError(f"{args.dataset} has its own split masks (train/val/test), so {given[0]} would be ignored; "
                         f"drop it, or use a dataset without masks")


def _fanout(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(k) for k in text.split(","))
    except ValueError as err:
        raise ValueError(f"--fanout must be comma-separated integers such as 15,10, got {text!r}") from err


def run_train(args: argparse.Namespace) -> int:
    from gnnkit.cli.datasets import input_files
    from gnnkit.cli.output import (apply_threads, checkpoint_follows_resume, guard_outputs, locked_run_outputs, say,
                                   write_json)

    from gnnkit.cli.source import canonical_dataset

    args.dataset = canonical_dataset(args.dataset, args.root)  # `predict node` from another folder finds it
    checkpoint_follows_resume(args)
    guard_outputs(args, input_files(args.dataset, args.root), keep_checkpoints=True)  # before anything runs

    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    fields, hparams = _build(args)
    apply_threads(args)
    with locked_run_outputs(args.json, args.checkpoint, args.log_csv, args.seeds):  # a second run with the same --json stops here, at once
        graph = load_node_dataset(args.dataset, args.root, download=not args.no_download)
        _check_split_options(args, graph)
        start = time.perf_counter()
        results, main = _train_seeds(args, graph, fields, hparams)
        if not main:  # under torchrun only rank 0 reports
            return 0
        summary = _summary(args, results, fields, hparams, time.perf_counter() - start)
        say(f"{args.dataset} {args.model}: test accuracy {100 * summary['test_accuracy_mean']:.2f} ± "
            f"{100 * summary['test_accuracy_std']:.2f} % over {args.seeds} seed{'s' if args.seeds > 1 else ''} "
            f"(macro-F1 {100 * summary['test_macro_f1_mean']:.2f} %, {summary['seconds']:.1f} s)", args.json)
        write_json(summary, args.json)
    return 0


def _train_seeds(args: argparse.Namespace, graph, fields: dict[str, Any], hparams: dict[str, Any]) -> tuple[list, bool]:
    """Train one model per seed; ``(results, whether this process reports)``."""
    from gnnkit.cli.output import note, seed_path
    from gnnkit.cli.source import record_source
    from gnnkit.train.node import NodeClassificationTrainer, NodeTrainConfig, build_model, prepare_graph

    results = []
    for k in range(args.seeds):
        config = NodeTrainConfig(seed=args.seed + k, checkpoint=seed_path(args.checkpoint, k, args.seeds),
                                 resume=seed_path(args.resume, k, args.seeds),
                                 log_csv=seed_path(args.log_csv, k, args.seeds), **fields)
        prepared = prepare_graph(graph, config)
        model = build_model(args.model, prepared, config, **hparams)
        trainer = NodeClassificationTrainer(model, prepared, config)
        result = trainer.fit()
        results.append(result)
        main = trainer.dist.is_main
        if main:  # `gnnkit predict node` then finds the data without --dataset / --root
            record_source(config.checkpoint, args.dataset, args.root)
        if not args.quiet and main:
            note(f"seed {config.seed}: test accuracy {result.test_accuracy:.2%}, val {result.val_accuracy:.2%}, "
                 f"best epoch {result.best_epoch}/{result.epochs_run} ({result.seconds:.1f} s)")
    trainer.close()  # one process group serves every seed; leave it at the end
    return results, main


def _summary(args: argparse.Namespace, results: list, fields: dict[str, Any], hparams: dict[str, Any],
             seconds: float) -> dict[str, Any]:
    """The ``--json`` document of a run."""
    test = [r.test_accuracy for r in results]
    return {
        "dataset": args.dataset,
        "model": args.model,
        "seeds": args.seeds,
        "test_accuracy_mean": statistics.mean(test),
        "test_accuracy_std": statistics.pstdev(test),
        "test_accuracy": test,
        "val_accuracy_mean": statistics.mean(r.val_accuracy for r in results),
        "test_macro_f1_mean": statistics.mean(r.test_macro_f1 for r in results),
        "epochs_run": [r.epochs_run for r in results],
        "best_epoch": [r.best_epoch for r in results],
        "seconds": seconds,
        "config": {**fields, "seed": args.seed},
        "hparams": hparams,
    }


def run_predict(args: argparse.Namespace) -> int:
    from gnnkit.cli.source import dataset_and_root
    from gnnkit.io import atomic_write_text
    from gnnkit.train.metrics import accuracy
    from gnnkit.train.node import load_trained, predict

    ckpt = _node_checkpoint(args.checkpoint)  # refuses another task's checkpoint by name, first
    dataset, root = dataset_and_root(ckpt, args.checkpoint, args, ckpt.get("data", {}).get("dataset"))
    from pathlib import Path

    from gnnkit.cli.source import canonical_dataset

    dataset = canonical_dataset(dataset, root)  # ./mine/kar and mine/kar/ name the folder it was trained on

    from gnnkit.cli.datasets import input_files
    from gnnkit.cli.output import guard_outputs

    guard_outputs(args, [*input_files(dataset, root), (Path(args.checkpoint), "the --checkpoint being read")],
                  outputs=("output",))  # --output must not replace them
    graph = load_node_dataset(dataset, root, download=not args.no_download)
    model, prepared, _ = load_trained(args.checkpoint, graph, dataset=dataset)
    pred = predict(model, prepared)
    lines = ["node,prediction"] + [f"{i},{int(c)}" for i, c in enumerate(pred.tolist())]
    if args.output:
        atomic_write_text(args.output, "\n".join(lines) + "\n")
        mask = prepared.test_mask
        print(f"wrote {len(pred)} predictions to {args.output} (test accuracy "
              f"{accuracy(pred[mask], prepared.y[mask]):.2%})")
    else:
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _node_checkpoint(path: str) -> dict[str, Any]:
    """A node-classification checkpoint; one of another task is refused by
    name before any data is loaded."""
    from gnnkit.io import load_verified

    ckpt = load_verified(path)
    task = ckpt.get("task", "?")
    if task != "node":
        raise ValueError(f"{path} is a {task!r} checkpoint (written by `gnnkit train {task}`), not a "
                         f"node-classification one; `gnnkit predict node` needs a checkpoint from "
                         f"`gnnkit train node --checkpoint`")
    if not ckpt.get("finished"):  # a killed run: its weights are the last epoch's, never tested
        raise ValueError(f"{path} is from an unfinished run (stopped at epoch {ckpt.get('epoch')}); finish it with "
                         f"`gnnkit train node ... --resume {path}` first")
    return ckpt
