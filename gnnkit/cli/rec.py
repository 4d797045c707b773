"""``gnnkit train rec`` (train a recommender) and ``gnnkit recommend`` (top-K for a user)."""
from __future__ import annotations

import argparse
from pathlib import Path

from gnnkit.cli.output import add_threads_option, finite_float, plain_int, seed_int


def _defaults_help() -> str:
    from gnnkit.train.tasks.rec import MODEL_DEFAULTS

    rows = [f"{kind}: lr {d['lr']:g}, reg {d['reg']:g}, epochs {d['epochs']}, eval every {d['eval_every']}, "
            f"patience {d['patience']}" for kind, d in MODEL_DEFAULTS.items() if d["epochs"]]
    return "; ".join(rows)


def register_train(tasks: argparse._SubParsersAction) -> None:
    p = tasks.add_parser(
        "rec",
        help="train LightGCN / MF / NGCF (BPR), SimpleX (cosine contrastive loss) or UltraGCN (constraint-weighted "
             "BCE), or build the GF-CF / BSPM graph filters or the popularity baseline, on user-item interactions",
        description=(
            "Train a recommender with the BPR loss (SimpleX: its cosine contrastive loss; UltraGCN: its "
            "constraint-weighted binary cross-entropy with the item-item constraint), early-stopped on "
            "validation recall@20 (validation carved "
            "from train when the dataset has none), and rank all items for every test user. GF-CF (a graph "
            "filter) and BSPM (GF-CF's filter sharpened by an ODE solver step) and popularity have nothing to train. Each trained model has its own defaults for the "
            f"options marked 'per model' ({_defaults_help()})."
        ),
    )
    p.add_argument("--dataset", required=True, help="dataset name, e.g. ml-100k, lastfm, gowalla, or a folder "
                   "with your own LightGCN-format train.txt and test.txt ('user item item ...' per line, 0-based ids)")
    p.add_argument("--model", default="lightgcn", choices=("lightgcn", "mf", "ngcf", "simplex", "ultragcn", "pop", "gfcf", "bspm"),
                   help="model (default: lightgcn)")
    p.add_argument("--root", default=None, help="data root holding NAME/raw/ (default: $GNNKIT_DATA or datasets/)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing raw files")
    p.add_argument("--epochs", type=plain_int, default=None,
                   help="most training epochs (per model; lightgcn/mf/ngcf: 300)")
    p.add_argument("--dim", type=plain_int, default=64, help="embedding size (default: 64)")
    p.add_argument("--layers", type=plain_int, default=None, help="LightGCN / NGCF propagation layers (default: 3)")
    p.add_argument("--lr", type=finite_float, default=None,
                   help="Adam learning rate (per model; lightgcn: 5e-3, mf, ngcf and simplex: 1e-3, ultragcn: 1e-2)")
    p.add_argument("--batch-size", type=plain_int, default=2048, help="BPR triples per step (default: 2048)")
    p.add_argument("--reg", type=finite_float, default=None,
                   help="L2 on the batch's layer-0 embeddings (per model; lightgcn/mf/ngcf: 1e-4)")
    p.add_argument("--patience", type=plain_int, default=None,
                   help="validations without improvement before stopping (per model; lightgcn/mf/ngcf: 5)")
    p.add_argument("--ks", type=plain_int, nargs="+", default=[10, 20], metavar="K",
                   help="cut-offs of the reported metrics (recall@K, ndcg@K, ...); early stopping watches recall at "
                        "the largest (default: 10 20)")
    p.add_argument("--val-fraction", type=finite_float, default=0.1, help="share of each user's training items held "
                   "out for validation and early stopping, when the dataset has no validation split (default: 0.1)")
    p.add_argument("--eval-every", type=plain_int, default=None,
                   help="epochs between validations (per model; lightgcn/mf/ngcf: 5)")
    p.add_argument("--svd-k", type=plain_int, default=None,
                   help="GF-CF / BSPM: singular vectors of the ideal filter (default: gfcf 256, bspm 448)")
    p.add_argument("--alpha", type=finite_float, default=None,
                   help="GF-CF / BSPM: weight of the ideal filter (BSPM's beta; default: gfcf 0.3, bspm 0.2)")
    p.add_argument("--sharpen-time", type=finite_float, default=None,
                   help="BSPM: length T of the sharpening process (default: 2.5; 0 gives GF-CF)")
    p.add_argument("--sharpen-steps", type=plain_int, default=1, help="BSPM: RK4 steps of the sharpening (default: 1)")
    p.add_argument("--max-minutes", type=finite_float, default=None, help="stop training after this wall time")
    add_threads_option(p)
    p.add_argument("--seed", type=seed_int, default=0, help="random seed; with --seeds N the first (default: 0)")
    p.add_argument("--seeds", type=plain_int, default=1,
                   help="train N seeds (--seed, --seed + 1, ...) and report the mean "
                   "± std of each metric; --checkpoint and --log-csv then write PATH-seedK per seed (default: 1)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    p.add_argument("--amp", default=None, choices=("bf16", "fp16"), help="mixed precision for training")
    p.add_argument("--checkpoint", default=None, help="save the training state here after every validation, and resume from it when it exists (every option must equal that run's, except --epochs and --max-minutes)")
    p.add_argument("--resume", default=None, help="continue the run saved in this checkpoint (and keep saving to it): "
                   "the same as --checkpoint on an existing file, but an error when the file is missing")
    p.add_argument("--log-csv", "--csv", dest="csv", default=None,
                   help="write one row of metrics per epoch to this CSV file (--csv is the old spelling)")
    p.add_argument("--json", default=None,
                   help="write the final metrics here as JSON ('-' for stdout; the summary line then goes to stderr)")
    p.add_argument("--profile", default=None, metavar="DIR", help="profile a few epochs with torch.profiler: a "
                   "trace for TensorBoard / Perfetto in DIR and the top operators on stderr")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_train)


