"""MovieLens ratings (ml-100k, ml-1m, ml-latest-small) as an ``InteractionDataset``.

Files (Harper & Konstan, 2015, https://grouplens.org/datasets/movielens/):
``u.data`` (tab: user item rating timestamp) + ``u.item`` (pipe, Latin-1);
``ratings.dat`` + ``movies.dat`` (``::``, Latin-1); ``ratings.csv`` +
``movies.csv`` (CSV with a header, UTF-8). Every rating is an interaction
(``min_rating`` thresholds); user and item ids are remapped to ``0..n-1`` in
increasing raw-id order. A (user, item) pair rated more than once counts
once (its latest rating), before the split, so that no pair lands in both
train and test. Each user's interactions are split with a seed:
``"random"`` puts a ``test_fraction`` share to test, ``"temporal"`` the latest
share by timestamp; every user keeps at least one training interaction.
"""
from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import numpy as np
import torch

from gnnkit.datasets.formats._text import exists, read_bytes, rows, tokenize
from gnnkit.datasets.interactions import InteractionDataset

log = logging.getLogger(__name__)


def split_per_user(users: np.ndarray, timestamps: np.ndarray | None, split: str, test_fraction: float,
                   seed: int) -> np.ndarray:
    """Boolean ``[n]`` test mask: per user, ``round(test_fraction * count)``
    interactions (at most ``count - 1``) chosen at random (``"random"``) or
    the latest ones (``"temporal"``, ties broken at random)."""
    if split not in ("random", "temporal"):
        raise ValueError(f"split={split!r} is not supported; expected 'random' or 'temporal'")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction={test_fraction} must be in (0, 1), e.g. 0.2")
    rng = np.random.default_rng(seed)
    noise = rng.random(users.shape[0])
    if split == "temporal":
        if timestamps is None:
            raise ValueError("split='temporal' needs timestamps, and these ratings have none; use split='random'")
        order = np.lexsort((noise, timestamps, users))  # by user, then time, ties at random
    else:
        order = np.lexsort((noise, users))
    sorted_users = users[order]
    counts = np.bincount(users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(users.shape[0]) - starts[sorted_users]  # position within the user's sorted run
    n_test = np.minimum(np.rint(test_fraction * counts).astype(np.int64), np.maximum(counts - 1, 0))
    test_sorted = rank >= counts[sorted_users] - n_test[sorted_users]  # the last n_test of each run
    mask = np.zeros(users.shape[0], dtype=bool)
    mask[order] = test_sorted
    return mask


def latest_per_pair(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray) -> np.ndarray | None:
    """Boolean ``[n]`` mask keeping one row per (user, item) pair, its latest
    by timestamp (the later row on a tie), or ``None`` when every pair is
    already distinct. ``users`` / ``items`` are compact ids ``0..n-1``."""
    key = users.astype(np.int64) * (int(items.max(initial=-1)) + 1) + items  # compact ids: no overflow
    if np.unique(key).size == key.size:
        return None
    order = np.lexsort((np.arange(key.size), timestamps, key))  # by pair, then time, then row
    last = np.ones(key.size, dtype=bool)
    last[:-1] = key[order][1:] != key[order][:-1]
    keep = np.zeros(key.size, dtype=bool)
    keep[order[last]] = True
    return keep


def _ratings(raw: Path, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """``(user, item, rating, timestamp, source)`` from the ratings file."""
    if fmt == "100k":
        path, delim, header = raw / "u.data", b"", False
    elif fmt == "1m":
        path, delim, header = raw / "ratings.dat", b":", False
    else:
        path, delim, header = raw / "ratings.csv", b",", True
    tokens = tokenize(read_bytes(path), str(path), delimiters=delim, comments=b"", skip_header=header)
    cells, _, _ = rows(tokens, 4)
    cols = [tokens.values.reshape(-1, 4)[:, k] for k in range(4)]
    line = tokens.line.reshape(-1, 4)[:, 0]
    sub = lambda k: type(tokens)(cols[k], line, tokens.source)  # noqa: E731 - column view with line numbers
    user = sub(0).to_int(what="user id")
    item = sub(1).to_int(what="item id")
    rating = sub(2).to_float(what="rating")
    stamp = sub(3).to_int(what="timestamp")
    return user, item, rating, stamp, str(path)


def _titles(raw: Path, fmt: str) -> dict[int, str]:
    """Raw item id → title (``{}`` when the movies file is absent)."""
    if fmt == "100k":
        path, encoding = raw / "u.item", "latin-1"
    elif fmt == "1m":
        path, encoding = raw / "movies.dat", "latin-1"
    else:
        path, encoding = raw / "movies.csv", "utf-8"
    if not exists(path):
        return {}
    try:
        text = read_bytes(path).decode(encoding)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not {encoding} text ({err}); use the movies file of the same release") from None
    out: dict[int, str] = {}
    if fmt == "latest":
        reader = csv.reader(io.StringIO(text))
        next(reader, None)
        records = ((reader.line_num, r) for r in reader)
    else:
        sep = "|" if fmt == "100k" else "::"
        records = ((k, line.split(sep)) for k, line in enumerate(text.splitlines(), 1) if line.strip())
    for line_no, fields in records:
        if len(fields) < 2:
            raise ValueError(f"{path}, line {line_no}: expected 'id{'|' if fmt == '100k' else ','}title...', got {fields!r}")
        try:
            key = int(fields[0])
        except ValueError:
            raise ValueError(f"{path}, line {line_no}: item id {fields[0]!r} is not an integer") from None
        if key in out:
            raise ValueError(f"{path}, line {line_no}: duplicate item id {key}; each movie must be listed once")
        out[key] = fields[1]
    return out


def read_movielens(folder: str | Path, *, name: str = "", min_rating: float | None = None, split: str = "random",
                   test_fraction: float = 0.2, seed: int = 0) -> InteractionDataset:
    """Read a MovieLens folder (100K, 1M or latest layout, detected from its files).

    Args:
        folder: holds ``u.data`` (+ ``u.item``), ``ratings.dat`` (+ ``movies.dat``)
            or ``ratings.csv`` (+ ``movies.csv``).
        name: dataset name for reports.
        min_rating: keep only ratings ``>= min_rating`` (default: all).
        split: ``"random"`` (default) or ``"temporal"`` per-user split.
        test_fraction: share of each user's interactions in test (default 0.2).
        seed: random seed of the split.

    Shapes:
        train/test interactions ``[2, n]``; ``ratings`` and ``timestamps``
        ``[n_train]`` aligned with ``train_interactions``.
    """
    folder = Path(folder)
    fmt = next((f for f, file in (("100k", "u.data"), ("1m", "ratings.dat"), ("latest", "ratings.csv"))
                if exists(folder / file)), None)
    if fmt is None:
        raise ValueError(f"{folder} holds no MovieLens ratings file; expected u.data (ml-100k), ratings.dat (ml-1m) "
                         f"or ratings.csv (ml-latest)")
    user, item, rating, stamp, source = _ratings(folder, fmt)
    if min_rating is not None:
        keep = rating >= min_rating
        if not keep.any():
            raise ValueError(f"min_rating={min_rating} keeps none of the {rating.size} ratings in {source}; lower it")
        user, item, rating, stamp = user[keep], item[keep], rating[keep], stamp[keep]
    user_ids, u = np.unique(user, return_inverse=True)
    item_ids, i = np.unique(item, return_inverse=True)
    latest = latest_per_pair(u, i, stamp)
    if latest is not None:
        log.info("%s: %d repeated (user, item) ratings dropped (the latest one is kept)", source, int((~latest).sum()))
        u, i, rating, stamp = u[latest], i[latest], rating[latest], stamp[latest]
    test = split_per_user(u, stamp, split, test_fraction, seed)
    titles = _titles(folder, fmt)
    item_titles = None
    if titles:
        unknown = [int(k) for k in item_ids if int(k) not in titles]
        if unknown:
            raise ValueError(f"{source} rates item id {unknown[0]}, which the movies file does not list; "
                             f"use the ratings and movies files from the same release")
        item_titles = [titles[int(k)] for k in item_ids]
    as_pairs = lambda m: torch.from_numpy(np.stack([u[m], i[m]]).astype(np.int64))  # noqa: E731
    return InteractionDataset(
        num_users=len(user_ids), num_items=len(item_ids),
        train_interactions=as_pairs(~test), test_interactions=as_pairs(test),
        ratings=torch.from_numpy(rating[~test].astype(np.float32)),
        timestamps=torch.from_numpy(stamp[~test]),
        item_titles=item_titles, name=name,
        user_ids=torch.from_numpy(user_ids), item_ids=torch.from_numpy(item_ids),
    )
