"""How commands report: JSON documents, human-readable lines, per-seed paths.

``--json -`` makes stdout a JSON document and nothing else, so the human
summary then goes to stderr; otherwise the summary goes to stdout. Progress
bars and per-seed lines always go to stderr.
"""
from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from gnnkit.io import atomic_write_text, check_writable, exclusive_lock


def say(text: str, json_dest: str | None) -> None:
    """Print a summary line: stdout, or stderr when stdout carries JSON."""
    print(text, file=sys.stderr if json_dest == "-" else sys.stdout)


def note(text: str) -> None:
    """A progress line (always stderr)."""
    print(text, file=sys.stderr)


def write_json(document: dict[str, Any], dest: str | None) -> None:
    """Write ``document`` to ``dest`` (atomically), or to stdout for ``"-"``."""
    if dest is None:
        return
    text = json.dumps(document, indent=2)
    if dest == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        atomic_write_text(dest, text + "\n")


@contextlib.contextmanager
def locked_outputs(json_dest: str | None, others: Iterable[str | None] = ()) -> Iterator[None]:
    """Check every output path can be written, then hold the ``--json`` file's
    lock for the whole command, so a second run with the same ``--json``
    fails at once ("... is being written by another run (pid N)") instead of
    both writing it. Checkpoints and CSV logs (``others``) are only checked
    here: the engine locks them while it trains each seed.

    Args:
        json_dest: the ``--json`` path (``None`` or ``"-"``: nothing to lock).
        others: further output paths to check for writability (``None`` skipped).

    Raises:
        ValueError: a path is not writable, or another run holds the lock.

    Under ``torchrun`` only rank 0 checks and locks (it alone writes).
    """
    from gnnkit.settings import distributed_env

    env = distributed_env()
    if env is not None and env[0] != 0:  # under torchrun only rank 0 writes outputs
        yield
        return
    json_file = json_dest if json_dest not in (None, "-") else None
    for path in [json_file, *others]:
        if path is not None:
            check_writable(path)  # fail before loading data and training, not at the end
    if json_file is None:
        yield
        return
    with exclusive_lock(json_file):
        yield


# The options through which a command writes files, and how --help spells them.
_OUTPUT_FLAGS = {"checkpoint": "--checkpoint", "log_csv": "--log-csv", "csv": "--log-csv", "json": "--json",
                 "output": "--output"}


