"""Negative sampling for implicit-feedback training, vectorised in torch."""
from __future__ import annotations

import torch
from torch import Tensor


class NegativeSampler:
    """Uniform negatives over the items a user has *not* interacted with.

    Each user's training positives are kept as sorted keys
    ``user * num_items + item``. ``sample`` draws one uniform item per
    request, looks the candidates up with one ``searchsorted``, and redraws
    only the rejected ones until none is left; the expected number of rounds
    is ``1 / (1 - density)`` of the densest user, a handful in practice.

    Args:
        users, items: ``[n]`` the training positives (duplicates allowed).
        num_users, num_items: id ranges.

    Raises:
        ValueError: a user already has every item, so no negative exists.
    """

    def __init__(self, users: Tensor, items: Tensor, num_users: int, num_items: int) -> None:
        self.num_users, self.num_items = num_users, num_items
        self.keys = torch.unique(users.long() * num_items + items.long())  # sorted
        counts = torch.bincount(self.keys // num_items, minlength=num_users)
        if counts.numel() and int(counts.max()) >= num_items:
            full = int((counts >= num_items).nonzero()[0, 0])
            raise ValueError(
                f"user {full} has all {num_items} items as training positives, so no negative item exists; "
                f"drop that user from the training set"
            )

    def to(self, device: torch.device | str) -> NegativeSampler:
        self.keys = self.keys.to(device)
        return self

    def is_positive(self, users: Tensor, items: Tensor) -> Tensor:
        """``[n]`` bool: whether ``(users[k], items[k])`` is a training positive."""
        q = users.long() * self.num_items + items.long()
        if self.keys.numel() == 0:
            return torch.zeros_like(q, dtype=torch.bool)
        pos = torch.searchsorted(self.keys, q).clamp_(max=self.keys.numel() - 1)
        return self.keys[pos] == q

    def sample(self, users: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``[n]`` one negative item per entry of ``users``."""
        dev = self.keys.device
        users = users.to(dev)
        out = torch.randint(self.num_items, users.shape, device=dev, generator=generator)
        todo = self.is_positive(users, out).nonzero().squeeze(1)
        while todo.numel():
            redraw = torch.randint(self.num_items, todo.shape, device=dev, generator=generator)
            out[todo] = redraw
            todo = todo[self.is_positive(users[todo], redraw)]
        return out
