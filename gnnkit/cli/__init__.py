"""The ``gnnkit`` command line: parses arguments and calls the library.

Each sub-command lives in its own module: ``register(subparsers)`` adds
top-level commands (``gnnkit demo``, ``gnnkit datasets``, ``gnnkit recommend``,
``gnnkit suggest-friends``), ``register_train(subparsers)`` adds a
``gnnkit train`` task (``node``, ``rec``, ``link``, ``kg``) and
``register_predict(subparsers)`` a ``gnnkit predict`` task (``node``, ``kg``).
The parsed arguments go to the ``handler`` the module set. No logic lives here.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import re
import sys
import warnings

# Modules that add top-level commands, in the order --help lists them.
_COMMANDS = (
    "gnnkit.cli.demo",
    "gnnkit.cli.recommend",
    "gnnkit.cli.link",
    "gnnkit.cli.datasets",
)
# Modules that add a `gnnkit train TASK` command.
_TRAIN_COMMANDS = ("gnnkit.cli.node", "gnnkit.cli.rec", "gnnkit.cli.kg", "gnnkit.cli.link")
# Modules that add a `gnnkit predict TASK` command.
_PREDICT_COMMANDS = ("gnnkit.cli.node", "gnnkit.cli.kg")


class _Parser(argparse.ArgumentParser):
    """argparse with gnnkit's one-line errors: a bad or missing option is one
    ``gnnkit: error: ...`` line naming the command (exit status 2), not the
    usage text; ``--help`` still prints the whole usage. Sub-commands'
    parsers are of this class too (argparse makes them of the parent's class)."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        where = "" if self.prog == "gnnkit" else f"{self.prog}: "
        # a pasted file given as an argument is echoed by argparse: each word of it shown shortened
        message = re.sub(r"\S{81,}", lambda m: f"{m.group()[:60]}... ({len(m.group())} characters)", message)
        self.exit(2, f"gnnkit: error: {where}{message}; see `{self.prog} --help`\n")

    def parse_args(self, args=None, namespace=None):
        # argparse reports options no parser knew through the top parser ("gnnkit: unrecognized arguments");
        # name the command they were given to, whose --help lists what it takes
        if self.prog == "gnnkit":  # `gnnkit --root D train kg`: the option belongs to the command after it
            argv = sys.argv[1:] if args is None else list(args)
            for token in argv:
                if not token.startswith("-"):
                    break
                if token.split("=")[0] not in ("-h", "--help", "--version", "--debug"):
                    self.error(f"{token} is not an option of gnnkit itself: a command's options go after the "
                               f"command (e.g. gnnkit train node ... {token})")
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            _chosen(self, parsed).error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub-)command parser ``args`` was parsed by: ``gnnkit train kg``'s for ``gnnkit train kg ...``."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        name = getattr(args, subs[0].dest, None) if subs else None
        if name not in (subs[0].choices if subs else {}):
            return parser
        parser = subs[0].choices[name]


def build_parser() -> argparse.ArgumentParser:
    from gnnkit import __version__

    parser = _Parser(
        prog="gnnkit",
        description="gnnkit: graph neural networks for PyTorch. Run `gnnkit COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    train = sub.add_parser("train", help="train a model (one task per sub-command)",
                           description="Train a model. `gnnkit train TASK --help` lists a task's options.")
    tasks = train.add_subparsers(dest="task", metavar="TASK", required=True)
    for name in _TRAIN_COMMANDS:
        importlib.import_module(name).register_train(tasks)
    predict = sub.add_parser("predict", help="predict with a trained model (one task per sub-command)",
                             description="Predict with a model saved by `gnnkit train TASK --checkpoint`.")
    predict_tasks = predict.add_subparsers(dest="task", metavar="TASK", required=True)
    for name in _PREDICT_COMMANDS:
        importlib.import_module(name).register_predict(predict_tasks)
    for name in _COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def console_main() -> int:
    """The ``gnnkit`` executable and ``python -m gnnkit``: ``main`` in a process
    of its own, whose freed memory is kept for the next training step
    (``gnnkit.settings.retain_freed_memory``) unless ``GNNKIT_RETAIN_MEMORY=0``."""
    from gnnkit.settings import retain_freed_memory, retain_memory_wanted

    if retain_memory_wanted():
        retain_freed_memory()
    for stream in (sys.stdout, sys.stderr):  # an ASCII terminal must not lose a finished run's outputs to a "±"
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    return main()


_NEGATIVE_LIST = re.compile(r"-[0-9]+(,-?[0-9]+)+")