def _load_interactions(name: str, root: str | None, download: bool = True):
    from gnnkit.datasets import InteractionDataset, load, read_lightgcn
    from gnnkit.cli.datasets import find_own_folder, own_folders, own_place
    from gnnkit.datasets.catalog import get, names

    if name not in names():  # your own data in the LightGCN layout
        files = ("train.txt", "test.txt")
        folder = find_own_folder(name, root, lambda f: any((f / n).is_file() for n in files))
        if folder is not None:
            for n in files:
                path = folder / n
                if path.is_symlink() and not path.exists():
                    raise ValueError(f"{path} is a broken symbolic link; point it at the {n} file or replace it")
                if path.exists() and not path.is_file():
                    kind = "a directory" if path.is_dir() else "not a regular file (a pipe, socket or device)"
                    raise ValueError(f"{path} is {kind}; {n} must be a text file of 'user item item ...' lines")
            missing = [n for n in files if not (folder / n).is_file()]
            if missing:
                raise ValueError(f"folder {folder} has no {' or '.join(missing)}: --dataset takes a catalog name or a "
                                 f"folder with LightGCN-format train.txt and test.txt ('user item item ...' per line)")
            return read_lightgcn(folder, name=Path(name).name)
        recs = [n for n in names() if get(n).task == "recommendation"]
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(recs)}, or your own LightGCN-format "
                         f"train.txt + test.txt in {own_place(name)} (looked "
                         f"in {', '.join(map(str, own_folders(name, root)))})")
    data = load(name, root=root, download=download)
    if not isinstance(data, InteractionDataset):
        raise ValueError(f"dataset {name!r} is not a recommendation dataset (no user-item interactions); "
                         f"try ml-100k, lastfm or gowalla")
    return data


def _checkpoint_path(args: argparse.Namespace) -> str | None:
    """The one file ``train rec`` saves to and resumes from: ``--checkpoint``,
    or ``--resume`` (which must exist: with several seeds, every seed's
    ``PATH-seedK``; ``--checkpoint PATH`` instead resumes the seeds that have
    a file and starts the others)."""
    from gnnkit.cli.output import seed_path

    if args.resume is None:
        return args.checkpoint
    for k in range(args.seeds):
        path = seed_path(args.resume, k, args.seeds)
        if not Path(path).is_file():
            where = "" if path == args.resume else f" ({path}, seed {args.seed + k})"
            raise ValueError(f"--resume {args.resume}: no such checkpoint file{where}; pass the --checkpoint of an "
                             f"earlier `gnnkit train rec` run with the same --seeds, or --checkpoint "
                             f"{args.resume} to resume the seeds that have a file and start the others")
    if args.checkpoint is not None and Path(args.checkpoint).resolve() != Path(args.resume).resolve():
        raise ValueError(f"--resume {args.resume} and --checkpoint {args.checkpoint} name different files; train rec "
                         f"saves to and resumes from one file: pass one of them")
    return args.resume


