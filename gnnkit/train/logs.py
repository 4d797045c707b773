"""Where per-epoch metrics go: a CSV file, TensorBoard, the progress bar.

``MetricLog`` writes one CSV row per epoch. On resume it first rewrites the
file from the checkpoint's history, so an epoch that ran after the last
checkpoint and is run again appears once, not twice. A row with a column
the file does not have yet (validation metrics, when validation does not
run every epoch) rewrites the file with that column added.
"""
from __future__ import annotations

import csv
import errno
import io as _stringio
import warnings
from pathlib import Path
from typing import Any

from gnnkit.io import atomic_write_text


def _csv_text(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buf = _stringio.StringIO()
    writer = csv.writer(buf)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([row.get(k, "") for k in fields])
    return buf.getvalue()


def _fields(rows: list[dict[str, Any]]) -> list[str]:
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    return fields


class MetricLog:
    """Per-epoch metrics to a CSV file and TensorBoard (both optional).

    Args:
        csv_path: CSV file (``None``: no CSV).
        tensorboard: TensorBoard log folder (``None``: none).
        history: rows already trained (a resumed run); the CSV is rewritten
            to exactly these before new rows are appended.
    """

    def __init__(self, csv_path: str | None, tensorboard: str | None, history: list[dict[str, Any]]) -> None:
        self.path = None if csv_path is None else Path(csv_path)
        self.fields: list[str] | None = None
        self.rows: list[dict[str, Any]] = list(history)  # what the file holds, for a rewrite with new columns
        if self.path is not None:
            self.fields = _fields(history) or None
            atomic_write_text(self.path, _csv_text(self.fields, history) if self.fields else "")
        self.board = _tensorboard(tensorboard)

    def log(self, row: dict[str, Any]) -> None:
        """Append ``row`` to the CSV file and TensorBoard.

        Args:
            row: one epoch's metrics (``epoch`` and numbers).

        Raises:
            OSError: the CSV cannot be written (full disk ...), naming the file;
                the rows written before are kept.
        """
        if self.path is not None:
            self._append(row)
        if self.board is not None:
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)):
                    self.board.add_scalar(key, value, row["epoch"])

    def _append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        try:
            if self.fields is not None and any(k not in self.fields for k in row):
                # A column first seen now (the first validation when it does not run every epoch):
                # the file is rewritten with it, earlier rows leaving it empty, instead of losing it.
                self.fields = _fields(self.rows)
                atomic_write_text(self.path, _csv_text(self.fields, self.rows))
                return
            with open(self.path, "a", newline="") as fh:
                if self.fields is None:
                    self.fields = list(row)
                    csv.writer(fh).writerow(self.fields)
                csv.writer(fh).writerow([row.get(k, "") for k in self.fields])
        except OSError as err:
            hint = "free some disk space or log elsewhere" if err.errno in (errno.ENOSPC, errno.EDQUOT) else \
                "check the path and the disk"
            out = OSError(err.errno, f"could not append epoch {row.get('epoch')} to the CSV log {self.path}: "
                                     f"{err.strerror or err}; {hint} (the rows before it are kept)")
            out.filename = str(self.path)
            raise out from err

    def close(self) -> None:
        if self.board is not None:
            self.board.close()


def _tensorboard(logdir: str | None):
    if logdir is None:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn("TensorBoard logging was asked for but the tensorboard package is not installed "
                      "(pip install tensorboard); continuing without it", stacklevel=3)
        return None
    return SummaryWriter(logdir)