def _attach_negative_lists(argv: list[str]) -> list[str]:
    """``--fanout -1,-1`` as ``--fanout=-1,-1``: argparse takes a value that
    starts with ``-`` and is not one number for an option and refuses it
    ("expected one argument"), so the help's own ``-1`` (all neighbours)
    could not be typed first in a list."""
    out: list[str] = []
    for token in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and _NEGATIVE_LIST.fullmatch(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run one command. Bad input (a path that is missing or may not be read
    included) ends as one ``gnnkit: error: ...`` line with exit status 2; a
    failing disk or a dead peer process with status 1;
    ``--debug`` shows the traceback instead."""
    from gnnkit.distributed import DistributedError

    parser = build_parser()
    args = parser.parse_args(_attach_negative_lists(sys.argv[1:] if argv is None else list(argv)))
    shown = warnings.formatwarning
    if not args.debug:  # a warning is one line in the CLI's words, not Python's file:line and source
        warnings.formatwarning = lambda message, category, *rest, **kw: f"gnnkit: warning: {message}\n"
    said = logging.StreamHandler(sys.stderr)  # the library's log warnings, in the same words
    said.setLevel(logging.WARNING)
    said.setFormatter(_CliFormatter())
    logging.getLogger("gnnkit").addHandler(said)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:  # `gnnkit ... | head`: the reader left early, nothing of ours failed
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, OSError, DistributedError) as err:
        if args.debug:
            raise
        # bad input (a file that is not there or may not be read): 2; a failing disk or network, a dead peer: 1
        status = getattr(err, "exit_status", None) or (2 if isinstance(err, (ValueError, *_INPUT_ERRORS)) else 1)
        hint = "; check its permissions, or choose another path" if isinstance(err, PermissionError) else ""
        text = getattr(err, "cli_message", None) or _one_line(err)  # a library error's command-line wording
        print(f"gnnkit: error: {_cli_names(text)}{hint}", file=sys.stderr)
        return status
    except (OverflowError, TypeError, RuntimeError) as err:
        # a number too large for the integer it becomes (an infinite ratio; torch's "Overflow when unpacking
        # long" for a size past 64 bits): bad input; any other TypeError or RuntimeError is a bug
        if args.debug or not (isinstance(err, OverflowError) or "overflow" in str(err).lower()):
            if not args.debug and isinstance(err, RuntimeError) and _out_of_memory(err):
                return _say_out_of_memory(err)
            raise
        text = _one_line(err).split(" Exception raised from")[0][:200]
        print(f"gnnkit: error: a number is too large or infinite ({text}); check the numeric options",
              file=sys.stderr)
        return 2
    except MemoryError as err:
        if args.debug:
            raise
        return _say_out_of_memory(err)
    except KeyboardInterrupt:
        print("gnnkit: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = shown
        logging.getLogger("gnnkit").removeHandler(said)


class _CliFormatter(logging.Formatter):
    """``gnnkit: warning: ...``, as the CLI's other lines."""

    def format(self, record: logging.LogRecord) -> str:
        return f"gnnkit: {record.levelname.lower()}: {record.getMessage()}"


# The library's config fields as the command line spells them, where a flag
# sets the field under the same meaning: an error then names the flag.
_FLAG_OF_FIELD = {"lr": "--lr", "weight_decay": "--weight-decay", "epochs": "--epochs", "patience": "--patience",
                  "eval_every": "--eval-every", "batch_size": "--batch-size", "reg": "--reg",
                  "val_fraction": "--val-fraction", "num_negatives": "--negatives", "label_smoothing":
                  "--label-smoothing", "margin": "--margin", "checkpoint_every": "--checkpoint-every",
                  "embedding_dim": "--dim", "neg_ratio": "--neg-ratio", "fanout": "--fanout"}


def _cli_names(text: str) -> str:
    """``"OptimConfig: lr must be ..."`` → ``"--lr must be ..."``: errors from
    the library's config checks, in the command line's words."""
    import re

    def flag(match: re.Match) -> str:
        return _FLAG_OF_FIELD.get(match.group(2), match.group(0))

    return re.sub(r"\b(OptimConfig|StopConfig|RunConfig|RecConfig|KGConfig|LinkConfig|NodeConfig|NodeTrainConfig|"
                  r"MiniBatchConfig)(?::\s*|\.)(\w+)\b", flag, text)


# OSErrors that name a path the user gave wrongly, not a failing machine
_INPUT_ERRORS = (PermissionError, FileNotFoundError, IsADirectoryError, NotADirectoryError)


def _say_out_of_memory(err: BaseException) -> int:
    print(f"gnnkit: error: out of memory ({_one_line(err)[:200]}); use smaller sizes (e.g. --dim, "
          f"--batch-size, --hidden) or a smaller dataset", file=sys.stderr)
    return 1


def _out_of_memory(err: BaseException) -> bool:
    """A failed allocation: ``MemoryError`` or torch's allocator errors (CPU or CUDA)."""
    if isinstance(err, MemoryError):
        return True
    text = str(err)
    return "can't allocate memory" in text or "out of memory" in text.lower() or "OutOfMemoryError" in type(err).__name__


def _one_line(err: Exception) -> str:
    """The error as one line: an ``OSError``'s message without the
    ``[Errno N]`` prefix, naming its file once."""
    text = str(err)
    if isinstance(err, OSError) and err.strerror:
        text = err.strerror
        if err.filename and str(err.filename) not in text:
            text = f"{text}: {err.filename}"
    return " ".join(text.split("\n")) or type(err).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