def _check_filter_flags(args: argparse.Namespace) -> None:
    """The graph filters' flags, checked by their command-line names; given to
    another model they would be ignored, so that is an error too."""
    filters = {"--svd-k": ("gfcf", "bspm"), "--alpha": ("gfcf", "bspm"), "--sharpen-time": ("bspm",),
               "--sharpen-steps": ("bspm",)}
    values = {"--svd-k": args.svd_k, "--alpha": args.alpha, "--sharpen-time": args.sharpen_time,
              "--sharpen-steps": None if args.sharpen_steps == 1 else args.sharpen_steps}
    for flag, value in values.items():
        if value is not None and args.model not in filters[flag]:
            raise ValueError(f"{flag} is an option of --model {' and '.join(filters[flag])}, not of --model "
                             f"{args.model}; drop it or pick that model")
    untrained = {"--lr": args.lr, "--reg": args.reg, "--epochs": args.epochs, "--eval-every": args.eval_every,
                 "--patience": args.patience, "--max-minutes": args.max_minutes, "--log-csv": args.csv,
                 "--amp": args.amp}
    given = [flag for flag, value in untrained.items() if value is not None]
    if args.model in ("pop", "gfcf", "bspm") and given:
        raise ValueError(f"--model {args.model} has nothing to train (no epochs to log or stop), so {given[0]} "
                         f"does not apply; drop it (the metrics are in --json)")
    if args.svd_k is not None and args.svd_k < 0:
        raise ValueError(f"--svd-k must be >= 0 singular vectors, got {args.svd_k}")
    # (finite_float has refused nan and inf already)
    if args.alpha is not None and args.alpha < 0:
        raise ValueError(f"--alpha must be a finite weight >= 0, got {args.alpha}")
    if args.sharpen_time is not None and args.sharpen_time < 0:
        raise ValueError(f"--sharpen-time must be a finite time >= 0, got {args.sharpen_time}")
    if not 1 <= args.sharpen_steps <= 1000:
        raise ValueError(f"--sharpen-steps must be between 1 and 1000 solver steps (each costs four filter "
                         f"products over every user), got {args.sharpen_steps}")
    if args.layers is not None and args.model not in ("lightgcn", "ngcf"):
        raise ValueError(f"--layers is an option of --model lightgcn and ngcf, not of --model {args.model}; drop it "
                         f"or pick one of those")
    if len(set(args.ks)) != len(args.ks):
        raise ValueError(f"--ks lists a cut-off twice ({' '.join(map(str, args.ks))}); give each K once")
    args.layers = 3 if args.layers is None else args.layers
    if not 0 <= args.layers <= 64:
        raise ValueError(f"--layers must be between 0 and 64 propagation layers (LightGCN uses 1-4; many more "
                         f"smooth every embedding to the same vector), got {args.layers}")


def run_train(args: argparse.Namespace) -> int:
    _check_filter_flags(args)
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    from gnnkit.cli.datasets import input_files
    from gnnkit.cli.output import guard_outputs, locked_run_outputs

    guard_outputs(args, input_files(args.dataset, args.root))  # before anything is read or written
    checkpoint = _checkpoint_path(args)
    with locked_run_outputs(args.json, checkpoint, args.csv, args.seeds):  # writable, and no second run on the same --json, before training
        return _train(args, checkpoint)


