"""``gnnkit train kg`` and ``gnnkit predict kg``: knowledge-graph completion from the command line.

Parses arguments into a ``KGConfig``, the engine's configs and the model's
hyper-parameters (``MODEL_DEFAULTS`` unless given), then runs
``gnnkit.train.tasks.kg.KGTask`` on the engine; ``predict kg`` answers a
``(head, relation, ?)`` query by names from a finished checkpoint. No
training logic lives here.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from gnnkit.cli.output import add_run_options, apply_threads, finite_float, max_seconds, plain_int, positive_int

_MODELS = ("rotate", "complex", "distmult", "transe", "rgcn")


def _defaults_text() -> str:
    from gnnkit.train.tasks.kg import MODEL_DEFAULTS

    return "\n".join(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in d.items()) for name, d in MODEL_DEFAULTS.items())


def register_train(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser(
        "kg",
        help="knowledge-graph completion (ComplEx, RotatE, DistMult, TransE, R-GCN) with filtered ranking",
        description=(
            "Train a knowledge-graph embedding model and report filtered rank metrics (realistic ties, head and "
            "tail prediction) on the test triples: MRR, Hits@1/3/10, mean rank. One recipe for every dataset: "
            "1-vs-all cross-entropy per training triple with inverse triples, label smoothing 0.1, Adam lr 0.01, "
            "batch 1024, early stopping on validation MRR (every 2 epochs, patience 10). Model defaults:\n" + _defaults_text() + "\n"
            "--dataset is a catalog name (kinships, nations, umls, fb15k-237, wn18rr) or any folder NAME under "
            "--root (or a path) holding train.txt, valid.txt and test.txt with 'head<TAB>relation<TAB>tail' lines."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", required=True, help="catalog name, a folder NAME under --root, or a folder path")
    p.add_argument("--model", default="complex", choices=_MODELS, help="model (default: complex, ComplEx with the N3 "
                   "penalty: the best of the five on Kinships and Nations with this recipe)")
    p.add_argument("--root", default=None, help="data root holding NAME/raw/ (default: $GNNKIT_DATA or the "
                   "default data folder)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing raw files")
    p.add_argument("--dim", type=positive_int, default=None, help="embedding dimension (complex dimension for rotate and "
                   "complex; default per model, see above)")
    p.add_argument("--regularization", type=finite_float, default=None, help="weight of the model's penalty (N3 for "
                   "complex / distmult / rgcn; default per model)")
    p.add_argument("--epochs", type=plain_int, default=200, help="most training epochs (default: 200)")
    p.add_argument("--lr", type=finite_float, default=0.01, help="Adam learning rate (default: 0.01)")
    p.add_argument("--batch-size", type=plain_int, default=1024,
                   help="training triples (or queries with --rows queries) "
                   "per step (default: 1024)")
    p.add_argument("--loss", choices=("ce", "bce", "nssa", "margin"), default="ce",
                   help="ce / bce: 1-vs-all over every entity (default ce); nssa: sampled negatives with RotatE's "
                   "self-adversarial loss; margin: sampled negatives with a margin ranking loss")
    p.add_argument("--rows", choices=("triples", "queries"), default="triples",
                   help="1-vs-all rows: training triples with their own tail as the target (default; Lacroix et al., "
                   "2018), or (head, relation) queries with all their true tails (Dettmers et al., 2018)")
    p.add_argument("--label-smoothing", type=finite_float, default=None, help="1-vs-all label smoothing (default: 0.1)")
    p.add_argument("--unseen", choices=("error", "drop", "keep"), default=None,
                   help="valid/test triples whose entity or relation never occurs in train.txt: error (default for "
                        "your own files), drop them with a warning (as PyKEEN; the catalog's FB15k-237 and WN18RR), "
                        "or keep them with untrained embeddings")
    p.add_argument("--no-inverse", action="store_true", help="do not add inverse triples (heads are then scored "
                   "with the model's own head score)")
    p.add_argument("--negatives", type=plain_int, default=None,
                   help="nssa / margin: corruptions per triple (default: 64)")
    p.add_argument("--margin", type=finite_float, default=None, help="nssa / margin: the margin gamma (default: 9)")
    p.add_argument("--adversarial-temperature", type=finite_float, default=None,
                   help="nssa: temperature of the self-adversarial weights, 0 for uniform (default: 1)")
    p.add_argument("--filter-negatives", action="store_true", help="nssa / margin: leave corruptions that are "
                   "training triples out of the loss")
    p.add_argument("--patience", type=plain_int, default=10, help="validations without a better validation MRR before "
                   "stopping; 0 disables early stopping (default: 10)")
    p.add_argument("--eval-every", type=plain_int, default=2, help="epochs between validations (default: 2)")
    add_run_options(p, checkpoint_every=10)
    p.set_defaults(handler=run_train)


def register_predict(tasks: argparse._SubParsersAction) -> None:
    """Add ``gnnkit predict kg``."""
    from gnnkit.cli.source import ROOT_HELP

    p = tasks.add_parser(
        "kg", help="the best tails of a (head, relation, ?) query from a `gnnkit train kg` checkpoint",
        description="Load a checkpoint written by `gnnkit train kg --checkpoint PATH` and print the K best tails "
                    "of (HEAD, RELATION, ?), known facts marked. For the heads of (?, RELATION, TAIL) pass "
                    "--head TAIL --relation RELATION_inverse (models trained with inverse triples).",
    )
    p.add_argument("--checkpoint", required=True, help="checkpoint written by gnnkit train kg --checkpoint")
    p.add_argument("--dataset", default=None, help="the dataset the checkpoint was trained on (default: the one "
                   "recorded in the checkpoint)")
    p.add_argument("--root", default=None, help=ROOT_HELP)
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing raw files")
    p.add_argument("--head", required=True, help="entity name of the query's head")
    p.add_argument("--relation", required=True, help="relation name of the query")
    p.add_argument("-k", "--k", "--top", dest="k", type=plain_int, default=None,
                   help="how many tails (default: 10, or every entity of a smaller graph)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=run_predict)


# ----------------------------------------------------------------------- helpers
def load_knowledge_graph(name: str, root: str | None, download: bool = True, unseen: str | None = None):
    """A ``KnowledgeGraph``: a catalogued one by name, or the triple files in
    ``<root>/<name>/raw``, ``<root>/<name>`` or the folder ``name``; ``unseen``
    (``--unseen``) for valid/test triples with an entity or relation not in
    training: your own files default to ``"error"``, catalogued graphs to
    their catalog entry's choice."""
    from gnnkit.datasets import load
    from gnnkit.datasets.catalog import get, names
    from gnnkit.cli.datasets import find_own_folder, own_folders, own_place
    from gnnkit.datasets.formats.triples import read_triples

    if name in names():
        info = get(name)
        if info.task != "kg":
            kg_names = [n for n in names() if get(n).task == "kg"]
            raise ValueError(f"dataset {name!r} is a {info.task} dataset, not a knowledge graph; use one of "
                             f"{', '.join(kg_names)} or a folder of train/valid/test triple files")
        catalogued = dict(info.reader_options).get("unseen", "error")
        if unseen is not None and unseen != catalogued:
            raise ValueError(f"--unseen {unseen}: the catalogued {name} is read with --unseen {catalogued} (its "
                             f"published split); drop --unseen, or copy its files into a folder of your own")
        return load(name, root=root, download=download, progress=False)
    folder = find_own_folder(name, root, lambda f: (f / "train.txt").is_file())
    if folder is not None:
        return read_triples(folder, name=Path(name).name if folder == Path(name) else name, unseen=unseen or "error")
    kg_names = [n for n in names() if get(n).task == "kg"]
    raise ValueError(f"unknown dataset {name!r}: not in the catalog ({', '.join(kg_names)}) and no train.txt under "
                     f"{' or '.join(map(str, own_folders(name, root)))}; put train.txt, valid.txt and test.txt in "
                     f"{own_place(name)}")


