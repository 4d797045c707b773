"""Helpers shared by the tests (importable as ``gnnkit_testing``: pyproject's
pytest ``pythonpath`` puts tests/ on sys.path). Fixtures live in conftest.py."""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
import torch


def fail_or_skip(message: str) -> None:
    """Missing real data: a failure under CI (``CI=true``), a skip elsewhere,
    so a CI run can never go green by skipping the data tests."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def require(module: str, reason: str = "part of the [dev] extra: pip install -e '.[dev]'"):
    """``pytest.importorskip`` that cannot pass CI by skipping: the imported module, else
    a failure under ``CI=true`` and a skip elsewhere, both naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        message = f"{module} is not importable ({err}); {reason}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message, allow_module_level=True)


def dataset_dir(root: Path, name: str) -> Path:
    """``root/name/raw``, failing (CI) or skipping (local) when absent."""
    path = root / name / "raw"
    if not path.is_dir():
        fail_or_skip(f"{path} is missing from the data root")
    return path


def random_graph(num_nodes: int = 30, num_edges: int = 120, seed: int = 0, weighted: bool = True,
                 self_loops: bool = True, duplicates: bool = True, isolated: int = 3):
    """A random directed graph with, by default, self-loops, duplicate edges
    and ``isolated`` nodes that no edge touches (the last ids)."""
    g = torch.Generator().manual_seed(seed)
    active = num_nodes - isolated
    ei = torch.randint(0, active, (2, num_edges), generator=g)
    if self_loops:
        loops = torch.arange(0, active, 5)
        ei = torch.cat([ei, loops.repeat(2, 1)], dim=1)
    if duplicates:
        ei = torch.cat([ei, ei[:, :10]], dim=1)
    w = torch.rand(ei.size(1), generator=g) + 0.1 if weighted else None
    return ei, w


def write_ring_triples(folder: Path, n: int = 12) -> Path:
    """A knowledge graph as triple files in ``folder``: entities e0..e{n-1} on a
    ring, (e_i, next, e_i+1) and (e_i, prev, e_i-1), with one ``next`` fact in
    valid.txt and one in test.txt."""
    facts = [(f"e{i}", "next", f"e{(i + 1) % n}") for i in range(n)] + \
            [(f"e{i}", "prev", f"e{(i - 1) % n}") for i in range(n)]
    held = {"valid": [facts[3]], "test": [facts[7]]}
    splits = {"train": [f for f in facts if f not in held["valid"] + held["test"]], **held}
    folder.mkdir(parents=True)
    for name, rows in splits.items():
        (folder / f"{name}.txt").write_text("".join("\t".join(r) + "\n" for r in rows))
    return folder


class Interrupt(Exception):
    """Raised by ``stop_at``: stands for a run killed mid-training."""


def stop_at(n: int):
    """An engine callback that interrupts the run at epoch ``n`` (kill-and-resume tests)."""
    def callback(epoch, row):
        if epoch == n:
            raise Interrupt
    return callback