def _train(args: argparse.Namespace, checkpoint: str | None) -> int:
    from gnnkit.cli.output import apply_threads, note, say, seed_path, write_json
    from gnnkit.train.rec import MODEL_DEFAULTS

    given = {"lr": args.lr, "reg": args.reg, "epochs": args.epochs, "eval_every": args.eval_every,
             "patience": args.patience}
    chosen = {name: MODEL_DEFAULTS[args.model][name] if value is None else value for name, value in given.items()}
    apply_threads(args)
    data = _load_interactions(args.dataset, args.root, download=not args.no_download)
    runs = []
    for k in range(args.seeds):
        result, spec, is_main = _train_seed(args, data, chosen, args.seed + k, seed_path(checkpoint, k, args.seeds),
                                            seed_path(args.csv, k, args.seeds))
        if not is_main:  # under torchrun only rank 0 reports
            continue
        runs.append({"seed": args.seed + k, **{key: v for key, v in result.items() if key != "history"}})
        hi = max(args.ks)
        if args.seeds > 1:
            note(f"seed {args.seed + k}: recall@{hi} {result[f'recall@{hi}']:.4f}  ndcg@{hi} "
                 f"{result[f'ndcg@{hi}']:.4f}  "
                 f"({result['epochs_run']} epochs, best {result['best_epoch']}, {result['seconds']:.1f} s)")
    if not runs:
        return 0
    filter_options = {key: v for key, v in spec.items() if key in ("k", "alpha", "sharpen_time", "sharpen_steps")}
    if "k" in filter_options:  # at most min(users, items) singular vectors exist
        filter_options["k_used"] = min(filter_options["k"], data.num_users, data.num_items)
    summary = {"dataset": args.dataset, "model": args.model, "seed": args.seed, **chosen, **filter_options,
               **_over_seeds(runs)}
    spread = (lambda key: f" ± {summary[key + '_std']:.4f}") if args.seeds > 1 else (lambda key: "")
    hi, lo = max(args.ks), min(args.ks)
    low = f"recall@{lo} {summary[f'recall@{lo}']:.4f}  " if lo != hi else ""
    run = (f"{args.seeds} seeds, {summary['seconds']:.1f} s in all" if args.seeds > 1
           else f"{summary['epochs_run']} epochs, best {summary['best_epoch']}, {summary['seconds']:.1f} s")
    say(f"{args.dataset} {args.model}: recall@{hi} {summary[f'recall@{hi}']:.4f}{spread(f'recall@{hi}')}  ndcg@{hi} "
        f"{summary[f'ndcg@{hi}']:.4f}{spread(f'ndcg@{hi}')}  precision@{hi} {summary[f'precision@{hi}']:.4f}  "
        f"{low}({run})", args.json)
    write_json(summary, args.json)
    return 0


def _train_seed(args: argparse.Namespace, data, chosen: dict, seed: int, checkpoint: str | None,
                csv: str | None) -> tuple[dict, dict, bool]:
    """One seed's run: ``(result, model spec, whether this process reports)``."""
    from gnnkit.cli.output import max_seconds
    from gnnkit.cli.source import record_source
    from gnnkit.train.rec import RecommendationTrainer, RecTrainConfig, build_model
    from gnnkit.train.runtime import seed_everything

    ks = tuple(sorted(set(args.ks)))
    config = RecTrainConfig(
        **chosen, batch_size=args.batch_size, device=args.device, amp=args.amp, seed=seed, ks=ks,
        monitor=f"recall@{ks[-1]}",
        val_fraction=args.val_fraction, checkpoint=checkpoint, csv=csv, progress=not args.quiet,
        profile=args.profile, max_seconds=max_seconds(args),
    )
    seed_everything(seed)
    model = build_model(args.model, data.num_users, data.num_items, args.dim, args.layers, args.svd_k, args.alpha,
                        args.sharpen_time, args.sharpen_steps)
    trainer = RecommendationTrainer(model, data, config)
    result = trainer.fit()
    trainer.close()
    if trainer.dist.is_main:
        # `gnnkit recommend` then takes and prints the dataset's own ids without loading it again
        held_rowptr, held_items = held_out_items(data)
        record_source(config.checkpoint, args.dataset, args.root, user_ids=data.user_ids, item_ids=data.item_ids,
                      held_out_rowptr=held_rowptr, held_out_items=held_items)
    return result, trainer.task.spec, trainer.dist.is_main


def _over_seeds(runs: list[dict]) -> dict:
    """One run's results as they are; several: the mean of every number, its
    ``_std`` (population) beside it, ``seconds`` summed, and ``per_seed``."""
    import statistics

    if len(runs) == 1:
        return {key: v for key, v in runs[0].items() if key != "seed"}
    out: dict = {"seeds": len(runs)}
    for key, value in runs[0].items():
        if key == "seed" or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        values = [r[key] for r in runs]
        if key == "seconds":
            out[key] = sum(values)
        else:
            out[key] = statistics.mean(values)
            out[f"{key}_std"] = statistics.pstdev(values)
    out["per_seed"] = runs
    return out


def held_out_items(data) -> tuple:
    """``(rowptr, items)``: each user's test items."""
    from gnnkit.datasets.interactions import positives_csr

    users, items = data.test_interactions
    return positives_csr(users, items, data.num_users, data.num_items)
