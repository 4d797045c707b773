"""Synthetic power-law graphs with learnable labels, for testing scale without downloads."""
from __future__ import annotations

import torch

from gnnkit.graph import Graph


def synthetic(num_nodes: int = 10_000, num_edges: int = 100_000, num_features: int = 32, num_classes: int = 4,
              homophily: float = 0.8, exponent: float = 3.0, noise: float = 2.0, seed: int = 0,
              split: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> Graph:
    """A random graph whose structure and features both carry the labels.

    Every node gets a class; its features are the class's random centroid plus
    Gaussian noise (``noise`` times the centroid scale, so features alone are
    not enough). Edge sources follow a power law (``floor(N·u^exponent)`` over
    a random relabelling, so a few hubs hold many edges); each edge's target is
    a node of the source's class with probability ``homophily`` and a uniform
    node otherwise. Edges are stored in both directions (``2 · num_edges``
    entries). Train/val/test masks split the nodes at random by ``split``.

    Args:
        num_nodes, num_edges, num_features, num_classes: sizes.
        homophily: probability that an edge joins two nodes of one class.
        exponent: skew of the degree distribution (1 = uniform).
        noise: feature noise relative to the class signal.
        seed: the generator seed; the same arguments give the same graph.
        split: fractions of nodes in train / val / test.

    Raises:
        ValueError: for sizes or probabilities out of range.
    """
    if num_nodes < num_classes or num_classes < 1 or num_edges < 0 or num_features < 1:
        raise ValueError(
            f"synthetic: need num_nodes >= num_classes >= 1, num_edges >= 0 and num_features >= 1, got "
            f"{num_nodes}, {num_classes}, {num_edges}, {num_features}"
        )
    if not 0.0 <= homophily <= 1.0:
        raise ValueError(f"synthetic: homophily is a probability in [0, 1], got {homophily}")
    if abs(sum(split) - 1.0) > 1e-6 or min(split) < 0:
        raise ValueError(f"synthetic: split fractions must be >= 0 and sum to 1, got {split}")
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (num_nodes,), generator=g)
    centroids = torch.randn(num_classes, num_features, generator=g)
    x = centroids[y] + noise * torch.randn(num_nodes, num_features, generator=g)

    relabel = torch.randperm(num_nodes, generator=g)
    src = relabel[(torch.rand(num_edges, generator=g).pow(exponent) * num_nodes).long()]
    # nodes grouped by class, to draw a same-class target in O(1) per edge
    by_class = torch.argsort(y)
    counts = torch.bincount(y, minlength=num_classes)
    starts = torch.cumsum(counts, 0) - counts
    c = y[src]
    same = by_class[starts[c] + (torch.rand(num_edges, generator=g) * counts[c]).long()]
    other = torch.randint(0, num_nodes, (num_edges,), generator=g)
    dst = torch.where(torch.rand(num_edges, generator=g) < homophily, same, other)
    edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)

    order = torch.randperm(num_nodes, generator=g)
    n_train, n_val = int(split[0] * num_nodes), int(split[1] * num_nodes)
    masks = []
    for lo, hi in ((0, n_train), (n_train, n_train + n_val), (n_train + n_val, num_nodes)):
        m = torch.zeros(num_nodes, dtype=torch.bool)
        m[order[lo:hi]] = True
        masks.append(m)
    return Graph(x=x, edge_index=edge_index, y=y, train_mask=masks[0], val_mask=masks[1], test_mask=masks[2])
