"""Negative sampling for link prediction: node pairs that are not edges, vectorised in torch.

A link predictor learns from positive pairs (edges) and negative pairs (non-edges).
``negative_sampling`` draws the negatives of a graph, ``bipartite_negative_sampling``
those of a user–item graph. Both draw a batch of candidate pairs at once, test
them all against an ``EdgeSet`` and redraw only the rejected ones, so the work
is a few tensor operations per round, never a Python loop over pairs.

Exactness. The ``EdgeSet`` holds every edge to exclude (16 bytes per edge,
the size of ``edge_index`` itself), so whenever the graph fits in memory the
membership test is exact and no returned pair is an edge. Rejection needs
``1 / (1 - p)`` rounds on average, ``p`` the probability that a candidate is an
edge (the density, or a weighted density with ``method="degree"``); the loop
stops after ``max_rounds``, which only happens on graphs so dense that almost
every pair is an edge: a graph of at most 2048 nodes is then completed from
the list of its allowed pairs (the distribution rejection converges to), a
larger one raises ``NegativeSamplingError``. With ``exact=False`` the test is
skipped: one round, and a fraction ``p`` of the returned pairs may be edges
(on MUSAE facebook, 0.07 %), the usual approximation for very large graphs.

The set is sorted by ``(src, dst)``. While every id is below 2³¹ a pair is
looked up as one key ``src · B + dst`` (``B`` = largest id + 1) with one
``searchsorted``; beyond that (the key would overflow int64), by a binary
search over the distinct sources, then one inside each source's sorted row.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gnnkit.ops.edges import check_edge_list
from gnnkit.sampling.edge_set import EdgeSet, first_occurrences, lexsort_pairs

_METHODS = ("uniform", "degree")


class NegativeSamplingError(ValueError, RuntimeError):
    """Too few non-edges for the negatives asked for (pairs still collided after ``max_rounds`` rounds):
    a ``ValueError`` (the request does not fit the graph) and, as before, a ``RuntimeError``."""


class _Draw:
    """Draws node ids uniformly or with probability ∝ ``(degree + 1) ** power``."""

    def __init__(self, num: int, weights: Tensor | None, device: torch.device) -> None:
        self.num, self.device = num, device
        self.cdf = None
        if weights is not None:
            cdf = torch.cumsum(weights.double().to(device), 0)
            self.cdf = cdf / cdf[-1]

    def __call__(self, n: int, generator: torch.Generator | None) -> Tensor:
        if self.cdf is None:
            return torch.randint(self.num, (n,), device=self.device, generator=generator)
        u = torch.rand(n, device=self.device, generator=generator, dtype=torch.float64)
        return torch.searchsorted(self.cdf, u, right=True).clamp_(max=self.num - 1)


def _weights(method: str, edge_index: Tensor, num: int, row: int, power: float) -> Tensor | None:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if method == "uniform":
        return None
    deg = torch.bincount(edge_index[row].long(), minlength=num).double()
    return (deg + 1.0).pow(power)  # +1: nodes without edges can still be drawn


def _check_common(edge_index: Tensor, num_samples: int, max_rounds: int) -> None:
    check_edge_list(edge_index, None, "negative_sampling")
    if not isinstance(num_samples, int) or num_samples < 0:
        raise ValueError(f"num_samples must be a non-negative integer, got {num_samples!r}")
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")


# Graphs of at most this many node pairs (2048 nodes) whose rejection rounds
# run out are completed from the list of every allowed pair instead.
_ENUMERATE_PAIRS = 2**22


def _complete_by_enumeration(src: Tensor, dst: Tensor, ok: Tensor, draw: _Draw, exclude: EdgeSet | None,
                             self_loops: bool, unique: bool, undirected: bool, generator) -> Tensor:
    """Fill the pairs rejection could not (``~ok``) by drawing from the list of
    every allowed pair, with the proposal's weights: the distribution
    rejection sampling converges to, reached on a graph so dense that it
    would not (a small graph with few non-edges). Raises when fewer allowed
    pairs exist than ``unique`` needs."""
    n, device = draw.num, src.device
    u = torch.arange(n, device=device).repeat_interleave(n)
    v = torch.arange(n, device=device).repeat(n)
    allowed = torch.ones(n * n, dtype=torch.bool, device=device)
    if not self_loops:
        allowed &= u != v
    if exclude is not None:
        allowed &= ~_excluded(exclude, u, v, unique and undirected)
    if unique and undirected:
        allowed &= u <= v
    keep = ok.clone()
    if unique:  # the accepted pairs are taken
        a, b = (torch.minimum(src, dst), torch.maximum(src, dst)) if undirected else (src, dst)
        allowed[(a * n + b)[keep]] = False
    todo = (~keep).nonzero().flatten()
    candidates = allowed.nonzero().flatten()
    if unique and candidates.numel() < todo.numel():
        raise NegativeSamplingError(
            f"negative sampling: asked for {src.numel()} distinct pairs but only "
            f"{candidates.numel() + int(keep.sum())} pairs are allowed (not excluded"
            f"{', not a self-loop' if not self_loops else ''}); ask for fewer")
    if candidates.numel() == 0:
        raise NegativeSamplingError("negative sampling: every pair of the graph is excluded"
                                    f"{' or a self-loop' if not self_loops else ''}: there is no negative to draw")
    if draw.cdf is None:
        weights = torch.ones(candidates.numel(), dtype=torch.float64, device=device)
    else:
        w = torch.diff(draw.cdf, prepend=draw.cdf.new_zeros(1))
        cu, cv = u[candidates], v[candidates]
        weights = w[cu] * w[cv] * (2.0 if unique and undirected else 1.0)
        if unique and undirected:
            weights = torch.where(cu == cv, weights / 2, weights)
    pick = torch.multinomial(weights.float(), todo.numel(), replacement=not unique, generator=generator)
    chosen = candidates[pick]
    src, dst = src.clone(), dst.clone()
    src[todo], dst[todo] = u[chosen], v[chosen]
    return torch.stack([src, dst])


def _sample(draw_src, draw_dst, fixed_src: Tensor | None, num_samples: int, exclude: EdgeSet | None,
            self_loops: bool, unique: bool, undirected: bool, generator, max_rounds: int,
            device: torch.device) -> Tensor:
    """Rejection sampling shared by both public functions; returns ``[2, num_samples]``."""
    src = fixed_src if fixed_src is not None else draw_src(num_samples, generator)
    dst = draw_dst(num_samples, generator)
    ok = torch.ones(num_samples, dtype=torch.bool, device=device)

    def reject(s: Tensor, d: Tensor) -> Tensor:
        bad = torch.zeros(s.shape, dtype=torch.bool, device=device)
        if not self_loops:
            bad |= s == d
        if exclude is not None:
            bad |= _excluded(exclude, s, d, unique and undirected)
        return bad

    ok &= ~reject(src, dst)
    for round_ in range(max_rounds + 1):
        if unique:
            a, b = (torch.minimum(src, dst), torch.maximum(src, dst)) if undirected else (src, dst)
            # A duplicate of an accepted pair is rejected; among duplicates the earliest accepted one stays.
            order = torch.argsort((~ok).to(torch.int8), stable=True)  # accepted pairs first
            first = torch.zeros_like(ok)
            first[order] = first_occurrences(a[order], b[order])
            ok &= first
        todo = (~ok).nonzero().flatten()
        if todo.numel() == 0:
            return torch.stack([src, dst])
        if round_ == max_rounds:
            break
        if fixed_src is None:
            src[todo] = draw_src(todo.numel(), generator)
        dst[todo] = draw_dst(todo.numel(), generator)
        ok[todo] = ~reject(src[todo], dst[todo])
    if fixed_src is None and draw_src is draw_dst and draw_src.num ** 2 <= _ENUMERATE_PAIRS:
        return _complete_by_enumeration(src, dst, ok, draw_src, exclude, self_loops, unique, undirected, generator)
    raise NegativeSamplingError(
        f"negative sampling: {int((~ok).sum())} of {num_samples} pairs still collide with an edge after "
        f"max_rounds={max_rounds} rounds of rejection; the graph is too dense for that many negatives. Ask for "
        f"fewer samples or raise max_rounds"
    )


def _uniform_numpy(num_nodes: int, num_samples: int, exclude: EdgeSet, self_loops: bool,
                   generator: torch.Generator | None, max_rounds: int) -> Tensor:
    """``_sample`` for uniform pairs on the CPU against a set of packed keys:
    the same rejection rounds in numpy, whose calls cost a fraction of
    torch's on arrays this small (the negatives of a citation graph are ~10k
    pairs, drawn every epoch). The stream is a numpy ``SFC64`` seeded by one
    draw of ``generator`` (torch's global one when ``None``), so the result
    is as reproducible as the torch path's, and it does not depend on how
    the set answers (binary search, or the bitmap it keeps once queried again)."""
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=generator))
    rng = np.random.Generator(np.random.SFC64(seed))
    src = rng.integers(0, num_nodes, num_samples)
    dst = rng.integers(0, num_nodes, num_samples)
    todo = np.arange(num_samples)
    for round_ in range(max_rounds + 1):
        s, d = src[todo], dst[todo]
        bad = exclude._contains_numpy(s, d)
        if not self_loops:
            bad |= s == d
        todo = todo[bad]
        if todo.size == 0:
            return torch.from_numpy(np.stack([src, dst]))
        if round_ == max_rounds:
            break
        src[todo] = rng.integers(0, num_nodes, todo.size)
        dst[todo] = rng.integers(0, num_nodes, todo.size)
    if num_nodes ** 2 <= _ENUMERATE_PAIRS:
        ok = torch.ones(num_samples, dtype=torch.bool)
        ok[torch.from_numpy(todo)] = False
        return _complete_by_enumeration(torch.from_numpy(src), torch.from_numpy(dst), ok,
                                        _Draw(num_nodes, None, torch.device("cpu")), exclude, self_loops, False,
                                        False, generator)
    raise NegativeSamplingError(
        f"negative sampling: {todo.size} of {num_samples} pairs still collide with an edge after "
        f"max_rounds={max_rounds} rounds of rejection; the graph is too dense for that many negatives. Ask for "
        f"fewer samples or raise max_rounds"
    )


def negative_sampling(edge_index: Tensor, num_nodes: int | tuple[int, int] | None = None,
                      num_samples: int | None = None, *, method: str = "uniform", power: float = 0.75,
                      exclude: Tensor | EdgeSet | None = None, exact: bool = True, self_loops: bool = False,
                      unique: bool = False, undirected: bool = False, generator: torch.Generator | None = None,
                      max_rounds: int = 100, num_neg_samples: int | None = None,
                      force_undirected: bool = False) -> Tensor:
    r"""``[2, num_samples]`` node pairs that are not edges of the graph.

    Each pair ``(u, v)`` is drawn with ``u, v`` independent and uniform over
    the nodes (``method="uniform"``) or with probability
    :math:`\propto (\deg + 1)^{power}` (``method="degree"``: popular nodes make
    harder negatives, word2vec's unigram^0.75 rule), then redrawn until it is
    not an excluded pair (see the module docstring for the exactness bound).

    Args:
        edge_index: ``[2, E]`` edges of the graph; the degrees of
            ``method="degree"`` are counted on its row 0.
        num_nodes: number of nodes ``N`` (default the largest id + 1, as
            PyG); a pair ``(S, T)`` samples a bipartite graph
            (``bipartite_negative_sampling``).
        num_samples: pairs to return (default ``E``, one per edge); PyG's
            ``num_neg_samples`` is the same.
        method: ``"uniform"`` (default; PyG's ``"sparse"`` and ``"dense"``
            are uniform too) or ``"degree"``.
        power: exponent of the degree weighting (default 0.75).
        exclude: pairs that must not be returned: an ``EdgeSet`` (build it once
            and reuse it every epoch) or a ``[2, E']`` tensor; default
            ``edge_index``. A pair is excluded as given; store both directions
            (as gnnkit graphs do) to exclude an undirected edge both ways.
        exact: test every pair against ``exclude`` (default ``True``); ``False``
            skips the test (a fraction equal to the density may be edges).
        self_loops: allow pairs ``(u, u)`` (default ``False``).
        unique: no pair returned twice (default ``False``: independent draws).
        undirected: with ``unique``, ``(u, v)`` and ``(v, u)`` count as the
            same pair, an excluded pair is excluded both ways (stored in one
            direction or in both), and pairs are returned with ``u < v``.
        generator: torch generator for reproducible draws.
        max_rounds: rejection rounds before giving up (default 100).
        force_undirected: PyG's: ``num_samples // 2`` distinct undirected
            non-edges, returned in both directions.

    Shapes:
        → ``[2, num_samples]`` long, on ``edge_index``'s device.

    Raises:
        ValueError: bad arguments, or more unique negatives requested than the
            graph has non-edges.
    """
    num_samples = num_neg_samples if num_samples is None else num_samples
    method = "uniform" if method in ("sparse", "dense") else method  # PyG's two implementations of uniform
    if isinstance(num_nodes, tuple):
        return bipartite_negative_sampling(edge_index, *num_nodes, num_samples, method=method, power=power,
                                           exclude=exclude, exact=exact, generator=generator, max_rounds=max_rounds)
    if num_nodes is None and isinstance(edge_index, Tensor) and edge_index.dim() == 2 and edge_index.numel():
        num_nodes = int(edge_index.max()) + 1
    num_samples = edge_index.size(1) if num_samples is None and isinstance(edge_index, Tensor) else num_samples
    _check_common(edge_index, num_samples, max_rounds)
    if num_nodes is None and num_samples == 0:  # PyG's call on an empty graph: nothing asked, nothing drawn
        return torch.empty(2, 0, dtype=torch.long, device=edge_index.device)
    if force_undirected:
        half = negative_sampling(edge_index, num_nodes, num_samples // 2, method=method, power=power,
                                 exclude=exclude, exact=exact, self_loops=self_loops, unique=True, undirected=True,
                                 generator=generator, max_rounds=max_rounds)
        return torch.cat([half, half.flip(0)], dim=1)
    if not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"num_nodes must be a positive integer, got {num_nodes!r}")
    if edge_index.numel() and int(edge_index.max()) >= num_nodes:
        raise ValueError(f"edge_index refers to node {int(edge_index.max())} but num_nodes = {num_nodes}")
    device = edge_index.device
    exclude_set = _edge_set(edge_index if exclude is None else exclude, device) if exact else None
    if unique:
        _check_room(exclude_set, num_nodes, num_samples, self_loops, undirected)
    if num_samples == 0:
        return torch.empty(2, 0, dtype=torch.long, device=device)
    if (method == "uniform" and not unique and device.type == "cpu" and exclude_set is not None
            and exclude_set._packed is not None):
        return _uniform_numpy(num_nodes, num_samples, exclude_set, self_loops, generator, max_rounds)
    draw = _Draw(num_nodes, _weights(method, edge_index, num_nodes, 0, power), device)
    out = _sample(draw, draw, None, num_samples, exclude_set, self_loops, unique, undirected, generator,
                  max_rounds, device)
    if undirected and unique:
        out = torch.stack([out.min(0).values, out.max(0).values])
    return out


def _check_room(exclude: EdgeSet | None, num_nodes: int, num_samples: int, self_loops: bool, undirected: bool) -> None:
    """``ValueError`` when fewer distinct non-edges exist than asked for."""
    pairs = num_nodes * num_nodes - (0 if self_loops else num_nodes)
    if undirected:
        pairs = (pairs + (num_nodes if self_loops else 0)) // 2
    excluded = 0 if exclude is None else _count_excluded(exclude, num_nodes, self_loops, undirected)
    if num_samples > pairs - excluded:
        raise ValueError(f"asked for {num_samples} distinct negative pairs but the {num_nodes}-node graph has only "
                         f"{max(pairs - excluded, 0)} non-edges; ask for fewer")


def bipartite_negative_sampling(edge_index: Tensor, num_src: int, num_dst: int, num_samples: int | None = None, *,
                                src: Tensor | None = None, method: str = "uniform", power: float = 0.75,
                                exclude: Tensor | EdgeSet | None = None, exact: bool = True,
                                generator: torch.Generator | None = None, max_rounds: int = 100) -> Tensor:
    r"""``[2, n]`` pairs ``(s, d)`` of a bipartite graph (users × items) that are not edges.

    With ``src`` given, one negative destination per entry of ``src`` (the
    pairwise training of recommenders: for a positive ``(u, i)``, a ``(u, j)``
    with ``j`` not an item of ``u``); otherwise ``num_samples`` pairs with a
    uniform source. The destination is uniform or, with ``method="degree"``,
    drawn with probability :math:`\propto (\text{popularity} + 1)^{power}`.

    Args:
        edge_index: ``[2, E]`` edges, row 0 in ``[0, num_src)``, row 1 in ``[0, num_dst)``.
        num_src: number of source nodes (users).
        num_dst: number of destination nodes (items).
        num_samples: pairs to return when ``src`` is not given (default ``E``).
        src: ``[n]`` sources to find one negative destination each for.
        method: ``"uniform"`` (default) or ``"degree"`` (item popularity).
        power: exponent of the popularity weighting (default 0.75).
        exclude: pairs not to return (``EdgeSet`` or ``[2, E']``), default ``edge_index``.
        exact: test every pair against ``exclude`` (default ``True``).
        generator: torch generator for reproducible draws.
        max_rounds: rejection rounds before giving up (default 100).

    Raises:
        ValueError: bad arguments, or a source in ``src`` linked to every destination.
    """
    if src is not None:
        num_samples = int(src.numel())
    elif num_samples is None and isinstance(edge_index, Tensor):
        num_samples = edge_index.size(1)
    _check_common(edge_index, num_samples, max_rounds)
    for name, value in (("num_src", num_src), ("num_dst", num_dst)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if edge_index.numel() and (int(edge_index[0].max()) >= num_src or int(edge_index[1].max()) >= num_dst):
        raise ValueError(f"edge_index has ids beyond num_src={num_src} (row 0) or num_dst={num_dst} (row 1)")
    device = edge_index.device
    exclude_set = _edge_set(edge_index if exclude is None else exclude, device) if exact else None
    fixed = None
    if src is not None:
        fixed = src.long().flatten().to(device)
        if fixed.numel() and (int(fixed.min()) < 0 or int(fixed.max()) >= num_src):
            raise ValueError(f"src holds ids outside [0, {num_src})")
        if exclude_set is not None and fixed.numel():
            full = torch.zeros(num_src, dtype=torch.long, device=device)
            keys = exclude_set.keys[exclude_set.keys < num_src]
            full[keys] = (exclude_set.ptr[1:] - exclude_set.ptr[:-1])[: keys.numel()]
            saturated = full[fixed] >= num_dst
            if bool(saturated.any()):
                u = int(fixed[saturated][0])
                raise ValueError(f"source {u} is linked to all {num_dst} destinations, so it has no negative; "
                                 f"leave it out of src")
    if num_samples == 0:
        return torch.empty(2, 0, dtype=torch.long, device=device)
    draw_src = _Draw(num_src, None, device)
    draw_dst = _Draw(num_dst, _weights(method, edge_index, num_dst, 1, power), device)
    return _sample(draw_src, draw_dst, fixed, num_samples, exclude_set, True, False, False, generator,
                   max_rounds, device)


def _excluded(exclude: EdgeSet, src: Tensor, dst: Tensor, either_way: bool) -> Tensor:
    """Which pairs ``exclude`` holds; ``either_way``: in either direction (an
    undirected pair is excluded by its edge stored one way only)."""
    hit = exclude.contains(src, dst)
    return hit | exclude.contains(dst, src) if either_way else hit


def _count_excluded(exclude: EdgeSet, num_nodes: int, self_loops: bool, undirected: bool) -> int:
    """How many of the pairs a draw may return ``exclude`` rules out: those
    inside the ``num_nodes`` ids, loops only when loops may be drawn, and an
    undirected pair once however many directions it is stored in."""
    src = exclude.keys.repeat_interleave(exclude.ptr[1:] - exclude.ptr[:-1])
    dst = exclude.dst
    keep = (src < num_nodes) & (dst < num_nodes) & (src >= 0) & (dst >= 0)
    if not self_loops:
        keep &= src != dst
    src, dst = src[keep], dst[keep]
    if undirected:
        src, dst = torch.minimum(src, dst), torch.maximum(src, dst)
    return int(first_occurrences(src, dst).sum())


def _edge_set(exclude: Tensor | EdgeSet, device: torch.device) -> EdgeSet:
    if isinstance(exclude, EdgeSet):
        return exclude.to(device) if exclude.dst.device != device else exclude
    return EdgeSet(exclude.to(device))


__all__ = ["EdgeSet", "NegativeSamplingError", "bipartite_negative_sampling", "first_occurrences", "lexsort_pairs", "negative_sampling"]
