"""A small synthetic node-classification graph for the trainer tests."""
from __future__ import annotations

import torch

from gnnkit import Graph


def sbm_graph(per_class: int = 40, classes: int = 3, p_in: float = 0.12, p_out: float = 0.01, features: int = 16,
              noise: float = 1.0, seed: int = 0, masks: bool = False) -> Graph:
    """A stochastic block model: labels follow the blocks, edges are mostly
    inside a block, features are a noisy class signal (so the graph helps)."""
    gen = torch.Generator().manual_seed(seed)
    n = per_class * classes
    y = torch.arange(classes).repeat_interleave(per_class)
    p = torch.where(y[:, None] == y[None, :], p_in, p_out)
    upper = torch.triu(torch.rand(n, n, generator=gen) < p, diagonal=1)
    src, dst = upper.nonzero().t()
    edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
    centers = torch.randn(classes, features, generator=gen)
    x = centers[y] + noise * torch.randn(n, features, generator=gen)
    fields = {}
    if masks:
        order = torch.randperm(n, generator=gen)
        fields = {name: torch.zeros(n, dtype=torch.bool).index_fill(0, idx, True)
                  for name, idx in zip(("train_mask", "val_mask", "test_mask"), order.chunk(3))}
    return Graph(x=x, edge_index=edge_index, y=y, **fields)
