"""Shared fixtures: the real-data root and a random-graph factory."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Without a GPU the Triton kernels are tested in triton's CPU interpreter. The
# switch must be set before anything (torch.compile included) imports triton.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

# The tests run small tensors, where a second thread only adds contention (and
# on a loaded 2-core machine OpenMP spin-waits make it many times slower).
torch.set_num_threads(1)

from gnnkit_testing import fail_or_skip, random_graph

REPO = Path(__file__).resolve().parents[1]


def _data_root() -> Path:
    env = os.environ.get("GNNKIT_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real datasets (``$GNNKIT_DATA``, else ``../shared/data``).

    Missing data is a skip on a developer machine but a failure under CI
    (``CI=true``), so a CI run can never go green by skipping every data test.
    """
    root = _data_root()
    if not root.is_dir():
        fail_or_skip(
            f"real data root {root} not found: set GNNKIT_DATA to a folder holding "
            f"<name>/raw/<files> (see datasets/README.md)"
        )
    return root


@pytest.fixture
def make_graph():
    """Factory fixture around ``random_graph``."""
    return random_graph
