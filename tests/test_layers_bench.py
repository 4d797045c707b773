"""benchmarks/layers.py: every layer's step runs for its contenders on a tiny graph; R-GCN is timed
against PyG's edge_index path only (PyG's RGCNConv takes no torch.sparse adjacency)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import layers  # noqa: E402
from benchmarks.common import skewed_graph  # noqa: E402
from gnnkit_testing import require  # noqa: E402


def test_contenders_of_each_layer():
    assert layers.contenders_of("gcn", False) == ("gnnkit", "pyg", "pyg-csr")
    assert layers.contenders_of("rgcn", True) == ("gnnkit", "pyg", "gnnkit-compiled")
    types = layers.edge_types(50, "cpu")
    assert types.shape == (50,) and int(types.max()) < layers.RELATIONS
    assert torch.equal(types, layers.edge_types(50, "cpu"))  # seeded: the same for every contender


@pytest.mark.parametrize("layer", layers.LAYERS)
def test_every_step_runs(layer):
    require("torch_geometric")
    ei = skewed_graph(200, 2_000)
    x = torch.randn(200, 8)
    for contender in layers.contenders_of(layer, False):
        step = layers.step_fn(layer, contender, x, ei, heads=2)
        step()
        step()  # a second call on the cached structure
