"""Vectorised tokenising of delimited text, with line numbers for errors.

The whole file is read as bytes; separators are found with numpy, so that a
file of a million ids is parsed without a Python loop per token. Every token
keeps the (1-based) line it came from, so a malformed row is reported as
``file:line``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

_WHITESPACE = b" \t\r\x0b\x0c"


@dataclass(frozen=True)
class Tokens:
    """Tokens of a text file in reading order.

    Attributes:
        values: ``[T]`` numpy bytes array of the tokens.
        line: ``[T]`` 1-based line number of each token.
        source: the file name, for messages.
    """

    values: np.ndarray
    line: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def to_int(self, index: np.ndarray | slice | None = None, what: str = "id") -> np.ndarray:
        """Tokens as int64, or ``ValueError`` naming the first bad token's line."""
        return self._convert(np.int64, "an integer " + what, index)

    def to_float(self, index: np.ndarray | slice | None = None, what: str = "value") -> np.ndarray:
        """Tokens as float64, or ``ValueError`` naming the first bad token's line."""
        return self._convert(np.float64, "a number for " + what, index)

    def _convert(self, dtype, expected: str, index) -> np.ndarray:
        values = self.values if index is None else self.values[index]
        lines = self.line if index is None else self.line[index]
        try:
            return values.astype(dtype)
        except ValueError:
            for token, line in zip(values.tolist(), lines.tolist()):  # error path only: find the culprit
                try:
                    dtype(token.decode("latin-1"))
                except ValueError:
                    raise ValueError(
                        f"{self.source}, line {line}: {token.decode('latin-1')!r} is not {expected}; "
                        f"fix or remove that row"
                    ) from None
            raise


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, or ``ValueError`` when it is missing or empty."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist; check the path or download the dataset (gnnkit datasets info NAME)")
    data = path.read_bytes()
    if not data.strip():
        raise ValueError(f"{path} is empty; expected at least one row. Re-download or regenerate it")
    return data


def tokenize(data: bytes, source: str, delimiters: bytes = b"", comments: bytes = b"#%",
             skip_header: bool = False) -> Tokens:
    """Split ``data`` on whitespace (and ``delimiters``) into tokens.

    Lines whose first token starts with a byte in ``comments`` are dropped;
    ``skip_header`` drops the first non-comment line.
    """
    seps = _WHITESPACE + delimiters
    buf = np.frombuffer(data, dtype=np.uint8)
    newline = buf == ord("\n")
    is_sep = newline.copy()
    for ch in seps:
        is_sep |= buf == ch
    prev_sep = np.empty_like(is_sep)
    prev_sep[0] = True
    prev_sep[1:] = is_sep[:-1]
    starts = np.flatnonzero(~is_sep & prev_sep)
    line = np.cumsum(newline)[starts] - newline[starts] + 1  # 1-based line of each token start
    table = bytes.maketrans(delimiters, b" " * len(delimiters))
    values = np.array(data.translate(table).split())
    if values.shape[0] != starts.shape[0]:  # pragma: no cover - guards the two splitters agreeing
        raise AssertionError(f"{source}: tokeniser disagreement")
    keep = np.ones(len(starts), dtype=bool)
    if len(starts):
        first = np.ones(len(starts), dtype=bool)
        first[1:] = line[1:] != line[:-1]
        if comments:
            lead = buf[starts[first]]
            bad_lines = line[first][np.isin(lead, np.frombuffer(comments, dtype=np.uint8))]
            keep &= ~np.isin(line, bad_lines)
        if skip_header:
            remaining = line[keep]
            if remaining.size:
                keep &= line != remaining[0]
    return Tokens(values[keep], line[keep], source)


def rows(tokens: Tokens, min_cols: int, max_cols: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Group tokens into a fixed-width table.

    Returns ``(cells [R, C] bytes, row_line [R], C)``; every row must have the
    same number of columns, between ``min_cols`` and ``max_cols``.
    """
    max_cols = min_cols if max_cols is None else max_cols
    if len(tokens) == 0:
        raise ValueError(f"{tokens.source} has no data rows; expected rows of {_cols(min_cols, max_cols)}")
    uniq_lines, start, counts = np.unique(tokens.line, return_index=True, return_counts=True)
    ncols = int(counts[0])
    bad = (counts != ncols) | (counts < min_cols) | (counts > max_cols)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{tokens.source}, line {int(uniq_lines[k])}: found {int(counts[k])} fields, expected "
            f"{_cols(min_cols, max_cols)}" + ("" if min_cols == max_cols else f" (the first row has {ncols})")
            + "; fix or remove that row"
        )
    return tokens.values.reshape(-1, ncols), uniq_lines, ncols


def _cols(lo: int, hi: int) -> str:
    return f"{lo} columns" if lo == hi else f"{lo} to {hi} columns"


def read_table(path: str | Path, min_cols: int, max_cols: int | None = None, header: bool | None = None,
               comments: bytes = b"#%") -> tuple[list[str] | None, Tokens, int]:
    """A comma / whitespace separated table with an optional header line.

    Args:
        header: ``True`` / ``False``, or ``None`` to detect one (a first line
            whose first field is not a number).

    Returns:
        ``(column names or None, tokens, number of columns)``.
    """
    path = Path(path)
    data = read_bytes(path)
    tokens = tokenize(data, str(path), delimiters=b",", comments=comments)
    names = None
    if len(tokens):
        first = tokens.line == tokens.line[0]
        if header is None:
            try:
                float(tokens.values[0])
                header = False
            except ValueError:
                header = True
        if header:
            names = [v.decode("utf-8", "replace") for v in tokens.values[first]]
            tokens = Tokens(tokens.values[~first], tokens.line[~first], tokens.source)
    _, _, width = rows(tokens, min_cols, max_cols)
    return names, tokens, width


def column(tokens: Tokens, width: int, k: int) -> Tokens:
    """Column ``k`` of a fixed-width table, keeping line numbers."""
    return Tokens(tokens.values.reshape(-1, width)[:, k], tokens.line.reshape(-1, width)[:, k], tokens.source)


def check_ids(ids: np.ndarray, tokens: Tokens, num_nodes: int, what: str, fix: str) -> None:
    """``ValueError`` naming the line of the first id outside ``0..num_nodes-1``."""
    bad = (ids < 0) | (ids >= num_nodes)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{tokens.source}, line {int(tokens.line[k])}: {what} {int(ids[k])} is out of range; "
                         f"expected 0 <= id < {num_nodes}. {fix}")


def check_unique(ids: np.ndarray, tokens: Tokens, what: str) -> None:
    """``ValueError`` naming the line where an id appears a second time."""
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if dup.size:
        second = order[dup + 1]
        k = int(second[np.argmin(tokens.line[second])])
        raise ValueError(f"{tokens.source}, line {int(tokens.line[k])}: duplicate {what} {int(ids[k])}; "
                         f"each id must appear once")
