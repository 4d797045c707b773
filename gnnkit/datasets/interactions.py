"""``InteractionDataset``: user–item interactions for recommendation."""
from __future__ import annotations

import warnings

from dataclasses import dataclass, field

import torch
from torch import Tensor

from gnnkit.graph import Graph
from gnnkit.ops.edges import unique_pairs


def bipartite_edge_index(users: Tensor, items: Tensor, num_users: int, num_items: int) -> Tensor:
    """``[2, 2m]`` edges of the user–item graph (item ``v`` is node
    ``num_users + v``), both directions, duplicate pairs merged."""
    u, i, _ = unique_pairs(users, items, num_items)
    i = i + num_users
    return torch.cat([torch.stack([u, i]), torch.stack([i, u])], dim=1)


def positives_csr(users: Tensor, items: Tensor, num_users: int, num_items: int) -> tuple[Tensor, Tensor]:
    """``(rowptr, items)``: each user's distinct items, sorted."""
    u, i, _ = unique_pairs(users, items, num_items)
    rowptr = torch.zeros(num_users + 1, dtype=torch.long, device=u.device)
    torch.cumsum(torch.bincount(u, minlength=num_users), 0, out=rowptr[1:])
    return rowptr, i


@dataclass(frozen=True, eq=False)
class InteractionDataset:
    """Implicit-feedback interactions split into train / (val) / test.

    Interactions are ``[2, n]`` LongTensors: row 0 user ids in
    ``[0, num_users)``, row 1 item ids in ``[0, num_items)``.

    Args:
        num_users: users have ids ``0 .. num_users - 1``.
        num_items: items have ids ``0 .. num_items - 1``.
        train_interactions: ``[2, n]`` training pairs.
        test_interactions: ``[2, n]`` test pairs.
        val_interactions: optional ``[2, n]``.
        ratings: optional ``[n_train]`` ratings aligned with
            ``train_interactions`` (explicit-feedback sources such as MovieLens).
        timestamps: optional ``[n_train]`` times aligned with ``train_interactions``.
        item_titles: optional list of ``num_items`` titles.
        social_graph: optional user–user ``Graph`` (e.g. lastfm's trust network).
        name: dataset name, for reports.
        user_ids: optional ``[num_users]`` original user ids from the source
            files (``user_ids[u]`` is the raw id of user ``u``).
        item_ids: optional ``[num_items]`` original item ids.
    """

    num_users: int
    num_items: int
    train_interactions: Tensor
    test_interactions: Tensor
    val_interactions: Tensor | None = None
    ratings: Tensor | None = None
    timestamps: Tensor | None = None
    item_titles: list[str] | None = None
    social_graph: Graph | None = None
    name: str = ""
    user_ids: Tensor | None = None
    item_ids: Tensor | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.num_users <= 0 or self.num_items <= 0:
            raise ValueError(f"num_users and num_items must be positive, got {self.num_users} and {self.num_items}")
        for split in ("train_interactions", "test_interactions", "val_interactions"):
            t = getattr(self, split)
            if t is None:
                continue
            if not isinstance(t, Tensor) or t.dim() != 2 or t.size(0) != 2:
                raise ValueError(f"{split} must be a [2, n] LongTensor (user row, item row), got {getattr(t, 'shape', type(t))}")
            if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:  # 0.9 would become id 0
                raise ValueError(f"{split} must hold integer (user, item) ids, got {t.dtype}")
            t = t.long()
            object.__setattr__(self, split, t)
            for row, (label, bound) in enumerate((("user", self.num_users), ("item", self.num_items))):
                bad = (t[row] < 0) | (t[row] >= bound)
                if bool(bad.any()):
                    pos = int(bad.nonzero()[0, 0])
                    raise ValueError(
                        f"{split}[{row}, {pos}] = {int(t[row, pos])} is not a valid {label} id: expected "
                        f"0 <= id < {bound}. Remap ids to 0..n-1 or fix num_{label}s."
                    )
        if self.train_interactions.size(1) == 0:
            raise ValueError("train_interactions is empty: a recommender needs at least one training interaction")
        self._check_disjoint()
        if self.item_titles is not None and len(self.item_titles) != self.num_items:
            raise ValueError(f"item_titles has {len(self.item_titles)} entries, expected num_items = {self.num_items}")

    def _check_disjoint(self) -> None:
        """A (user, item) pair in two splits is trained on and then tested, or
        masked as seen and so never recommended (scoring 0): said in a warning
        (the readers drop such pairs; a dataset built by hand may keep them)."""
        if self.num_users * self.num_items >= 2**62:
            return
        splits = [(n, getattr(self, n)) for n in ("train_interactions", "val_interactions", "test_interactions")]
        keys = {n: t[0] * self.num_items + t[1] for n, t in splits if t is not None}
        names = list(keys)
        for a, name_a in enumerate(names):
            for name_b in names[a + 1:]:
                shared = torch.isin(keys[name_b], keys[name_a])
                if bool(shared.any()):
                    k = int(shared.nonzero()[0])
                    u, i = divmod(int(keys[name_b][k]), self.num_items)
                    warnings.warn(f"InteractionDataset {self.name!r}: {name_b} shares {int(shared.sum())} (user, "
                                  f"item) pairs with {name_a} (e.g. user {u}, item {i}); such a pair is masked as "
                                  f"seen (or was trained on), so its metrics are wrong: drop them from {name_b}",
                                  UserWarning, stacklevel=4)

    @property
    def num_nodes(self) -> int:
        """Users and items together (items follow users in the bipartite graph)."""
        return self.num_users + self.num_items

    def graph(self) -> Graph:
        """The bipartite user–item graph of the training interactions: node
        ``u`` for user ``u``, node ``num_users + v`` for item ``v``, both edge
        directions, duplicates merged (cached)."""
        if "graph" not in self._cache:
            users, items = self.train_interactions
            ei = bipartite_edge_index(users, items, self.num_users, self.num_items)
            self._cache["graph"] = Graph(edge_index=ei, num_nodes=self.num_nodes)
        return self._cache["graph"]

    def train_positives_csr(self) -> tuple[Tensor, Tensor]:
        """``(rowptr, items)``: each user's distinct training items, sorted (cached)."""
        if "pos" not in self._cache:
            users, items = self.train_interactions
            self._cache["pos"] = positives_csr(users, items, self.num_users, self.num_items)
        return self._cache["pos"]

    def __repr__(self) -> str:
        val = "" if self.val_interactions is None else f", val={self.val_interactions.size(1)}"
        return (
            f"InteractionDataset({self.name or 'unnamed'}: users={self.num_users}, items={self.num_items}, "
            f"train={self.train_interactions.size(1)}{val}, test={self.test_interactions.size(1)})"
        )
