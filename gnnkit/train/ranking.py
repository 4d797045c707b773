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
    return top_k_indices(scores, k)


# Items per block of the blocked top-k: 32 floats are two cache lines, and a
# row of 40k items has 1,280 block maxima to rank.
_BLOCK = 32


def _first_k(values: Tensor, k: int) -> Tensor:
    """``[B, k]`` positions of the ``k`` largest of each row of ``values``,
    largest first, equal values in ascending position (``topk`` breaks ties
    as its implementation happens to, so a ranking with ties, as
    popularity's, would depend on the device and the algorithm)."""
    kth = values.topk(k, dim=1).values[:, -1:]
    equal = values == kth
    need = k - (values > kth).sum(1, keepdim=True)  # how many of the tied values to keep, lowest positions first
    take = (values > kth) | (equal & (equal.cumsum(1, dtype=torch.int32) <= need))
    pos = take.nonzero()[:, 1].view(-1, k)  # ascending position in each row
    return pos.gather(1, values.gather(1, pos).sort(dim=1, descending=True, stable=True).indices)


def top_k_indices(scores: Tensor, k: int) -> Tensor:
    """``[B, k]`` column indices of the ``k`` largest entries of each row of
    ``scores`` ``[B, I]``, largest first, equal scores in ascending column
    (so a ranking is the same on every device and for every batch size).

    With at least ``4 k`` blocks of 32 items per row it is computed blocked
    (on every device): the maximum of every block (one streaming pass), the
    ``k`` blocks with the largest maxima (ties: lower block first), then the
    top ``k`` of those blocks' items and the ragged last block. Exact: an
    item outside the chosen blocks has ``k`` block maxima at least as large as
    it, each a different item, and when they tie with it those blocks come
    first. It is about twice as fast as ``topk`` over whole rows of 40k
    items, and it reads a column-major ``scores`` (``scores.t()`` contiguous,
    as a filter computed items × users gives) in place, where ``topk`` would
    first copy it to rows.

    Raises:
        ValueError: when a score is NaN (a diverged model ranks nothing).
    """
    b, n = scores.shape
    blocks = n // _BLOCK
    if blocks < 4 * k or b == 0:  # few items: one pass over whole rows
        if bool(scores.isnan().any()):
            raise ValueError(_NAN_SCORES)
        return _first_k(scores, k)
    main = blocks * _BLOCK
    if scores.stride(1) != 1 and scores.t().is_contiguous():  # column-major: reduce along the contiguous users
        maxima = scores.t()[:main].view(blocks, _BLOCK, b).amax(1).t()
    else:
        maxima = scores[:, :main].unflatten(1, (blocks, _BLOCK)).amax(2)
    tail = scores[:, main:]
    if bool(maxima.isnan().any()) or bool(tail.isnan().any()):  # amax keeps a NaN: one check per block
        raise ValueError(_NAN_SCORES)
    best = _first_k(maxima, k).sort(dim=1).values  # [B, k] blocks in ascending order: candidates in item order
    cand = (best.unsqueeze(2) * _BLOCK + torch.arange(_BLOCK, device=scores.device)).flatten(1)
    if main < n:  # the ragged last block is always a candidate (the highest items: last)
        cand = torch.cat([cand, torch.arange(main, n, device=scores.device).expand(b, -1)], 1)
    return cand.gather(1, _first_k(scores.gather(1, cand), k))


_NAN_SCORES = ("the scores to rank contain NaN: the model diverged (a learning rate too high, or inf/NaN in the "
               "data); lower --lr or check the inputs")


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


# Scores per batch on the CPU: a batch whose scores stay in the CPU's caches is
# ranked faster than a large one streamed through memory (Gowalla, 41k items,
# one thread: 64 users a batch 3.7 s for every test user, 819 users 6.1 s).
_CPU_SCORE_BYTES = 12 * 2**20


def evaluate_scores(score_fn: Callable[[Tensor], Tensor], num_users: int, num_items: int, test: Tensor,
                    exclude: tuple[Tensor, Tensor] | None, ks: tuple[int, ...] = (10, 20),
                    memory_mb: float = 256.0, batch_size: int | None = None) -> dict[str, float]:
    """Full-ranking recall/ndcg/precision/hit@K over the users in ``test``.

    Every user with at least one test interaction ranks all items (those in
    ``exclude`` masked); users without test items are skipped and counted in
    ``skipped_users``. Users are scored in batches of at most ``memory_mb``
    of scores, and of at most ``batch_size`` users when given (a scorer that
    is fastest with its own batch size, as GF-CF's factored filter); on the
    CPU, by default, of about 12 MiB of scores (cache-sized: faster than
    larger batches).

    Args:
        score_fn: ``score_fn(users [B]) -> [B, num_items]`` scores (a fresh tensor, or a buffer the
            scorer owns: it is masked in place; any layout, a transposed view included).
        num_users: number of users.
        num_items: number of items.
        test: ``[2, n]`` (user row, item row) test interactions.
        exclude: ``(rowptr, items)`` per-user items to mask (training positives).
        ks: cut-offs.
        memory_mb: most memory a batch of scores may take.
        batch_size: most users per batch (default: as many as ``memory_mb`` allows; on the CPU at most
            about 12 MiB of scores).

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
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 user, got {batch_size}")
    batch = max(1, int(memory_mb * 2**20 // (num_items * 4 * 2)))  # scores + topk workspace
    if batch_size is None and dev.type == "cpu":
        batch_size = max(16, _CPU_SCORE_BYTES // (num_items * 4))
    batch = min(batch, batch_size or batch)
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
