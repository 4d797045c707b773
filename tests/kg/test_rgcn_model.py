"""RGCN for entity classification: the layers' composition, featureless entities, and a
relational task that only a model reading the edge types can learn."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gnnkit.nn.models import GCN, RGCN


def relational_task(n=200, seed=0):
    """Each node receives edges of one relation only (0 or 1), from random sources; its class is that
    relation. With constant features, the graph without its edge types says nothing about the class."""
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 2, (n,), generator=g)
    dst = torch.arange(n).repeat_interleave(3)
    src = torch.randint(0, n, (dst.numel(),), generator=g)
    return torch.stack([src, dst]), label.repeat_interleave(3), label


def fit(model, x, ei, et, y, train, epochs=150):
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(epochs):
        opt.zero_grad()
        out = model(x, ei, et) if et is not None else model(x, ei)
        F.cross_entropy(out[train], y[train]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        out = model(x, ei, et) if et is not None else model(x, ei)
    return (out.argmax(1) == y).float()


def test_learns_what_only_the_edge_types_tell():
    torch.manual_seed(0)
    ei, et, y = relational_task()
    x = torch.ones(y.numel(), 1)
    train = torch.arange(y.numel()) < 100
    rgcn = fit(RGCN(1, 8, 2, num_relations=2), x, ei, et, y, train)
    assert float(rgcn[~train].mean()) == 1.0
    blind = fit(GCN(1, 8, 2, num_layers=2), x, ei, None, y, train)  # same graph, edge types dropped
    assert float(blind[~train].mean()) < 0.7


def test_composition_of_the_layers_and_featureless_entities():
    torch.manual_seed(0)
    ei, et, _ = relational_task(n=30)
    model = RGCN(None, 6, 3, num_relations=2, num_nodes=30, num_bases=2)
    model.eval()
    h = model.convs[0](model.embedding.weight, ei, et)
    expected = model.convs[1](torch.relu(h), ei, et)
    torch.testing.assert_close(model(None, ei, et), expected)
    blocks = RGCN(4, 6, 5, num_relations=2, num_layers=3, num_blocks=2)
    assert [c.num_blocks for c in blocks.convs] == [2, 2, None]  # 2 does not divide the 5 classes
    assert blocks(torch.randn(30, 4), ei, et).shape == (30, 5)


@pytest.mark.parametrize("kwargs, call, match", [
    (dict(in_channels=None), None, "need num_nodes"),
    (dict(num_layers=0), None, "num_layers"),
    (dict(dropout=1.0), None, "dropout"),
    (dict(in_channels=None, num_nodes=5), "features", "pass x=None"),
    (dict(), "none", "pass x"),
])
def test_errors(kwargs, call, match):
    ei, et = torch.tensor([[0, 1], [1, 2]]), torch.tensor([0, 1])
    args = dict(in_channels=3, hidden_channels=4, out_channels=2, num_relations=2) | kwargs
    with pytest.raises(ValueError, match=match):
        RGCN(**args)(torch.randn(5, 3) if call == "features" else None, ei, et)
