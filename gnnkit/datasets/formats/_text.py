"""Vectorised tokenising of delimited text, with line numbers for errors.

The whole file is read as bytes; separators are found with numpy, so that a
file of a million ids is parsed without a Python loop per token. Every token
keeps the (1-based) line it came from, so a malformed row is reported as
``file:line``.

Memory stays proportional to the file: a token may be at most ``MAX_TOKEN``
bytes (numbers, ids and short header names; anything longer is refused with
its line), so the token table never pads a million ids to the width of one
runaway field.

``read_bytes`` is the one way the format readers open a file. It refuses what
is not a plain text file (a FIFO, a directory, gzip / zip / UTF-16 data) with
a message, drops a UTF-8 byte-order mark, and, inside ``track_inputs()``,
records the name, size and sha256 of every file read (and every optional file
probed with ``exists`` but absent), which the processed cache keys on.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

_WHITESPACE = b" \t\r\x0b\x0c"
MAX_TOKEN = 64  # bytes; the longest number these formats hold is ~25
_BOM = b"\xef\xbb\xbf"

# path -> (size, sha256) for a file read, or None for an optional file found absent
_INPUTS: contextvars.ContextVar[dict[str, tuple[int, str] | None] | None] = contextvars.ContextVar(
    "gnnkit_dataset_inputs", default=None)


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

    def to_float(self, index: np.ndarray | slice | None = None, what: str = "value", limit: float = np.inf
                 ) -> np.ndarray:
        """Tokens as float64, or ``ValueError`` naming the first bad token's
        line: not a number, or not finite (``nan``, ``inf``) or beyond
        ``limit`` in magnitude (e.g. float32's range, for a column stored so)."""
        out = self._convert(np.float64, "a number for " + what, index)
        bad = ~(np.abs(out) <= limit)  # NaN compares false: caught too
        if bad.any():
            k = int(np.argmax(bad))
            lines = self.line if index is None else self.line[index]
            values = self.values if index is None else self.values[index]
            raise ValueError(f"{self.source}, line {int(lines[k])}: {shown(values[k])} is not a finite "
                             f"{what}" + ("" if np.isinf(limit) else f" within ±{limit:.3g}") + "; fix or remove "
                             "that row")
        return out

    def _convert(self, dtype, expected: str, index) -> np.ndarray:
        values = self.values if index is None else self.values[index]
        lines = self.line if index is None else self.line[index]
        if dtype is np.int64:
            fast = _digits_to_int(values)
            if fast is not None:
                return fast
            # numpy (as Python's int()) reads "1_0" as 10 and non-ASCII digits ("١") as numbers: ids are plain
            # ASCII decimals, nothing else (this path runs only when the fast one met another token)
            for token, line in zip(values.tolist(), lines.tolist()):
                if not _PLAIN_INT.fullmatch(token):
                    raise ValueError(f"{self.source}, line {line}: {shown(token)} is not {expected} (digits 0-9 "
                                     f"only); fix or remove that row")
        elif values.dtype.kind == "S" and values.size and (np.ascontiguousarray(values).view(np.uint8)
                                                             == ord("_")).any():
            k = int(np.flatnonzero([b"_" in v for v in values.tolist()])[0])  # numpy reads "1_0" as 10
            raise ValueError(f"{self.source}, line {int(lines[k])}: {shown(values[k])} is not {expected}; fix or "
                             f"remove that row")
        try:
            return values.astype(dtype)
        except (ValueError, OverflowError):
            for token, line in zip(values.tolist(), lines.tolist()):  # error path only: find the culprit
                try:
                    dtype(token.decode("ascii"))
                except (ValueError, OverflowError, UnicodeDecodeError):
                    raise ValueError(
                        f"{self.source}, line {line}: {shown(token)} is not {expected}"
                        + (" (too large for 64 bits)" if _PLAIN_INT.fullmatch(token) else "")
                        + "; fix or remove that row"
                    ) from None
            raise


_PLAIN_INT = re.compile(rb"[+-]?[0-9]+")


def _is_number(token: bytes) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def shown(token: bytes) -> str:
    """A token as an error message quotes it: UTF-8 as written (``'é0'``, not
    its bytes read as Latin-1), other bytes escaped."""
    return repr(token.decode("utf-8", errors="backslashreplace"))


def _digits_to_int(values: np.ndarray) -> np.ndarray | None:
    """Plain decimal tokens (``-?[0-9]+``, at most 18 digits) as int64, by
    arithmetic on the bytes (several times faster than numpy's string
    parser); ``None`` when any token is something else."""
    if values.dtype.kind != "S" or values.size == 0 or values.dtype.itemsize > 18:
        return None
    cells = np.ascontiguousarray(values).view(np.uint8).reshape(values.size, values.dtype.itemsize)
    negative = cells[:, 0] == ord("-")
    digits = cells - np.uint8(ord("0"))  # wraps for non-digits, padding (0) included
    is_digit = digits <= 9
    pad = cells == 0
    if not (is_digit[:, 0] | negative).all() or not (is_digit[:, 1:] | pad[:, 1:]).all():
        return None
    if not (pad[:, 1:] >= pad[:, :-1]).all():  # padding only at the end of a token
        return None
    if negative.any() and (cells.shape[1] < 2 or not is_digit[negative, 1].all()):  # a lone "-"
        return None
    out = np.zeros(values.size, dtype=np.int64)
    for k in range(cells.shape[1]):
        d = is_digit[:, k]
        if k == 0:
            d = d & ~negative
        out = np.where(d, out * 10 + digits[:, k], out)
    return np.where(negative, -out, out)


@contextlib.contextmanager
def track_inputs() -> Iterator[dict[str, tuple[int, str] | None]]:
    """Record every file ``read_bytes`` reads (``path -> (size, sha256)``) and
    every optional file ``exists`` finds absent (``path -> None``) in the block."""
    table: dict[str, tuple[int, str] | None] = {}
    token = _INPUTS.set(table)
    try:
        yield table
    finally:
        _INPUTS.reset(token)


def exists(path: str | Path) -> bool:
    """Whether the optional input ``path`` is there (recorded when tracking)."""
    path = Path(path)
    present = path.is_file()
    table = _INPUTS.get()
    if table is not None and not present:
        table[str(path)] = None
    return present


def _sniff(path: Path, head: bytes) -> None:
    if head.startswith(b"\x1f\x8b"):
        raise ValueError(f"{path} is gzip-compressed; decompress it first (gunzip -k {path}) and pass the "
                         f"uncompressed file")
    if head.startswith(b"PK\x03\x04"):
        raise ValueError(f"{path} is a zip archive; unzip it and pass the file inside")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError(f"{path} is UTF-16 text; save it as UTF-8 (or ASCII) and try again")


def read_bytes(path: str | Path, *, text: bool = True) -> bytes:
    """A file's bytes, or ``ValueError`` when it is missing, empty, not a
    regular file, or (``text=True``) compressed / UTF-16. A leading UTF-8
    byte-order mark is dropped from text."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; check the path or download the dataset "
                         f"(gnnkit datasets info NAME)") from None
    except OSError as err:
        raise ValueError(f"cannot read {path} ({err.strerror or err})") from err
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else \
            "not a regular file"
        raise ValueError(f"{path} is {kind}; pass a regular file (copy a pipe's data to a file first)")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {path} ({err.strerror or err})") from err
    table = _INPUTS.get()
    if table is not None:
        table[str(path)] = (len(data), hashlib.sha256(data).hexdigest())
    if text:
        _sniff(path, data[:4])
        if data.startswith(_BOM):
            data = data[len(_BOM):]
    if not data.strip():
        raise ValueError(f"{path} is empty; expected at least one row. Re-download or regenerate it")
    return data


def tokenize(data: bytes, source: str, delimiters: bytes = b"", comments: bytes = b"#%",
             skip_header: bool = False) -> Tokens:
    """Split ``data`` on whitespace (and ``delimiters``) into tokens.

    Lines whose first token starts with a byte in ``comments`` are dropped;
    ``skip_header`` drops the first non-comment line.

    Raises:
        ValueError: a kept token is longer than ``MAX_TOKEN`` bytes (its line
            is named).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    nul = np.flatnonzero(buf == 0)
    if nul.size:  # numpy's byte strings drop trailing NULs: "2\0" would read as 2
        at = int(np.count_nonzero(buf[:nul[0]] == ord("\n"))) + 1
        raise ValueError(f"{source}, line {at}: a NUL byte (\\0) in a text file; the file is binary or "
                         f"corrupted: check it, or download it again")
    newline = buf == ord("\n")
    is_sep = newline.copy()
    for ch in _WHITESPACE + delimiters:
        is_sep |= buf == ch
    del newline
    # token starts: a non-separator after a separator (or at 0); ends: before a separator (or at the end)
    edge = np.flatnonzero(np.diff(is_sep.view(np.int8), prepend=np.int8(1), append=np.int8(1)))
    del is_sep
    starts, ends = edge[0::2], edge[1::2]
    line = _line_numbers(buf, starts)
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
    starts, ends, line = starts[keep], ends[keep], line[keep]
    return Tokens(_gather(buf, starts, ends - starts, line, source), line, source)


def _line_numbers(buf: np.ndarray, starts: np.ndarray, block: int = 1 << 26) -> np.ndarray:
    """1-based line of each token start: a running count of newlines, taken
    in 64 MiB blocks so the count never needs 8 bytes per byte of the file."""
    out = np.empty(starts.size, dtype=np.int64)
    base = 0
    for lo in range(0, max(buf.size, 1), block):
        count = np.cumsum(buf[lo:lo + block] == ord("\n"), dtype=np.int32)
        a, b = np.searchsorted(starts, [lo, lo + block])
        out[a:b] = count[starts[a:b] - lo] + (base + 1)  # a token never starts on a newline
        base += int(count[-1]) if count.size else 0
    return out


def _gather(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, line: np.ndarray, source: str) -> np.ndarray:
    """``[T]`` fixed-width bytes array of the tokens, built column by column
    (no Python object per token, width = the longest token)."""
    if starts.size == 0:
        return np.zeros(0, dtype="S1")
    width = int(lengths.max())
    if width > MAX_TOKEN:
        k = int(np.argmax(lengths > MAX_TOKEN))
        head = shown(bytes(buf[starts[k]:starts[k] + 20]))
        raise ValueError(f"{source}, line {int(line[k])}: a field of {int(lengths[k])} bytes ({head}...); "
                         f"expected numbers or short names of at most {MAX_TOKEN} bytes. Is this the right file, "
                         f"with the right delimiter?")
    out = np.zeros((starts.size, width), dtype=np.uint8)
    last = buf.size - 1
    for k in range(width):
        present = lengths > k
        out[:, k] = np.where(present, buf[np.minimum(starts + k, last)], 0)
    return out.view(f"S{width}").reshape(-1)


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
            none of whose fields is a number, with a letter in some field).

    Returns:
        ``(column names or None, tokens, number of columns)``.
    """
    path = Path(path)
    data = read_bytes(path)
    tokens = tokenize(data, str(path), delimiters=b",", comments=comments)
    names = None
    if len(tokens):
        first = tokens.line == tokens.line[0]
        if header is None:  # a header names columns: no field is a number ("é0 1" is a bad data row), and
            fields = tokens.values[first].tolist()  # some field has a letter ("１ ２" is a bad data row too)
            header = not any(_is_number(v) for v in fields) and any(re.search(rb"[A-Za-z]", v) for v in fields)
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


def check_span(ids: np.ndarray, what: str, fix: str, *, source: str = "", line: np.ndarray | None = None,
               floor: int = 1 << 20, factor: int = 16) -> None:
    """Refuse ids that would size a dense array far beyond the data.

    Readers turn ``max(id) + 1`` into a row count (nodes, users, items,
    feature columns). Above ``floor``, that count may be at most ``factor``
    times the number of distinct ids actually present; otherwise one stray
    id (``2e9``) would allocate gigabytes. Checked before allocating.

    Raises:
        ValueError: naming the id, its line (when ``line`` is given) and ``fix``.
    """
    if ids.size == 0:
        return
    top = int(ids.max())
    if top < floor:
        return
    distinct = int(np.unique(ids).size)
    if top + 1 <= factor * distinct:
        return
    k = int(np.argmax(ids == top))
    where = f"{source}, line {int(line[k])}" if line is not None and source else (source or "input")
    raise ValueError(f"{where}: {what} {top} would size an array of {top + 1} rows, but only {distinct} distinct "
                     f"{what}s appear; {fix}")

