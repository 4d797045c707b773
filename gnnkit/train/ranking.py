"""Full-ranking evaluation of recommenders: top-K items per user, recall/ndcg/precision/hit@K.

Every evaluated user ranks *all* items, with the items it already interacted
with masked out, in user batches whose score matrix fits a memory budget.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gnnkit.train.metrics import RANKING_METRICS


def _flat_ranges(starts: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """``(segment id, position)`` for the concatenated ranges ``[s, s + c)``."""
    seg = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    offsets = torch.cumsum(counts, 0) - counts
    return seg, torch.arange(seg.numel(), device=counts.device) - offsets[seg] + starts[seg]


def top_k(user_emb: Tensor, item_emb: Tensor, users: Tensor, k: int,
          exclude: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """``[len(users), k]`` the ``k`` best-scored items per user (dot product),
    best first, items in ``exclude`` (``(rowptr, items)`` per user) never
    returned ahead of an unexcluded one."""
    num_items = item_emb.size(0)
    if not 1 <= k <= num_items:
        raise ValueError(f"k = {k} must be between 1 and the number of items ({num_items})")
    scores = user_emb.index_select(0, users).float() @ item_emb.float().t()
    if exclude is not None:
        rowptr, items = exclude
        starts, ends = rowptr[users], rowptr[users + 1]
        seg, pos = _flat_ranges(starts, ends - starts)
        scores[seg, items[pos]] = -math.inf
    return scores.topk(k, dim=1).indices


def evaluate_ranking(user_emb: Tensor, item_emb: Tensor, test: Tensor, exclude: tuple[Tensor, Tensor] | None,
                     ks: tuple[int, ...] = (10, 20), memory_mb: float = 256.0) -> dict[str, float]:
    """Full-ranking recall/ndcg/precision/hit@K over the users in ``test``.

    Every user with at least one test interaction ranks all items (those in
    ``exclude`` masked); users without test items are skipped and counted in
    ``skipped_users``. Users are scored in batches of at most ``memory_mb``
    of scores.

    Args:
        user_emb: ``[U, d]`` final user embeddings.
        item_emb: ``[I, d]`` final item embeddings.
        test: ``[2, n]`` (user row, item row) test interactions.
        exclude: ``(rowptr, items)`` per-user items to mask (training positives).
        ks: cut-offs.

    Returns:
        ``{"recall@10": ..., "ndcg@10": ..., "precision@10": ..., "hit@10": ..., ...,
        "num_users": evaluated, "skipped_users": without test items}``.
    """
    num_users, num_items = user_emb.size(0), item_emb.size(0)
    if test.numel() == 0 or test.size(-1) == 0:
        raise ValueError("the test split is empty: there is nothing to rank against; check the dataset's split")
    if max(ks) > num_items:
        raise ValueError(f"K = {max(ks)} is larger than the number of items ({num_items}); use a smaller --k / ks")
    dev = user_emb.device
    test_keys = torch.unique(test[0].long().to(dev) * num_items + test[1].long().to(dev))
    test_users, num_relevant = torch.unique(test_keys // num_items, return_counts=True)
    kmax = max(ks)
    batch = max(1, int(memory_mb * 2**20 // (num_items * 4 * 2)))  # scores + topk workspace
    sums = {f"{name}@{k}": 0.0 for k in ks for name in RANKING_METRICS}
    for start in range(0, test_users.numel(), batch):
        users = test_users[start : start + batch]
        ranked = top_k(user_emb, item_emb, users, kmax, exclude)
        q = users.unsqueeze(1) * num_items + ranked
        pos = torch.searchsorted(test_keys, q).clamp_(max=test_keys.numel() - 1)
        hits = test_keys[pos] == q
        for k in ks:
            for name, fn in RANKING_METRICS.items():
                sums[f"{name}@{k}"] += float(fn(hits, num_relevant[start : start + batch], k).sum())
    n = test_users.numel()
    out = {key: value / n for key, value in sums.items()}
    out.update(num_users=n, skipped_users=num_users - n)
    return out
