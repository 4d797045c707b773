"""Stratified random splits for graphs that ship without split masks."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def stratified_split(y: Tensor, fractions: Sequence[float] = (0.6, 0.2, 0.2), per_class: int | None = None,
                     num_val: int = 500, num_test: int = 1000, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Train/validation/test masks, stratified by class, from a seed.

    With ``fractions = (train, val, test)`` every class is split in those
    proportions (rounded down, at least one training node per class). With
    ``per_class = k`` the Planetoid protocol: ``k`` random training nodes per
    class, then ``num_val`` validation and ``num_test`` test nodes drawn from
    the rest. Nodes with a negative label are unlabelled and never chosen.

    Returns:
        ``(train_mask, val_mask, test_mask)``, boolean ``[N]``, disjoint.

    Raises:
        ValueError: fractions that are negative or sum above 1, or a split
            that leaves a class without training nodes (the message names the
            class and its size).
    """
    if y.dim() != 1:
        raise ValueError(f"stratified_split needs one integer label per node, got y of shape {tuple(y.shape)}")
    n = y.numel()
    gen = torch.Generator().manual_seed(int(seed))
    labels = y.detach().cpu()
    classes = torch.unique(labels[labels >= 0]).tolist()
    if not classes:
        raise ValueError("stratified_split: no node has a label (all labels are negative)")
    train = torch.zeros(n, dtype=torch.bool)
    val = torch.zeros(n, dtype=torch.bool)
    test = torch.zeros(n, dtype=torch.bool)
    if per_class is not None:
        if per_class < 1:
            raise ValueError(f"per_class must be >= 1, got {per_class}")
        for c in classes:
            nodes = (labels == c).nonzero().flatten()
            if nodes.numel() <= per_class:
                raise ValueError(
                    f"class {c} has {nodes.numel()} nodes, not enough for {per_class} training nodes plus "
                    f"validation/test ones; lower per_class"
                )
            train[nodes[torch.randperm(nodes.numel(), generator=gen)[:per_class]]] = True
        rest = ((labels >= 0) & ~train).nonzero().flatten()
        rest = rest[torch.randperm(rest.numel(), generator=gen)]
        if rest.numel() < num_val + num_test:
            raise ValueError(f"only {rest.numel()} labelled nodes are left for {num_val} validation + {num_test} test nodes")
        val[rest[:num_val]] = True
        test[rest[num_val:num_val + num_test]] = True
        return train, val, test
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) > 1 + 1e-9:
        raise ValueError(f"split fractions must be three non-negative numbers (train, val, test) summing to <= 1, "
                         f"got {tuple(fractions)}")
    f_train, f_val, f_test = fractions
    for c in classes:
        nodes = (labels == c).nonzero().flatten()
        nodes = nodes[torch.randperm(nodes.numel(), generator=gen)]
        k = nodes.numel()
        n_train, n_val = int(f_train * k), int(f_val * k)
        n_test = int(f_test * k)
        if n_train == 0:
            raise ValueError(
                f"the split {tuple(fractions)} leaves class {c} ({k} nodes) without training nodes; "
                f"raise the training fraction or use per_class"
            )
        train[nodes[:n_train]] = True
        val[nodes[n_train:n_train + n_val]] = True
        test[nodes[n_train + n_val:n_train + n_val + n_test]] = True
    return train, val, test


__all__ = ["stratified_split"]
