"""Filtered rank-based metrics for knowledge-graph completion.

For a test triple ``(h, r, t)``, *tail prediction* scores every entity ``e``
as the tail of ``(h, r, e)`` and asks where ``t`` lands; *head prediction*
does the same for ``(e, r, t)``. In the *filtered* setting (Bordes et al.,
2013) every other entity that makes a known true triple (train ∪ valid ∪
test) is left out of the candidates, so a model is not punished for ranking
another right answer first.

Ties are broken *realistically* (Berrendorf et al., 2020,
https://arxiv.org/abs/2002.06914): the rank is the mean of the optimistic
rank ``1 + #{score > s}`` and the pessimistic rank ``1 + #{score >= s}`` (the
true entity itself excluded), the expected rank under a random order of the
tied candidates. A model that scores everything equal therefore gets the
rank of a random guess, not rank 1.

From the ranks ``r_1..r_n`` (head and tail queries together, and each side
apart): MRR ``= mean 1/r``, mean rank ``= mean r``, Hits@k ``= mean [r <= k]``.
Everything is computed on whole ``[B, E]`` score blocks, without a Python
loop over triples.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

HITS_AT = (1, 3, 10)


class TripleFilter:
    """The known true answers of every ``(head, relation, ?)`` and ``(?, relation, tail)`` query.

    Built once from all known triples; ``true_tails`` / ``true_heads`` return,
    for a batch of queries, the ``(query, entity)`` pairs to leave out as
    ``(rows, cols)`` index tensors.

    Args:
        head, relation, tail: ``[T]`` ids of the known triples.
        num_entities, num_relations: sizes of the vocabularies.
    """

    def __init__(self, head: Tensor, relation: Tensor, tail: Tensor, num_entities: int, num_relations: int) -> None:
        self.num_entities, self.num_relations = int(num_entities), int(num_relations)
        self._tails = self._index(head * self.num_relations + relation, tail)
        self._heads = self._index(tail * self.num_relations + relation, head)

    @staticmethod
    def _index(key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        key, order = torch.sort(key.long(), stable=True)
        keys, counts = torch.unique_consecutive(key, return_counts=True)
        ptr = torch.zeros(keys.numel() + 1, dtype=torch.long, device=key.device)
        ptr[1:] = torch.cumsum(counts, 0)
        return keys, ptr, value.long()[order]

    def to(self, device: str | torch.device) -> "TripleFilter":
        for name in ("_tails", "_heads"):
            setattr(self, name, tuple(t.to(device) for t in getattr(self, name)))
        return self

    def true_tails(self, head: Tensor, relation: Tensor) -> tuple[Tensor, Tensor]:
        """``(rows, cols)``: query ``rows[k]`` has the known tail ``cols[k]``."""
        return self._lookup(self._tails, head * self.num_relations + relation)

    def true_heads(self, relation: Tensor, tail: Tensor) -> tuple[Tensor, Tensor]:
        """``(rows, cols)``: query ``rows[k]`` has the known head ``cols[k]``."""
        return self._lookup(self._heads, tail * self.num_relations + relation)

    @staticmethod
    def _lookup(index: tuple[Tensor, Tensor, Tensor], query: Tensor) -> tuple[Tensor, Tensor]:
        keys, ptr, values = index
        pos = torch.searchsorted(keys, query).clamp(max=max(keys.numel() - 1, 0))
        found = keys[pos] == query
        start = ptr[pos]
        count = torch.where(found, ptr[pos + 1] - start, torch.zeros_like(start))
        rows = torch.repeat_interleave(torch.arange(query.numel(), device=query.device), count)
        # position of each pair inside its query's run: arange minus the run's first output index
        first = torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
        offset = torch.arange(rows.numel(), device=query.device) - first
        return rows, values[torch.repeat_interleave(start, count) + offset]


def filtered_ranks(scores: Tensor, target: Tensor, filter_rows: Tensor | None = None,
                   filter_cols: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Optimistic and pessimistic rank of each query's true entity.

    ``opt = 1 + #{e : s_e > s_target}``, ``pess = 1 + #{e : s_e >= s_target}``,
    counting only candidates ``e`` that are neither the target nor filtered.
    A NaN score counts as ``-inf`` (the lowest), so a diverged model gets bad
    ranks rather than rank 1.

    Args:
        scores: ``[B, E]`` score of every candidate entity per query.
        target: ``[B]`` the true entity of each query.
        filter_rows: query index of each ``(query, entity)`` pair to leave out
            (other true answers; they may include the target itself).
        filter_cols: entity of each pair to leave out.

    Returns:
        ``(optimistic, pessimistic)``, float ``[B]`` each; the realistic rank
        is their mean.
    """
    if scores.dim() != 2 or target.dim() != 1 or target.numel() != scores.size(0):
        raise ValueError(f"filtered_ranks: expected scores [B, E] and target [B], got {tuple(scores.shape)} and "
                         f"{tuple(target.shape)}")
    scores = torch.nan_to_num(scores.float(), nan=float("-inf"))
    rows = torch.arange(scores.size(0), device=scores.device)
    true = scores[rows, target].unsqueeze(1)
    candidate = torch.ones_like(scores, dtype=torch.bool)
    if filter_rows is not None:
        candidate[filter_rows, filter_cols] = False
    candidate[rows, target] = False
    optimistic = 1 + ((scores > true) & candidate).sum(1)
    pessimistic = 1 + ((scores >= true) & candidate).sum(1)
    return optimistic.double(), pessimistic.double()