def guard_outputs(args, inputs: Iterable[Path] = (), outputs: Iterable[str] | None = None,
                  keep_checkpoints: bool = False) -> None:
    """Refuse, before anything runs, outputs that would destroy what the
    command reads or writes elsewhere: two output options naming one file
    (with several seeds, any seed's ``PATH-seedK``), an output that is one of
    the dataset's own files (``inputs``), or an output that is the
    ``--resume`` checkpoint other than ``--checkpoint`` itself.

    Args:
        args: the parsed command line (its ``checkpoint``, ``log_csv`` /
            ``csv``, ``json``, ``output``, ``resume`` and ``seeds``, those it has).
        inputs: files the command reads (``gnnkit.cli.datasets.input_files``),
            or ``(path, what it is)`` pairs.
        outputs: the attributes of ``args`` that are outputs (default: all of
            ``checkpoint``, ``log_csv``, ``csv``, ``json``, ``output``; a
            command that only reads ``--checkpoint`` leaves it out).
        keep_checkpoints: refuse a ``--checkpoint`` that exists when no
            ``--resume`` is given (a new run would replace that run's file);
            for commands whose ``--resume`` is the way to continue a run.

    Raises:
        ValueError: naming both options (or the input) and the fix.
    """
    seeds = getattr(args, "seeds", 1) or 1
    _check_seed_range(args, seeds)
    for attr, flag in (*_OUTPUT_FLAGS.items(), ("resume", "--resume")):
        if isinstance(getattr(args, attr, None), str) and not getattr(args, attr).strip():
            raise ValueError(f"{flag} is empty; pass a file path")
    written: dict[Path, str] = {}
    for attr, flag in _OUTPUT_FLAGS.items():
        value = getattr(args, attr, None) if outputs is None or attr in outputs else None
        if not isinstance(value, str) or value == "-":
            continue
        if value.endswith(".lock"):  # writing one would replace another run's lock: both runs would then write
            raise ValueError(f"{flag} {value}: a name ending in .lock is where gnnkit locks an output while a run "
                             f"writes it; choose another name")
        for k in range(seeds):
            path = _resolved(seed_path(value, k, seeds), flag)
            if path in written and written[path] != flag:
                raise ValueError(f"{written[path]} and {flag} both name {path}; give each output its own file")
            written[path] = flag
    if keep_checkpoints:
        _refuse_existing_checkpoints(args, seeds)
    read = {}  # path -> what it is, for the message
    for item in inputs:
        path, what = item if isinstance(item, tuple) else (item, "an input file of the dataset")
        read[_resolved(path, what)] = what
    resume = getattr(args, "resume", None)
    if isinstance(resume, str):
        for k in range(seeds):
            read.setdefault(_resolved(seed_path(resume, k, seeds), "--resume"), "the --resume checkpoint")
    for path, flag in written.items():
        what = read.get(path)
        if what is None or (what == "the --resume checkpoint" and flag == "--checkpoint"):
            continue
        raise ValueError(f"{flag} {path} is {what}: writing it would destroy what this command reads; choose "
                         f"another path for {flag}")
    for path, flag in written.items():  # a JSON, CSV or prediction file must not replace any run's checkpoint
        if flag != "--checkpoint" and path.is_file() and _is_checkpoint(path):
            raise ValueError(f"{flag} {path} is a gnnkit checkpoint; writing {flag} there would destroy it: "
                             f"choose another path")


def _refuse_existing_checkpoints(args, seeds: int) -> None:
    """A ``--checkpoint`` that exists without ``--resume``: a new run would
    replace it. Named as what it is: a folder, a file of another kind, or
    an earlier run's checkpoint (then ``--resume`` continues that run)."""
    checkpoint = getattr(args, "checkpoint", None)
    if isinstance(checkpoint, str) and getattr(args, "resume", None) is None:
        for k in range(seeds):
            path = Path(seed_path(checkpoint, k, seeds))
            if path.is_dir():
                raise ValueError(f"--checkpoint {path} is a directory; give a file path, e.g. {path / 'run.pt'}")
            if path.exists() and not _is_checkpoint(path):
                raise ValueError(f"--checkpoint {path} exists and is not a gnnkit checkpoint; choose another path "
                                 f"(or delete that file)")
            if path.exists():
                raise ValueError(f"--checkpoint {path} already exists (an earlier run's); pass --resume {checkpoint} "
                                 f"to continue that run, or another --checkpoint path (or delete the file) to start "
                                 f"anew")


def checkpoint_follows_resume(args) -> None:
    """``--resume X`` without ``--checkpoint``: the run goes on saving to
    ``X``, so that a later kill, ``predict`` or ``--resume X`` sees the
    epochs trained since (they were never written)."""
    if getattr(args, "resume", None) and getattr(args, "checkpoint", None) is None:
        args.checkpoint = args.resume


def _is_checkpoint(path: Path) -> bool:
    from gnnkit.io import is_verified_file

    return is_verified_file(path)


def _check_seed_range(args, seeds: int) -> None:
    """``--seed S --seeds N`` runs seeds ``S .. S+N-1``; the last must still be a
    seed torch takes (it would wrap to another seed's run)."""
    first = getattr(args, "seed", None)
    if isinstance(first, int) and first + seeds - 1 > 2**32 - 1:
        raise ValueError(f"--seed {first} --seeds {seeds} would run seeds up to {first + seeds - 1}, past the largest "
                         f"seed {2**32 - 1}; use a smaller --seed")


