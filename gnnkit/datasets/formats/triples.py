"""Tab-separated triple files (``head \\t relation \\t tail``) as a ``KnowledgeGraph``.

The layout of Kinships, Nations, UMLS, FB15k-237 and WN18RR as published: a
folder with ``train.txt``, ``valid.txt`` and ``test.txt``, one triple per line,
three tab-separated names. Blank lines are skipped; fields are stripped of
surrounding spaces. Entity and relation ids follow the sorted names of the
training split (as PyKEEN numbers them), so a file gives the same ids on every
machine.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from gnnkit.datasets.formats._text import read_bytes
from gnnkit.datasets.knowledge_graph import KnowledgeGraph, Triples

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
UNSEEN = ("error", "drop", "keep")
_FIELDS = ("head", "relation", "tail")


def parse_triples(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The name triples of one file.

    Returns:
        ``(names [T, 3] str, line [T])``: head, relation and tail names per
        triple and the 1-based line each came from.

    Raises:
        ValueError: the file is missing or not UTF-8, or a line does not hold
            exactly three non-empty tab-separated fields (the message names the
            file and line).
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist; expected a file of 'head<TAB>relation<TAB>tail' lines "
                         f"(download the dataset, or pass the folder holding train.txt / valid.txt / test.txt)")
    data = read_bytes(path)  # checks it is a regular, uncompressed text file; the cache tracks what it reads
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    rows: list[list[str]] = []
    lines: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        parts = line.rstrip("\r").split("\t")
        if len(parts) != 3:
            hint = " (fields must be separated by tabs, not spaces)" if len(parts) == 1 and " " in line.strip() else ""
            raise ValueError(f"{path}, line {number}: found {len(parts)} tab-separated field"
                             f"{'s' if len(parts) != 1 else ''}, expected 3 (head, relation, tail){hint}; "
                             f"fix or remove that line")
        parts = [p.strip() for p in parts]
        for k, p in enumerate(parts):
            if not p:
                raise ValueError(f"{path}, line {number}: the {_FIELDS[k]} field is empty; every line needs a head, "
                                 f"a relation and a tail name")
        rows.append(parts)
        lines.append(number)
    if not rows:
        raise ValueError(f"{path} holds no triples; expected 'head<TAB>relation<TAB>tail' lines")
    return np.array(rows, dtype=str).reshape(-1, 3), np.array(lines, dtype=np.int64)


def read_triples(root: str | Path, *, inverse: bool = False, unseen: str = "error", name: str = "",
                 train: str = "train.txt", valid: str | None = "valid.txt",
                 test: str | None = "test.txt") -> KnowledgeGraph:
    """Read a folder of tab-separated triple files into a ``KnowledgeGraph``.

    Args:
        root: folder holding the split files.
        inverse: add the inverse of every training triple (``with_inverse``;
            default ``False``).
        unseen: what to do with a valid/test triple whose entity or relation
            never occurs in training (a model has no trained embedding for
            it): ``"error"`` (default) raises naming the file and line;
            ``"drop"`` leaves such triples out, with a warning (PyKEEN's
            behaviour, needed for WN18RR and FB15k-237); ``"keep"`` adds the
            names to the vocabulary.
        name: dataset name stored on the result.
        train, valid, test: file names under ``root``; ``valid`` / ``test``
            may be ``None`` for a graph without that split.

    Returns:
        a ``KnowledgeGraph`` with entity and relation ids in sorted-name order.
    """
    if unseen not in UNSEEN:
        raise ValueError(f"unseen={unseen!r}: expected one of {UNSEEN}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder; expected one holding {train}, {valid} and {test}")
    files = {"train": train, "valid": valid, "test": test}
    parsed = {s: parse_triples(root / f) if f is not None else None for s, f in files.items()}
    train_names = parsed["train"][0]
    known_entities = np.union1d(train_names[:, 0], train_names[:, 2])
    known_relations = np.unique(train_names[:, 1])
    if unseen == "keep":
        others = [p[0] for s, p in parsed.items() if s != "train" and p is not None]
        entities = np.unique(np.concatenate([known_entities] + [o[:, [0, 2]].ravel() for o in others]))
        relations = np.unique(np.concatenate([known_relations] + [o[:, 1] for o in others]))
    else:
        entities, relations = known_entities, known_relations

    splits = {}
    for split, item in parsed.items():
        if item is None:
            splits[split] = Triples.empty()
            continue
        names, line = item
        if split != "train" and unseen != "keep":
            seen = (np.isin(names[:, 0], known_entities) & np.isin(names[:, 2], known_entities)
                    & np.isin(names[:, 1], known_relations))
            if not seen.all():
                if unseen == "error":
                    raise ValueError(_unseen_message(root / files[split], names, line, seen, known_entities,
                                                     known_relations, root / train))
                log.warning("%s: dropped %d of %d triples whose entity or relation does not occur in %s",
                            root / files[split], int((~seen).sum()), len(seen), train)
                names = names[seen]
        ids = [np.searchsorted(vocab, names[:, k]) for k, vocab in enumerate((entities, relations, entities))]
        splits[split] = Triples(*(torch.from_numpy(i.astype(np.int64)) for i in ids))
        if split != "train":
            _warn_if_leaked(splits["train"], splits[split], root / files[split], train)
    if not name:  # <root>/<name>/raw/ is the catalog layout
        name = root.parent.name if root.name == "raw" else root.name
    kg = KnowledgeGraph(splits["train"], splits["valid"], splits["test"], entities.tolist(), relations.tolist(),
                        name=name)
    return kg.with_inverse() if inverse else kg


def _warn_if_leaked(train: Triples, part: Triples, path: Path, train_name: str) -> None:
    """Warn when valid/test triples also occur in training: they are
    trivially easy to rank, so the figures on that split are inflated. They
    are kept (a published split stays as published)."""
    import warnings

    if len(part) == 0 or len(train) == 0:
        return

    def keys(t: Triples) -> np.ndarray:
        return _packed(np.stack([t.head.numpy(), t.relation.numpy(), t.tail.numpy()], axis=1))

    both = np.isin(keys(part), keys(train))
    if both.any():
        warnings.warn(f"{path}: {int(both.sum())} of {len(part)} triples also occur in {train_name}; a model has "
                      f"seen them, so their ranks are inflated (kept as the split was published)", stacklevel=3)


def _packed(k: np.ndarray) -> np.ndarray:
    """One structured key per (head, relation, tail) row, for ``np.isin``."""
    return np.ascontiguousarray(k.astype(np.int64)).view([("", np.int64)] * 3).ravel()


def _unseen_message(path: Path, names: np.ndarray, line: np.ndarray, seen: np.ndarray, entities: np.ndarray,
                    relations: np.ndarray, train: Path) -> str:
    k = int(np.flatnonzero(~seen)[0])
    head, relation, tail = names[k].tolist()
    kind, bad = ("relation", relation) if relation not in relations else \
        ("entity", head if head not in entities else tail)
    # a name with non-ASCII letters also by its code points: 'café' written with a combining accent is
    # another name than 'café' with a precomposed é, though both print alike
    what = f"{kind} {bad!r}" + ("" if bad.isascii() else f" (code points {ascii(bad)})")
    return (f"{path}, line {int(line[k])}: {what} never occurs in {train}, so no model can learn an embedding for "
            f"it ({int((~seen).sum())} such triple(s) in this file). Remove those triples, or read with "
            f"unseen='drop' (leave them out, as PyKEEN does) or unseen='keep' (give them untrained embeddings); "
            f"on the command line: --unseen drop or --unseen keep")
