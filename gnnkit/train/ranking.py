"""Full-ranking evaluation of recommenders: top-K items per user, recall/ndcg/precision/hit@K.

Every evaluated user ranks *all* items, with the items it already interacted
with masked out, in user batches whose score matrix fits a memory budget.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from gnnkit.train.metrics import RANKING_METRICS


def _flat_ranges(starts: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """``(segment id, position)`` for the concatenated ranges ``[s, s + c)``."""
    seg = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    offsets = torch.cumsum(counts, 0) - counts
    return seg, torch.arange(seg.numel(), device=counts.device) - offsets[seg] + starts[seg]


def masked_top_k(scores: Tensor, users: Tensor, k: int, exclude: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """``[B, k]`` the ``k`` best of ``scores`` ``[B, I]`` (the rows of ``users``),
    best first, after setting each user's ``exclude`` items to ``-inf`` in place.

    Args:
        scores: ``[B, I]`` scores, modified in place.
        users: ``[B]`` the user of each row.
        k: how many items.
        exclude: ``(rowptr, items)`` per-user items never to return first.
    """
    num_items = scores.size(1)
    if not 1 <= k <= num_items:
        raise ValueError(f"k = {k} must be between 1 and the number of items ({num_items})")
    if exclude is not None:
        rowptr, items = exclude
        starts, ends = rowptr[users], rowptr[users + 1]
        seg, pos = _flat_ranges(starts, ends - starts)
        scores[seg, items[pos]] = -math.inf
    return scores.topk(k, dim=1).indices


def top_k(user_emb: Tensor, item_emb: Tensor, users: Tensor, k: int,
          exclude: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """``[len(users), k]`` the ``k`` best-scored items per user (dot product),
    best first, items in ``exclude`` (``(rowptr, items)`` per user) never
    returned ahead of an unexcluded one."""
    num_items = item_emb.size(0)
    if not 1 <= k <= num_items:
        raise ValueError(f"k = {k} must be between 1 and the number of items ({num_items})")
    scores = user_emb.index_select(0, users).float() @ item_emb.float().t()
    return masked_top_k(scores, users, k, exclude)


def evaluate_ranking(user_emb: Tensor, item_emb: Tensor, test: Tensor, exclude: tuple[Tensor, Tensor] | None,
                     ks: tuple[int, ...] = (10, 20), memory_mb: float = 256.0) -> dict[str, float]:
    """Full-ranking recall/ndcg/precision/hit@K over the users in ``test``,
    scored by the dot product of the embeddings (``evaluate_scores`` with
    :math:`s_{ui} = e_u^\top e_i`).

    Args:
        user_emb: ``[U, d]`` final user embeddings.
        item_emb: ``[I, d]`` final item embeddings.
        test: ``[2, n]`` (user row, item row) test interactions.
        exclude: ``(rowptr, items)`` per-user items to mask (training positives).
        ks: cut-offs.
        memory_mb: most memory a batch of scores may take.

    Returns:
        see ``evaluate_scores``.
    """
    item_t = item_emb.float().t()
    return evaluate_scores(lambda users: user_emb.index_select(0, users).float() @ item_t,
                           user_emb.size(0), item_emb.size(0), test.to(user_emb.device), exclude, ks, memory_mb)


def evaluate_scores(score_fn: Callable[[Tensor], Tensor], num_users: int, num_items: int, test: Tensor,
                    exclude: tuple[Tensor, Tensor] | None, ks: tuple[int, ...] = (10, 20),
                    memory_mb: float = 256.0) -> dict[str, float]:
    """Full-ranking recall/ndcg/precision/hit@K over the users in ``test``.

    Every user with at least one test interaction ranks all items (those in
    ``exclude`` masked); users without test items are skipped and counted in
    ``skipped_users``. Users are scored in batches of at most ``memory_mb``
    of scores.

    Args:
        score_fn: ``score_fn(users [B]) -> [B, num_items]`` scores (a fresh tensor: it is masked in place).
        num_users: number of users.
        num_items: number of items.
        test: ``[2, n]`` (user row, item row) test interactions.
        exclude: ``(rowptr, items)`` per-user items to mask (training positives).
        ks: cut-offs.
        memory_mb: most memory a batch of scores may take.

    Returns:
        ``{"recall@10": ..., "ndcg@10": ..., "precision@10": ..., "hit@10": ..., ...,
        "num_users": evaluated, "skipped_users": without test items}``.
    """
    if test.numel() == 0 or test.size(-1) == 0:
        raise ValueError("the test split is empty: there is nothing to rank against; check the dataset's split")
    if max(ks) > num_items:
        raise ValueError(f"K = {max(ks)} is larger than the number of items ({num_items}); use a smaller --k / ks")
    dev = exclude[0].device if exclude is not None else test.device
    test_keys = torch.unique(test[0].long().to(dev) * num_items + test[1].long().to(dev))
    test_users, num_relevant = torch.unique(test_keys // num_items, return_counts=True)
    kmax = max(ks)
    batch = max(1, int(memory_mb * 2**20 // (num_items * 4 * 2)))  # scores + topk workspace
    sums = {f"{name}@{k}": 0.0 for k in ks for name in RANKING_METRICS}
    for start in range(0, test_users.numel(), batch):
        users = test_users[start : start + batch]
        ranked = masked_top_k(score_fn(users).float(), users, kmax, exclude)
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