def rank_metrics(ranks: Tensor, ks: Sequence[int] = HITS_AT, prefix: str = "") -> dict[str, float]:
    """MRR, mean rank and Hits@k of (realistic) ranks ``[N]``."""
    if ranks.numel() == 0:
        raise ValueError("rank metrics of an empty set are undefined: the split has no triples")
    ranks = ranks.double()
    out = {f"{prefix}mrr": float(ranks.reciprocal().mean()), f"{prefix}mr": float(ranks.mean())}
    for k in ks:
        out[f"{prefix}hits@{k}"] = float((ranks <= k).double().mean())
    return out


ScoreFn = Callable[[Tensor, Tensor], Tensor]


@torch.no_grad()
def _finite(scores: Tensor) -> Tensor:
    """``scores``, refused when any is NaN or infinite: a model's ranks are
    then tie order, not its figures (``filtered_ranks`` alone would count NaN
    as the lowest score)."""
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("the model's scores are NaN or infinite: it diverged (or its weights overflow), so its "
                         "ranks would be meaningless. Lower the learning rate (--lr) or the other numeric options")
    return scores


def evaluate_ranking(score_tails: ScoreFn, score_heads: ScoreFn, head: Tensor, relation: Tensor, tail: Tensor,
                     known: TripleFilter, batch_size: int = 512, ks: Sequence[int] = HITS_AT,
                     sides: Sequence[str] = ("head", "tail")) -> dict[str, float]:
    """Filtered, realistic rank metrics of a model on the triples ``(head, relation, tail)``.

    Args:
        score_tails: ``(head [B], relation [B]) → [B, E]`` scores of every tail.
        score_heads: ``(relation [B], tail [B]) → [B, E]`` scores of every head.
        head: ``[N]`` head entity of each triple to rank.
        relation: ``[N]`` relation of each triple.
        tail: ``[N]`` tail entity of each triple.
        known: the true triples to filter (``TripleFilter`` of train ∪ valid ∪ test).
        batch_size: queries scored at once (memory ``batch_size × E`` floats).
        ks: the k of Hits@k.
        sides: ``"head"``, ``"tail"`` or both (default).

    Returns:
        ``mrr``, ``mr``, ``hits@k`` over both sides together, and the same
        keys prefixed ``head_`` / ``tail_`` for each side.

    Raises:
        ValueError: a score is NaN or infinite (a diverged model).
    """
    for side in sides:
        if side not in ("head", "tail"):
            raise ValueError(f"unknown side {side!r}; expected 'head' and/or 'tail'")
    if head.numel() == 0:
        raise ValueError("evaluate_ranking: no triples to rank")
    ranks: dict[str, list[Tensor]] = {side: [] for side in sides}
    for start in range(0, head.numel(), batch_size):
        h, r, t = (x[start:start + batch_size] for x in (head, relation, tail))
        if "tail" in sides:
            rows, cols = known.true_tails(h, r)
            opt, pess = filtered_ranks(_finite(score_tails(h, r)), t, rows, cols)
            ranks["tail"].append((opt + pess) / 2)
        if "head" in sides:
            rows, cols = known.true_heads(r, t)
            opt, pess = filtered_ranks(_finite(score_heads(r, t)), h, rows, cols)
            ranks["head"].append((opt + pess) / 2)
    per_side = {side: torch.cat(v) for side, v in ranks.items()}
    out = rank_metrics(torch.cat(list(per_side.values())), ks)
    for side, r in per_side.items():
        out.update(rank_metrics(r, ks, prefix=f"{side}_"))
    return out