def _resolved(path, flag: str) -> Path:
    """``path`` made absolute with its symlinks followed; a symlink loop is a clear error."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as err:  # RuntimeError: a symlink loop (Python < 3.13)
        what = f"{flag} {path}" if flag.startswith("--") else f"{path} ({flag})"
        raise ValueError(f"{what} is a symlink loop (or a symlink that cannot be followed); pass a file "
                         f"path") from err


def locked_run_outputs(json_dest: str | None, checkpoint: str | None, csv: str | None,
                       seeds: int) -> contextlib.AbstractContextManager[None]:
    """``locked_outputs`` over ``--json`` and every seed's checkpoint and CSV log."""
    return locked_outputs(json_dest, [seed_path(p, k, seeds) for p in (checkpoint, csv) for k in range(seeds)])


def seed_path(path: str | None, k: int, seeds: int) -> str | None:
    """``PATH`` for one seed, ``PATH-seedK.ext`` for seed ``k`` of several."""
    if path is None or seeds == 1:
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}-seed{k}{p.suffix}"))


def add_run_options(p, *, checkpoint_every: int, resumable: str = "--epochs and --max-minutes") -> None:
    """The options every ``gnnkit train TASK`` shares: seeds, device, the
    outputs (checkpoint, CSV log, JSON), resume, progress and profiling.

    Args:
        p: the task's ``argparse`` parser.
        checkpoint_every: the task's default number of epochs between checkpoints.
        resumable: the options that may change on ``--resume`` (for the help text).
    """
    p.add_argument("--seeds", type=plain_int, default=1,
                   help="number of seeds to train; reports mean ± std (default: 1)")
    p.add_argument("--seed", type=seed_int, default=0, help="first seed; seed k runs with --seed + k (default: 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--checkpoint", default=None, help="write the training state here (atomically, with a digest); "
                   "with several seeds seed k writes PATH-seedK (b.pt: b-seed0.pt, ...). An existing file is never "
                   "replaced: continue its run with --resume PATH, or choose another path")
    p.add_argument("--checkpoint-every", type=plain_int, default=checkpoint_every,
                   help=f"epochs between checkpoints (default: {checkpoint_every})")
    p.add_argument("--resume", default=None, help="continue an interrupted run from this checkpoint; every option "
                   f"must equal the run that wrote it, except {resumable}")
    p.add_argument("--log-csv", default=None, help="write per-epoch metrics to this CSV file (PATH-seedK with "
                   "several seeds)")
    p.add_argument("--json", default=None, help="write the results as JSON to this file ('-' for stdout: only the "
                   "JSON document goes there, the summary goes to stderr)")
    p.add_argument("--profile", default=None, metavar="DIR", help="profile a few epochs with torch.profiler: a "
                   "trace for TensorBoard / Perfetto in DIR and the top operators on stderr")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    p.add_argument("--max-minutes", type=finite_float, default=None, help="stop training after this wall time (the "
                   "best validated weights so far are tested)")
    add_threads_option(p)


_PLAIN_INT = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")  # ASCII only: \s would take NBSP and ideographic spaces


def plain_int(text: str) -> int:
    """argparse ``type`` for an integer option, and the parser of ids given on
    the command line: ASCII decimal digits only. Python's ``int`` also reads
    ``1_0`` as 10 and other scripts' digits (``١``) as numbers, which would
    answer for another id than the one typed."""
    import argparse

    if not _PLAIN_INT.fullmatch(text):
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r} (digits 0-9 only)")
    if len(text.strip().lstrip("+-").lstrip("0")) > 40:  # far past any id or count (Python refuses 4300 digits)
        raise argparse.ArgumentTypeError(f"integer too large: {len(text.strip())} digits")
    return int(text)


