"""``KnowledgeGraph``: (head, relation, tail) triples per split with their vocabularies.

A knowledge graph is a set of typed, directed edges ``head --relation--> tail``
between named entities. ``KnowledgeGraph`` holds them as integer ids, one
``Triples`` per split (train / valid / test), with the entity and relation
names the ids stand for. It is validated once, when made; everything that
trains or evaluates on it reads the fields by name.

*Inverse triples* (Lacroix et al., 2018, https://arxiv.org/abs/1806.07297):
``with_inverse()`` adds ``(t, r⁻¹, h)`` for every training triple, as a new
relation id ``r + R``. Head prediction ``(?, r, t)`` then becomes the tail
prediction ``(t, r⁻¹, ?)``, so a model only ever scores tails. The valid and
test splits keep the original triples.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import torch
from torch import Tensor

INVERSE_SUFFIX = "_inverse"


@dataclass(frozen=True)
class Triples:
    """One split of a knowledge graph: ``head[k] --relation[k]--> tail[k]``.

    Attributes:
        head, relation, tail: ``[T]`` int64 ids.
    """

    head: Tensor
    relation: Tensor
    tail: Tensor

    def __post_init__(self) -> None:
        for name in ("head", "relation", "tail"):
            t = getattr(self, name)
            if not isinstance(t, Tensor) or t.dim() != 1:
                raise ValueError(f"Triples.{name} must be a 1-D tensor of ids, got "
                                 f"{type(t).__name__} {tuple(getattr(t, 'shape', ()))}")
            if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:  # 0.9 would become id 0
                raise ValueError(f"Triples.{name} must hold integer ids, got {t.dtype}")
            if t.dtype != torch.int64:
                object.__setattr__(self, name, t.long())
        if not (self.head.numel() == self.relation.numel() == self.tail.numel()):
            raise ValueError(f"Triples: head, relation and tail must have one entry per triple, got "
                             f"{self.head.numel()}, {self.relation.numel()} and {self.tail.numel()}")

    @classmethod
    def from_tensor(cls, hrt: Tensor) -> "Triples":
        """From a ``[T, 3]`` tensor whose columns are head, relation, tail."""
        if hrt.dim() != 2 or hrt.size(1) != 3:
            raise ValueError(f"expected a [T, 3] tensor of (head, relation, tail) ids, got {tuple(hrt.shape)}")
        return cls(hrt[:, 0].contiguous(), hrt[:, 1].contiguous(), hrt[:, 2].contiguous())

    @classmethod
    def empty(cls) -> "Triples":
        e = torch.empty(0, dtype=torch.long)
        return cls(e, e.clone(), e.clone())

    def __len__(self) -> int:
        return int(self.head.numel())

    def stack(self) -> Tensor:
        """``[T, 3]`` tensor with columns head, relation, tail."""
        return torch.stack([self.head, self.relation, self.tail], dim=1)

    def to(self, device: str | torch.device) -> "Triples":
        return Triples(self.head.to(device), self.relation.to(device), self.tail.to(device))

    def __getitem__(self, index: Any) -> "Triples":
        """The triples selected by ``index`` (a slice, a boolean mask or ids)."""
        return Triples(self.head[index], self.relation[index], self.tail[index])


@dataclass
class KnowledgeGraph:
    """Triples with entity and relation vocabularies, split into train / valid / test.

    Entity ``i`` is named ``entities[i]``, relation ``r`` is ``relations[r]``.
    With ``inverse=True`` (see ``with_inverse``) the relations are
    ``R = num_base_relations`` originals followed by their ``R`` inverses, and
    ``train`` holds both directions.

    Args:
        train, valid, test: the splits (``valid`` / ``test`` may be empty).
        entities: entity names, one per id.
        relations: relation names, one per id.
        name: dataset name, for messages and saved specs.
        inverse: whether relations ``R..2R-1`` are the inverses of ``0..R-1``.

    Raises:
        ValueError: an id out of range, or names that are not unique.
    """

    train: Triples
    valid: Triples
    test: Triples
    entities: Sequence[str]
    relations: Sequence[str]
    name: str = ""
    inverse: bool = False
    _entity_index: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.entities = tuple(self.entities)
        self.relations = tuple(self.relations)
        for what, vocab in (("entity", self.entities), ("relation", self.relations)):
            if len(set(vocab)) != len(vocab):
                seen: set[str] = set()
                dup = next(v for v in vocab if v in seen or seen.add(v))
                raise ValueError(f"KnowledgeGraph: {what} name {dup!r} appears twice; each name must be unique")
        if self.inverse and len(self.relations) % 2:
            raise ValueError(f"KnowledgeGraph(inverse=True) needs an even number of relations (originals then "
                             f"inverses), got {len(self.relations)}")
        for split in ("train", "valid", "test"):
            t = getattr(self, split)
            if not isinstance(t, Triples):
                raise ValueError(f"KnowledgeGraph.{split} must be a Triples, got {type(t).__name__}; "
                                 f"use Triples.from_tensor for a [T, 3] tensor")
            self._check_range(t.head, self.num_entities, f"{split} head entity")
            self._check_range(t.tail, self.num_entities, f"{split} tail entity")
            self._check_range(t.relation, self.num_relations, f"{split} relation")
        if len(self.train) == 0:
            raise ValueError(f"KnowledgeGraph {self.name!r}: the training split is empty; it needs at least one triple")

    @staticmethod
    def _check_range(ids: Tensor, n: int, what: str) -> None:
        if ids.numel() == 0:
            return
        bad = (ids < 0) | (ids >= n)
        if bool(bad.any()):
            k = int(bad.nonzero()[0])
            raise ValueError(f"{what} id {int(ids[k])} (triple {k}) is out of range; expected 0 <= id < {n}. "
                             f"Ids index the entity / relation vocabulary")

    # ----------------------------------------------------------- sizes
    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        """Relations the model needs embeddings for (inverses included)."""
        return len(self.relations)

    @property
    def num_base_relations(self) -> int:
        """Relations of the data itself (without the inverses)."""
        return len(self.relations) // 2 if self.inverse else len(self.relations)

    def split(self, name: str) -> Triples:
        """The ``"train"``, ``"valid"`` or ``"test"`` triples."""
        if name not in ("train", "valid", "test"):
            raise ValueError(f"unknown split {name!r}; expected 'train', 'valid' or 'test'")
        return getattr(self, name)

    # ----------------------------------------------------------- transformations
    def with_inverse(self) -> "KnowledgeGraph":
        """A copy whose training split also holds ``(t, r + R, h)`` for every
        ``(h, r, t)``; relation ``r + R`` is named ``relations[r] + "_inverse"``.
        Valid and test are unchanged. Idempotent."""
        if self.inverse:
            return self
        r = self.num_relations
        names = tuple(self.relations) + tuple(n + INVERSE_SUFFIX for n in self.relations)
        clash = sorted(set(self.relations) & set(names[r:]))
        if clash:
            raise ValueError(f"KnowledgeGraph {self.name!r}: relation {clash[0]!r} of the data is also the name of the "
                             f"inverse relation added for {clash[0][:-len(INVERSE_SUFFIX)]!r}; train without inverse "
                             f"triples (--no-inverse, or inverse=False) or rename that relation")
        tr = self.train
        train = Triples(torch.cat([tr.head, tr.tail]), torch.cat([tr.relation, tr.relation + r]),
                        torch.cat([tr.tail, tr.head]))
        return KnowledgeGraph(train, self.valid, self.test, self.entities, names, self.name, inverse=True)

    def to(self, device: str | torch.device) -> "KnowledgeGraph":
        return replace(self, train=self.train.to(device), valid=self.valid.to(device), test=self.test.to(device))

    def known_triples(self) -> Triples:
        """Every true triple of the data (train ∪ valid ∪ test, original
        relations only): what filtered evaluation removes from the candidates."""
        base = self.train
        if self.inverse:
            base = base[base.relation < self.num_base_relations]
        parts = [base, self.valid, self.test]
        return Triples(*(torch.cat([getattr(p, f) for p in parts]) for f in ("head", "relation", "tail")))

    def graph(self) -> tuple[Tensor, Tensor]:
        """The training triples as typed edges: ``(edge_index [2, T], edge_type [T])``
        with ``edge_index[0]`` the heads (sources) and ``edge_index[1]`` the tails."""
        return torch.stack([self.train.head, self.train.tail]), self.train.relation

    # ----------------------------------------------------------- names
    def entity_id(self, name: str) -> int:
        """The id of entity ``name`` (compared as written, then in Unicode NFC
        form, so ``Zürich`` typed with a combining accent finds the stored
        one); ``ValueError`` suggesting close names when unknown."""
        if self._entity_index is None:
            self._entity_index = {n: i for i, n in enumerate(self.entities)}
        found = _find(name, self._entity_index, self.entities)
        if found is None:
            raise ValueError(_unknown("entity", name, self.entities))
        return found

    def relation_id(self, name: str) -> int:
        """The id of relation ``name`` (as written, then in NFC form);
        ``ValueError`` suggesting close names when unknown."""
        found = _find(name, {n: i for i, n in enumerate(self.relations)}, self.relations)
        if found is None:
            raise ValueError(_unknown("relation", name, self.relations))
        return found

    # ----------------------------------------------------------- (de)serialisation
    def state(self) -> dict[str, Any]:
        """Tensors, strings and numbers only (for ``torch.load(weights_only=True)``)."""
        out: dict[str, Any] = {"kind": "knowledge_graph", "entities": list(self.entities),
                               "relations": list(self.relations), "name": self.name, "inverse": self.inverse}
        for split in ("train", "valid", "test"):
            out[split] = self.split(split).stack()
        return out

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "KnowledgeGraph":
        splits = {s: Triples.from_tensor(state[s]) for s in ("train", "valid", "test")}
        return cls(**splits, entities=state["entities"], relations=state["relations"], name=state.get("name", ""),
                   inverse=bool(state.get("inverse", False)))

    def __repr__(self) -> str:
        return (f"KnowledgeGraph(name={self.name!r}, entities={self.num_entities}, relations={self.num_relations}"
                f"{' (with inverses)' if self.inverse else ''}, train={len(self.train)}, valid={len(self.valid)}, "
                f"test={len(self.test)})")


def _find(name: str, index: dict[str, int], vocab: Sequence[str]) -> int | None:
    """``index[name]``, else the one name equal to it in Unicode NFC form."""
    import unicodedata

    if name in index:
        return index[name]
    want = unicodedata.normalize("NFC", name)
    matches = [i for i, n in enumerate(vocab) if unicodedata.normalize("NFC", n) == want]
    return matches[0] if len(matches) == 1 else None


def _unknown(what: str, name: str, vocab: Sequence[str]) -> str:
    import difflib

    folded = name.casefold()
    close = [n for n in vocab if n.casefold() == folded][:5]  # USA for usa: the same name in another case first
    close += [n for n in difflib.get_close_matches(name[:200], vocab, n=5, cutoff=0.5) if n not in close]
    hint = f"; did you mean {', '.join(map(repr, close[:5]))}?" if close else f"; the {len(vocab)} known names start " \
        f"with {', '.join(map(repr, list(vocab)[:5]))}"
    shown = name if len(name) <= 80 else f"{name[:60]}... ({len(name)} characters)"  # a pasted file stays one line
    return f"unknown {what} {shown!r}{hint}"
