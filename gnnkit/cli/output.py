"""How commands report: JSON documents, human-readable lines, per-seed paths.

``--json -`` makes stdout a JSON document and nothing else, so the human
summary then goes to stderr; otherwise the summary goes to stdout. Progress
bars and per-seed lines always go to stderr.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gnnkit.io import atomic_write_text


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


def seed_path(path: str | None, k: int, seeds: int) -> str | None:
    """``PATH`` for one seed, ``PATH-seedK.ext`` for seed ``k`` of several."""
    if path is None or seeds == 1:
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}-seed{k}{p.suffix}"))
