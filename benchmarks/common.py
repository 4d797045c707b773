"""Shared pieces of the benchmark scripts: synthetic graphs, timing, peak memory, tables."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable

import torch


def skewed_graph(num_nodes: int, num_edges: int, seed: int = 0, device: str = "cpu") -> torch.Tensor:
    """A directed graph with power-law in- and out-degrees (no structure otherwise).

    Node ids are drawn as ``floor(N · u³)`` (u uniform), then relabelled by a
    random permutation so the hubs are scattered over the id range: the
    heaviest node gets ~N^(2/3)/... edges, most nodes a handful — the skew of
    real social / web graphs, which is what makes load balance matter.
    """
    g = torch.Generator().manual_seed(seed)
    perm_src = torch.randperm(num_nodes, generator=g)
    perm_dst = torch.randperm(num_nodes, generator=g)
    src = perm_src[(torch.rand(num_edges, generator=g).pow(3) * num_nodes).long()]
    dst = perm_dst[(torch.rand(num_edges, generator=g).pow(2) * num_nodes).long()]
    return torch.stack([src, dst]).to(device)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_alternating(fns: dict[str, Callable[[], None]], repeats: int = 7, warmup: int = 1,
                     device: str = "cpu", with_min: bool = False) -> dict:
    """Median seconds of each function (``(median, min)`` with ``with_min``),
    run in alternation (a, b, c, a, b, c, ...) so that machine noise hits
    every contender alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    if with_min:
        return {name: (statistics.median(ts), min(ts)) for name, ts in times.items()}
    return {name: statistics.median(ts) for name, ts in times.items()}


def read_status(field: str) -> int:
    """A ``/proc/self/status`` memory field (``"VmRSS:"``, ``"VmHWM:"``) in bytes (Linux; 0 elsewhere)."""
    return _read_status(field)


def _read_status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark for this process (Linux)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def peak_rss_during(fn: Callable[[], None]) -> int:
    """Bytes the process's resident set grew by at its peak while ``fn`` ran (Linux)."""
    before = _read_status("VmRSS:")
    reset_peak_rss()
    fn()
    return max(0, _read_status("VmHWM:") - before)


def peak_allocated_during(fn: Callable[[], None]) -> int:
    """Peak bytes allocated through torch's CPU allocator while ``fn`` ran,
    above what was allocated before it (from the profiler's allocation
    events, in time order). Unlike RSS this does not depend on when malloc
    returns freed memory to the system, so it is the same from run to run;
    it counts tensors only (not the interpreter or library code)."""
    from torch.profiler import profile

    with profile(profile_memory=True) as prof:
        fn()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                    if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU)
    current = peak = 0
    for _, nbytes in events:
        current += nbytes
        peak = max(peak, current)
    return peak


def run_isolated(script: str, args: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``script`` with ``args`` in a fresh interpreter and parse the JSON it prints last.

    ``env`` adds (or overrides) environment variables for the child, e.g.
    ``OMP_NUM_THREADS``. A child that fails raises ``subprocess.CalledProcessError``
    (its ``stderr`` holds the child's error output)."""
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_count(text: str) -> int:
    """``"0.25M"`` → 250000, ``"2k"`` → 2000, ``"16000000"`` → 16000000 (suffixes k, M, G)."""
    text = text.strip()
    scale = {"k": 10**3, "K": 10**3, "m": 10**6, "M": 10**6, "g": 10**9, "G": 10**9}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    try:
        value = float(number) * scale
    except ValueError:
        raise ValueError(f"expected a count such as 250000, 0.25M or 2k, got {text!r}") from None
    if value < 1 or value != int(value):
        raise ValueError(f"expected a positive whole count, got {text!r}")
    return int(value)


def fit_loglog_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``: the exponent ``b`` in
    ``y ≈ a · x^b`` (1 is linear growth). Needs two or more distinct ``x``."""
    import math

    if len(xs) != len(ys) or len(set(xs)) < 2 or min(xs) <= 0 or min(ys) <= 0:
        raise ValueError(f"need >= 2 distinct positive x and as many positive y, got {xs} and {ys}")
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def environment() -> str:
    import importlib.metadata as md

    versions = []
    for pkg in ("torch", "torch_geometric", "torch_scatter", "gnnkit"):
        try:
            versions.append(f"{pkg} {md.version(pkg.replace('_', '-'))}")
        except md.PackageNotFoundError:
            pass
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    return f"{platform.machine()} {device}; python {platform.python_version()}; " + ", ".join(versions)


def write_results(out, name: str, text: str, results: list[dict]) -> None:
    """Print ``text`` and, when ``out`` is a folder, save ``NAME.md`` (the
    table) and ``NAME.json`` (every number, with the environment) there."""
    from pathlib import Path

    print(text)
    if out is None:
        return
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps({"environment": environment(), "results": results}, indent=1))
    (out / f"{name}.md").write_text(text + "\n")


def table(rows: list[list[str]], header: list[str]) -> str:
    """A GitHub-markdown table."""
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])