def _hparams(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.dim is not None:
        out["dim"] = args.dim
    if args.regularization is not None:
        if args.model == "transe":
            raise ValueError("--regularization does not apply to --model transe (its entities are kept on the "
                             "unit sphere instead)")
        out["regularization"] = args.regularization
        if args.model == "rotate":
            out["regularizer"] = "n3"
    return out


def _loss_options(args: argparse.Namespace) -> dict:
    """The loss options given, each checked against the losses that use it
    (given to another loss it would be ignored, and recorded as if used)."""
    sampled = ("nssa", "margin")
    uses = {"--label-smoothing": ("label_smoothing", ("ce", "bce")), "--negatives": ("num_negatives", sampled),
            "--margin": ("margin", sampled), "--adversarial-temperature": ("adversarial_temperature", ("nssa",)),
            "--filter-negatives": ("filter_negatives", sampled)}
    given = {"--label-smoothing": args.label_smoothing, "--negatives": args.negatives, "--margin": args.margin,
             "--adversarial-temperature": args.adversarial_temperature,
             "--filter-negatives": True if args.filter_negatives else None}
    options = {}
    for flag, value in given.items():
        field, losses = uses[flag]
        if value is None:
            continue
        if args.loss not in losses:
            raise ValueError(f"{flag} applies to --loss {' / '.join(losses)}, not --loss {args.loss}; drop it or "
                             f"pick that loss")
        if field != "filter_negatives":
            options[field] = value
    return options


def run_train(args: argparse.Namespace) -> int:
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    from gnnkit.cli.datasets import input_files
    from gnnkit.cli.output import checkpoint_follows_resume, guard_outputs, locked_run_outputs

    checkpoint_follows_resume(args)
    guard_outputs(args, input_files(args.dataset, args.root), keep_checkpoints=True)  # before anything runs
    with locked_run_outputs(args.json, args.checkpoint, args.log_csv, args.seeds):  # writable, and no second run on the same --json, before training
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    from gnnkit.cli.output import note, say, seed_path, write_json
    from gnnkit.cli.source import canonical_dataset, record_source
    from gnnkit.train.config import OptimConfig, RunConfig, StopConfig
    from gnnkit.train.engine import Engine
    from gnnkit.train.runtime import seed_everything
    from gnnkit.train.tasks.kg import MODEL_DEFAULTS, KGConfig, KGTask, build_model

    apply_threads(args)
    if args.patience < 0:
        raise ValueError(f"--patience must be >= 0 (0 disables early stopping), got {args.patience}")
    config = KGConfig(loss=args.loss, per_triple=args.rows == "triples", inverse=not args.no_inverse,
                      batch_size=args.batch_size, filter_negatives=args.filter_negatives, **_loss_options(args))
    hparams = _hparams(args)
    kg = load_knowledge_graph(args.dataset, args.root, download=not args.no_download, unseen=args.unseen)
    if config.inverse:
        kg = kg.with_inverse()
    optim = OptimConfig(lr=args.lr)
    stop = StopConfig(epochs=args.epochs, patience=args.patience or None, eval_every=args.eval_every,
                      max_seconds=max_seconds(args))
    results, start = [], time.perf_counter()
    for k in range(args.seeds):
        seed = args.seed + k
        run = RunConfig(seed=seed, device=args.device, progress=not args.quiet,
                        checkpoint=seed_path(args.checkpoint, k, args.seeds),
                        checkpoint_every=args.checkpoint_every, resume=seed_path(args.resume, k, args.seeds),
                        log_csv=seed_path(args.log_csv, k, args.seeds), profile=args.profile)
        seed_everything(seed)  # the model's initial weights
        model = build_model(args.model, kg, **hparams)
        task = KGTask(model, kg, config, seed=seed, spec={"kind": args.model, **MODEL_DEFAULTS[args.model], **hparams})
        t0 = time.perf_counter()
        fit = Engine(task, optim, stop, run).fit()
        record_source(run.checkpoint, canonical_dataset(args.dataset, args.root), args.root,  # for `predict kg`
                      unseen=args.unseen or "")
        m = fit.metrics
        results.append({"seed": seed, **m, "best_epoch": fit.best_epoch, "epochs_run": fit.epochs_run,
                        "seconds": time.perf_counter() - t0})
        if not args.quiet or args.seeds > 1:
            note(f"seed {seed}: test MRR {m['test_mrr']:.4f}, Hits@1/3/10 {m['test_hits@1']:.4f} / "
                 f"{m['test_hits@3']:.4f} / {m['test_hits@10']:.4f}, valid MRR {m['valid_mrr']:.4f}, best epoch "
                 f"{fit.best_epoch}/{fit.epochs_run} ({results[-1]['seconds']:.1f} s)")
    summary = _summary(args, results, time.perf_counter() - start, config, hparams)
    say(f"{kg.name} {args.model}: test MRR {summary['test_mrr']:.4f}"
        + (f" ± {summary['test_mrr_std']:.4f}" if args.seeds > 1 else "")
        + f", Hits@1 {summary['test_hits@1']:.4f}, Hits@3 {summary['test_hits@3']:.4f}, Hits@10 "
          f"{summary['test_hits@10']:.4f}, mean rank {summary['test_mr']:.2f} (filtered, realistic; "
          f"{args.seeds} seed{'s' if args.seeds > 1 else ''}, {summary['seconds']:.1f} s)", args.json)
    write_json(summary, args.json)
    return 0


_REPORTED = ("test_mrr", "test_hits@1", "test_hits@3", "test_hits@10", "test_mr", "test_head_mrr", "test_tail_mrr",
             "valid_mrr", "valid_hits@1", "valid_hits@3", "valid_hits@10", "valid_mr")


def _summary(args: argparse.Namespace, results: list[dict[str, Any]], seconds: float, config: Any,
             hparams: dict[str, Any]) -> dict[str, Any]:
    """Means over seeds of the reported metrics (``*_std`` beside them with
    several seeds), every seed's row, and the settings."""
    import dataclasses

    from gnnkit.train.tasks.kg import MODEL_DEFAULTS

    out: dict[str, Any] = {"dataset": args.dataset, "model": args.model, "seeds": args.seeds}
    for key in _REPORTED:
        values = [r[key] for r in results]
        out[key] = statistics.mean(values)
        if len(values) > 1:
            out[f"{key}_std"] = statistics.pstdev(values)
    out.update(seconds=seconds, per_seed=results,
               config={**dataclasses.asdict(config), "lr": args.lr, "epochs": args.epochs,
                       "patience": args.patience, "eval_every": args.eval_every},
               hparams={**MODEL_DEFAULTS[args.model], **hparams})
    return out


def run_predict(args: argparse.Namespace) -> int:
    import json

    from gnnkit.cli.source import dataset_and_root
    from gnnkit.io import load_verified
    from gnnkit.train.tasks.kg import load_trained, predict_tails

    ckpt = load_verified(args.checkpoint)
    task = ckpt.get("task")
    if task != "kg":  # before looking for its data
        raise ValueError(f"{args.checkpoint} is a checkpoint of `gnnkit train {task}`, not of `gnnkit train kg`; "
                         f"pass a checkpoint written by `gnnkit train kg --checkpoint PATH`")
    dataset, root = dataset_and_root(ckpt, args.checkpoint, args, ckpt.get("data", {}).get("name"))
    kg = load_knowledge_graph(dataset, root, download=not args.no_download,
                              unseen=(ckpt.get("source") or {}).get("unseen") or None)  # as the run read it
    model, kg, ckpt = load_trained(args.checkpoint, kg)
    k = min(10, kg.num_entities) if args.k is None else args.k
    rows = predict_tails(model, kg, args.head, args.relation, k)
    kind = ckpt["model"]["kind"]
    if args.json:
        print(json.dumps({"head": args.head, "relation": args.relation, "model": kind, "dataset": kg.name,
                          "tails": rows}, indent=2))
        return 0
    print(f"top {k} tails of ({args.head}, {args.relation}, ?) ({kind} on {kg.name}; * = known fact):")
    for row in rows:
        print(f"{row['rank']:3d}. {row['entity']:30s} score {row['score']:10.4f}{'  *' if row['known'] else ''}")
    return 0