def positive_int(text: str) -> int:
    """argparse ``type`` for a size (``--dim``): ``plain_int`` and at least 1."""
    import argparse

    value = plain_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def finite_float(text: str) -> float:
    """argparse ``type`` for a float option: a finite number (``nan`` and
    ``inf`` would train a meaningless model or loop without end), written in
    ASCII without ``_`` (which ``float`` would skip)."""
    import argparse
    import math

    try:
        if not text.isascii() or "_" in text:
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def seed_int(text: str) -> int:
    """argparse ``type`` for ``--seed``: an integer in ``0 .. 2**32 - 1`` (with
    ``--seeds N`` the last seed must fit as well; torch and numpy take such seeds)."""
    import argparse

    value = plain_int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and {2**32 - 1}, got {text}")
    return value


def add_subject_options(p, checkpoint_help: str, flag: str, flag_help: str, what: str) -> None:
    """``--checkpoint PATH`` and one of ``FLAG ID`` (the dataset's own id) or
    ``--index N`` (the internal index of ``what``): ``recommend`` and
    ``suggest-friends``."""
    p.add_argument("--checkpoint", required=True, help=checkpoint_help)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument(flag, help=flag_help)
    who.add_argument("--index", type=plain_int, help=f"instead of {flag}: the {what}'s internal index, 0 .. num_{what}s-1")


def add_threads_option(p) -> None:
    """``--threads N``: torch's CPU threads for the run (``apply_threads``)."""
    p.add_argument("--threads", type=plain_int, default=None,
                   help="CPU threads for torch (default: torch's choice; on a "
                   "busy machine or a small graph 1 is often fastest)")


def apply_threads(args) -> None:
    """Set torch's CPU threads from ``--threads`` (when given)."""
    threads = getattr(args, "threads", None)
    if threads is None:
        return
    import os

    most = max(64, 4 * (os.cpu_count() or 1))
    if not 1 <= threads <= most:
        raise ValueError(f"--threads must be between 1 and {most} (this machine has {os.cpu_count()} CPUs; more "
                         f"threads than cores only slow torch down), got {threads}")
    import torch

    torch.set_num_threads(threads)


def max_seconds(args) -> float | None:
    """``--max-minutes`` in seconds (``None`` when not given); must be > 0."""
    minutes = getattr(args, "max_minutes", None)
    if minutes is None:
        return None
    if not minutes > 0:
        raise ValueError(f"--max-minutes must be > 0, got {minutes}")
    return 60.0 * minutes


def index_of_id(raw: str, ids, *, what: str, flag: str, ids_hint: str, missing: str) -> int:
    """The position of ``raw`` (an id as the dataset's files write it) in ``ids``;
    a non-integer or unknown id is a ``ValueError`` naming valid ones and ``--index``.

    Args:
        ids: ``[N]`` integer tensor of the ids, in index order.
        what: ``"user"``, ``"node"``, ... (for the messages).
        flag: the option that took it (``"--user"``).
        ids_hint: how the ids are described, e.g. ``"ml-100k's user ids"``.
        missing: where the id is not, e.g. ``"in ml-100k"``.
    """
    examples = ", ".join(str(int(v)) for v in ids[:3].tolist())
    hint = (f"{ids_hint} run {examples} … {int(ids[-1])} ({len(ids)} {what}s); pass one of them, or "
            f"--index N for the internal 0-based index")
    if not _PLAIN_INT.fullmatch(raw):
        shown = raw if len(raw) <= 80 else f"{raw[:60]}... ({len(raw)} characters)"
        raise ValueError(f"{flag} {shown!r} is not an integer id (digits 0-9 only); {hint}")
    if len(raw.strip().lstrip("+-").lstrip("0")) > 40:  # in no dataset (and Python refuses 4300 digits)
        raise ValueError(f"{what} id of {len(raw.strip())} digits is not {missing}: {hint}")
    value = int(raw)
    hit = (ids == value).nonzero() if abs(value) < 2**63 else ids[:0]  # (past int64: in no dataset)
    if hit.numel() == 0:
        raise ValueError(f"{what} {value} is not {missing}: {hint}")
    return int(hit[0, 0])
