"""Profiling users can switch on: a trace TensorBoard and Perfetto open, and
the operators that took the time.

    with gnnkit.profiling.profile("prof/"):      # or: gnnkit train node ... --profile prof/
        for epoch in range(5):
            train_one_epoch()
            gnnkit.profiling.step()               # the engine calls this after every epoch

``profile`` runs ``torch.profiler`` on a short schedule (one epoch skipped,
one warm-up, ``active`` recorded) so that a long run does not record
gigabytes, writes a Chrome/Perfetto trace (``*.pt.trace.json``, which
TensorBoard's profiler plugin also reads) into the folder, and prints the
operators with the largest self time. gnnkit names its own regions with
``region`` (``gnnkit.train_epoch``, ``gnnkit.validate``, ``gnnkit.test``,
``gnnkit.sample``) so that the trace shows where an epoch goes.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

import torch
from torch.profiler import ProfilerActivity, record_function, schedule, tensorboard_trace_handler

_ACTIVE: list = []


def region(name: str) -> contextlib.AbstractContextManager:
    """A named region in the trace (``torch.profiler.record_function``); free when not profiling."""
    return record_function(name) if _ACTIVE else contextlib.nullcontext()


def step() -> None:
    """Advance the profiler's schedule by one epoch (a no-op when not profiling)."""
    if _ACTIVE:
        _ACTIVE[-1].step()


@contextlib.contextmanager
def profile(folder: str | Path, active: int = 3, wait: int = 1, warmup: int = 1, top: int = 15,
            out=None) -> Iterator[torch.profiler.profile]:
    """Profile the block: a trace in ``folder`` and a table of the top operators.

    Args:
        folder: where the trace file goes (created when missing).
        active: epochs (``step()`` calls) recorded (default 3).
        wait: epochs skipped first (default 1: the first epoch builds caches).
        warmup: epochs profiled but not recorded before those (default 1).
        top: operators listed by self time at the end (default 15).
        out: stream for the table (default stderr).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the profile folder {folder}: {err.strerror or err}; pass a writable --profile DIR") from err
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    prof = torch.profiler.profile(activities=activities, schedule=schedule(wait=wait, warmup=warmup, active=active, repeat=1),
                                  on_trace_ready=tensorboard_trace_handler(str(folder)), record_shapes=False)
    _ACTIVE.append(prof)
    try:
        with prof:
            yield prof
    finally:
        _ACTIVE.pop()
    events = prof.key_averages()
    sort = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
    print(f"gnnkit profile: trace in {folder} (open in TensorBoard or https://ui.perfetto.dev); "
          f"top {top} operators by self time:", file=out or sys.stderr)
    if len(events):
        print(events.table(sort_by=sort, row_limit=top), file=out or sys.stderr)
    else:
        print("  (nothing recorded: the run was shorter than the skip and warm-up epochs; profile more epochs)",
              file=out or sys.stderr)


__all__ = ["profile", "region", "step"]
