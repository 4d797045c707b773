"""The GPU suite of issue 20: correctness on CUDA, aggregation bandwidth, epochs against PyG, bf16, LightGCN.

One command, under 8 minutes on an H200, for the little GPU time a session is
lent; every figure goes to ``gpu_suite.json`` (all numbers, the environment,
the command and the commit) and ``gpu_suite.md`` (the tables) under ``--out``
(default ``$OUT``), rewritten after every part so that a run cut short keeps
what it measured.

    PYTHONPATH=. python benchmarks/gpu_suite.py --out $OUT        # the GPU, full sizes
    python benchmarks/gpu_suite.py --quick --out /tmp/suite        # CPU smoke run, tiny graphs

Parts, in order (``--parts`` runs some of them):

* ``correctness`` — GCNConv, SAGEConv, GATConv, LGConv and GraphConv on the
  device (Triton kernels) against the same layer on the CPU (torch kernels,
  fp32): forward output and every gradient. The error is
  ``max |got - ref| / max |ref|``, against the CPU in fp32; bounds fp32
  1e-5, bf16 3e-2, fp16 5e-3, and in half precision a gradient may also be
  up to twice as far off as the CPU's own kernels at that dtype (GAT's
  attention gradients cancel, so even the CPU is ~1e-1 off in bf16 there;
  the table shows both). Without CUDA it compares the Triton kernels in
  triton's CPU interpreter (``TRITON_INTERPRET=1``, set by this script when
  triton is installed) with the torch kernels.
* ``bandwidth`` — ``out = A @ x`` on a uniform and a power-law graph shaped
  like ogbn-products (2,449,029 nodes, 61,859,140 edges, 100 features), fp32
  and bf16: the Triton kernel alone, ``gnnkit.ops.spmm``, ``torch.sparse.mm``
  (cuSPARSE) and PyG's ``EdgeIndex`` product, as achieved GB/s and as a
  fraction of the measured device copy bandwidth (``benchmarks/spmm.py``).
* ``gcn_epoch`` — a full-batch 2-layer GCN epoch (hidden 256, forward,
  cross-entropy, backward, Adam) on a products-shaped power-law graph (47
  classes): gnnkit against PyG's ``GCNConv(cached=True)`` on ``edge_index``
  and on a sparse-CSR ``adj_t``.
* ``bf16`` — the same epoch for gnnkit in fp32, under bf16 autocast, and with
  model and features cast to bf16, and PyG's CSR path under autocast; plus
  test accuracy after 200 epochs on a Cora-shaped synthetic graph (2,708
  nodes, 5,278 edges, 1,433 features, 7 classes), fp32 against bf16 autocast.
* ``sage_epoch`` — one mini-batch GraphSAGE epoch on the products-shaped graph
  (3 layers of 256, fan-out 15,10,5, batches of 1024, 8 % training nodes):
  gnnkit samples on the device, PyG's ``NeighborLoader`` on the CPU as in its
  ``ogbn_products_sage.py`` example.
* ``lightgcn`` — one LightGCN epoch (64 dims, 3 layers, BPR, batches of 2048,
  one uniform negative per positive) and one full-ranking evaluation
  (recall@20 over all items, training items masked) on a Gowalla-sized
  synthetic bipartite graph (29,858 users, 40,981 items, 1,027,370
  interactions, 80/20 split): gnnkit's ``LightGCN`` against PyG's, same
  batches, same evaluation code.

Timed contenders run in alternation (a, b, c, a, b, c, ...) after one
untimed warm-up; each gets ``--repeats`` rounds (default 5) unless the part's
time cap ends the rounds first (at least one is always run); min and median
are reported. Peak memory is ``torch.cuda.max_memory_allocated`` reset before
each timed call, minus what was allocated just before it (the call's working
memory); ``resident`` is what the contender keeps between calls (model,
optimiser, cached adjacency). A part is skipped, with the reason printed and
saved, when what it needs is missing (CUDA for the large parts unless
``--quick``; triton for the Triton rows; torch_geometric for the PyG
contenders, which are then left out while gnnkit is still timed).
"""
from __future__ import annotations

import argparse
import copy
import gc
import importlib.util
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import environment, skewed_graph, table  # noqa: E402

PARTS = ("correctness", "bandwidth", "gcn_epoch", "backend", "bf16", "sage_epoch", "lightgcn")
# Error bounds of the correctness part, max |got - ref| / max |ref| against the CPU in fp32. In half precision a
# gradient may also be up to twice as far off as the CPU's own torch kernels at that dtype: GAT's attention
# gradients cancel (a softmax's derivative sums to zero over a row), so there even the CPU is ~1e-1 off in bf16.
BOUNDS = {"fp32": 1e-5, "bf16": 3e-2, "fp16": 5e-3}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Goals of issues 6 and 20 that these figures decide.
COPY_FRACTION_GOAL, EPOCH_SPEEDUP_GOAL, BF16_SPEEDUP_GOAL = 0.70, 2.0, 1.5


@dataclass(frozen=True)
class Sizes:
    """Graph sizes and time caps of one run (``FULL`` on the GPU, ``QUICK`` for a CPU smoke run)."""

    products: tuple[int, int, int, int] = (2_449_029, 61_859_140, 100, 47)  # nodes, edges, features, classes
    bandwidth: tuple[int, int, int] = (2_449_029, 61_859_140, 100)  # nodes, edges, features
    gowalla: tuple[int, int, int] = (29_858, 40_981, 1_027_370)  # users, items, interactions
    cora: tuple[int, int, int, int] = (2_708, 5_278, 1_433, 7)  # nodes, edges, features, classes
    correctness: tuple[int, int, int, int] = (3_000, 30_000, 32, 300)  # nodes, edges, features, hub degree
    hidden: int = 256
    fanout: tuple[int, ...] = (15, 10, 5)
    batch_size: int = 1024
    train_fraction: float = 0.08  # of the nodes, for the mini-batch epoch (ogbn-products: 8 %)
    cora_epochs: int = 200
    rec_batch: int = 2048
    # seconds each part may spend timing (setup included); the run as a whole stops at --max-seconds
    caps: dict = field(default_factory=lambda: {"correctness": 60, "bandwidth": 60, "gcn_epoch": 75, "backend": 75,
                                                "bf16": 50, "sage_epoch": 150, "lightgcn": 60})


FULL = Sizes()
QUICK = Sizes(products=(2_449, 61_859, 100, 47), bandwidth=(24_490, 618_591, 100), gowalla=(299, 410, 10_274),
              cora=(500, 1_000, 64, 7), correctness=(60, 200, 8, 300), hidden=64, batch_size=64, cora_epochs=30,
              rec_batch=512, caps={"correctness": 60, "bandwidth": 30, "gcn_epoch": 30, "backend": 30, "bf16": 30,
                                   "sage_epoch": 30, "lightgcn": 30})


class Skip(Exception):
    """A part cannot run here; the message says why."""


@dataclass
class Context:
    """What a part needs: where it runs, how big, until when, and graphs shared between parts."""

    device: torch.device
    sizes: Sizes
    repeats: int
    deadline: float = float("inf")
    shared: dict = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def time_left(self) -> float:
        return self.deadline - time.monotonic()


# ---------------------------------------------------------------- what is missing

def triton_reason(device: torch.device) -> str | None:
    """Why the Triton kernels cannot run on ``device`` (``None`` when they can)."""
    from gnnkit.ops import triton as triton_ops

    return triton_ops.unsupported_reason(device, torch.float32)


def pyg_reason() -> str | None:
    """Why PyG cannot be timed (``None`` when it can)."""
    try:
        import torch_geometric  # noqa: F401
    except Exception as err:  # noqa: BLE001 - a broken install is as missing as an absent one
        return f"torch_geometric is not importable ({type(err).__name__}); pip install torch-geometric"
    return None


def need_cuda(ctx: Context, quick: bool) -> None:
    if not ctx.cuda and not quick:
        raise Skip("needs CUDA (torch.cuda.is_available() is False); --quick runs it on the CPU at toy size")


# ---------------------------------------------------------------- timing

def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, float | None]:
    """Seconds of one call, and the MiB it allocated at its peak above what was allocated before it (CUDA)."""
    cuda = device.type == "cuda"
    sync(device)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    start = time.perf_counter()
    fn()
    sync(device)
    seconds = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20 if cuda else None
    return seconds, peak


def error_note(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err).strip().splitlines()[0][:100] if str(err).strip() else ''}"


def alternate(fns: dict[str, Callable[[], object]], ctx: Context, repeats: int | None = None,
              warmup: int = 1) -> dict[str, dict]:
    """Time each function in alternation after ``warmup`` untimed rounds.

    Stops after ``repeats`` rounds or at the part's deadline (after at least
    one timed round). A function that raises (e.g. out of memory) is dropped
    and its error kept. Returns name → {times, min_s, median_s, repeats,
    peak_mib, note?}.
    """
    repeats = ctx.repeats if repeats is None else repeats
    stats: dict[str, dict] = {name: {"times": [], "peaks": []} for name in fns}
    live = dict(fns)

    def run(name: str, record: bool) -> None:
        try:
            seconds, peak = timed(live[name], ctx.device)
        except Exception as err:  # noqa: BLE001 - reported in the table, the others go on
            stats[name]["note"] = error_note(err)
            del live[name]
            del err
            free_memory(ctx.device)
            return
        if record:
            stats[name]["times"].append(seconds)
            stats[name]["peaks"].append(peak)

    for _ in range(warmup):
        for name in list(live):
            run(name, record=False)
    for r in range(repeats):
        if r and ctx.time_left() < 0:
            for s in stats.values():
                s.setdefault("note", f"stopped at the part's time cap after {r} of {repeats} rounds")
            break
        for name in list(live):
            run(name, record=True)
    for s in stats.values():
        times, peaks = s.pop("times"), s.pop("peaks")
        s["times_s"] = times
        s["repeats"] = len(times)
        if times:
            s["min_s"], s["median_s"] = min(times), statistics.median(times)
        peaks = [p for p in peaks if p is not None]
        s["peak_mib"] = max(peaks) if peaks else None
    return stats


def resident_mib(device: torch.device, before: int) -> float | None:
    if device.type != "cuda":
        return None
    sync(device)
    return (torch.cuda.memory_allocated(device) - before) / 2**20


def allocated(device: torch.device) -> int:
    return torch.cuda.memory_allocated(device) if device.type == "cuda" else 0


@contextmanager
def spmm_backend(name: str):
    from gnnkit.ops.sparse import get_spmm_backend, set_spmm_backend

    previous = get_spmm_backend()
    set_spmm_backend(name)
    try:
        yield
    finally:
        set_spmm_backend(previous)


def fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


# ---------------------------------------------------------------- graphs

def uniform_graph(num_nodes: int, num_edges: int, seed: int = 0, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[2, E]`` edges with uniform random sources and targets."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, num_nodes, (2, num_edges), generator=g).to(device)


def products_case(ctx: Context) -> dict:
    """The products-shaped graph (power-law, 47 random classes), built once and shared by the epoch parts.

    Host copies stay for PyG's mini-batch loader, which samples on the CPU."""
    if "products" not in ctx.shared:
        n, e, f, c = ctx.sizes.products
        g = torch.Generator().manual_seed(1)
        ei = skewed_graph(n, e, seed=0)
        x = torch.randn(n, f, generator=g)
        y = torch.randint(0, c, (n,), generator=g)
        full_train = torch.rand(n, generator=g) < 0.5  # full-batch: loss on half the nodes (benchmarks/epoch.py)
        seeds = torch.randperm(n, generator=g)[: max(1, int(ctx.sizes.train_fraction * n))]
        dev = ctx.device
        ctx.shared["products"] = {
            "edge_index": ei.to(dev), "x": x.to(dev), "y": y.to(dev), "train": full_train.to(dev),
            "seeds": seeds.to(dev), "sizes": (n, e, f, c), "hidden": ctx.sizes.hidden,
            "host": {"edge_index": ei, "x": x, "y": y, "seeds": seeds},
        }
    return ctx.shared["products"]


def bipartite_interactions(num_users: int, num_items: int, num_interactions: int, seed: int = 0):
    """Distinct (user, item) pairs with skewed activity and popularity, split 80/20 at random.

    Returns ``(train_users, train_items, test_users, test_items)``."""
    if num_interactions > num_users * num_items:
        raise ValueError(f"{num_interactions} interactions do not fit {num_users} users x {num_items} items")
    g = torch.Generator().manual_seed(seed)
    user_perm, item_perm = torch.randperm(num_users, generator=g), torch.randperm(num_items, generator=g)
    keys = torch.empty(0, dtype=torch.long)
    while keys.numel() < num_interactions:
        m = 2 * (num_interactions - keys.numel()) + 1000
        u = user_perm[(torch.rand(m, generator=g).pow(1.5) * num_users).long()]
        i = item_perm[(torch.rand(m, generator=g).pow(2.5) * num_items).long()]
        keys = torch.unique(torch.cat([keys, u * num_items + i]))
    keys = keys[torch.randperm(keys.numel(), generator=g)[:num_interactions]]
    test = torch.rand(num_interactions, generator=g) < 0.2
    users, items = keys // num_items, keys % num_items
    return users[~test], items[~test], users[test], items[test]


# ---------------------------------------------------------------- part 1: correctness

def layer_factories(f: int) -> dict[str, tuple[Callable[[], torch.nn.Module], bool]]:
    """name → (constructor, takes edge weights in this check)."""
    from gnnkit.nn import GATConv, GCNConv, GraphConv, LGConv, SAGEConv

    return {
        "GCNConv": (lambda: GCNConv(f, f), True),
        "SAGEConv": (lambda: SAGEConv(f, f), False),
        "GATConv": (lambda: GATConv(f, max(1, f // 4), heads=4), False),
        "LGConv": (lambda: LGConv(), True),
        "GraphConv": (lambda: GraphConv(f, f), True),
    }


def relative_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    """``max |got - ref| / max |ref|`` in float64 (``inf`` on a shape mismatch or a non-finite value)."""
    if got.shape != ref.shape:
        return float("inf")
    got, ref = got.detach().double().cpu(), ref.detach().double().cpu()
    if not torch.isfinite(got).all():
        return float("inf")
    scale = ref.abs().max().item() if ref.numel() else 0.0
    return (got - ref).abs().max().item() / max(scale, 1e-30) if ref.numel() else 0.0


def forward_backward(layer: torch.nn.Module, x, edge_index, edge_weight, probe) -> dict[str, torch.Tensor]:
    """Output and the gradients of ``Σ out · probe`` for ``x`` and every parameter."""
    x = x.detach().clone().requires_grad_(True)
    out = layer(x, edge_index, edge_weight)
    (out.float() * probe).sum().backward()
    tensors = {"out": out.detach(), "grad x": x.grad}
    tensors.update({f"grad {name}": p.grad for name, p in layer.named_parameters()})
    return tensors


def correctness_graph(num_nodes: int, num_edges: int, hub_degree: int, seed: int = 0):
    """A power-law graph plus one hub whose degree passes the long-row threshold (chunked kernel path)."""
    g = torch.Generator().manual_seed(seed)
    ei = skewed_graph(num_nodes, num_edges, seed=seed)
    hub = torch.stack([torch.randint(0, num_nodes, (hub_degree,), generator=g), torch.zeros(hub_degree, dtype=torch.long)])
    ei = torch.cat([ei, hub], dim=1)
    return ei, torch.rand(ei.size(1), generator=g) + 0.1


def check_layers(device: torch.device, backend: str, dtypes: list[str], sizes: tuple[int, int, int, int],
                 deadline: float = float("inf")) -> list[dict]:
    """Every layer on ``device`` with spmm backend ``backend``, against the CPU torch-kernel fp32 result."""
    n, e, f, hub = sizes
    ei, w = correctness_graph(n, e, hub)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(n, f, generator=g)
    rows = []
    for name, (make, weighted) in layer_factories(f).items():
        torch.manual_seed(0)
        reference_layer = make()
        weight = w if weighted else None
        with torch.no_grad():
            width = reference_layer(x, ei, weight).size(1)
        probe = torch.randn(n, width, generator=g)
        with spmm_backend("torch"):
            ref = forward_backward(reference_layer, x, ei, weight, probe)
        for dname in dtypes:
            row = {"layer": name, "dtype": dname, "bound": BOUNDS[dname], "device": str(device), "backend": backend}
            if time.monotonic() > deadline:
                row["note"] = "not run: the part's time cap was reached"
                rows.append(row)
                continue
            dtype = DTYPES[dname]

            def run(where: torch.device, kernels: str) -> dict[str, torch.Tensor]:
                layer = copy.deepcopy(reference_layer).to(device=where, dtype=dtype)
                with spmm_backend(kernels):
                    got = forward_backward(layer, x.to(where, dtype), ei.to(where),
                                           None if weight is None else weight.to(where), probe.to(where))
                sync(where)
                return got

            try:
                errors = {k: relative_error(v, ref[k]) for k, v in run(device, backend).items()}
            except Exception as err:  # noqa: BLE001 - a crash is a failed check, reported as such
                row.update(note=error_note(err), passed=False)
                rows.append(row)
                continue
            row.update(forward_error=errors["out"], grad_error=max(v for k, v in errors.items() if k != "out"),
                       errors=errors)
            allowed = dict.fromkeys(errors, BOUNDS[dname])
            if dname != "fp32":  # what the CPU's torch kernels lose at this dtype: a gradient may lose twice that
                try:
                    cpu = {k: relative_error(v, ref[k]) for k, v in run(torch.device("cpu"), "torch").items()}
                    row.update(cpu_forward_error=cpu["out"], cpu_grad_error=max(v for k, v in cpu.items() if k != "out"))
                    allowed.update({k: max(BOUNDS[dname], 2 * v) for k, v in cpu.items() if k != "out"})
                except Exception as err:  # noqa: BLE001 - e.g. a dtype the CPU lacks: the fixed bound stays
                    row["note"] = f"CPU at {dname}: {error_note(err)}"
            row["passed"] = all(v <= allowed[k] for k, v in errors.items())
            rows.append(row)
    return rows


def part_correctness(ctx: Context, quick: bool) -> dict:
    if ctx.cuda:
        reason = triton_reason(ctx.device)
        backend = "triton"  # "auto" is torch's cuSPARSE: the Triton kernels are checked by name
    else:
        reason = triton_reason(torch.device("cpu"))
        if reason is not None:
            reason += "; without CUDA this part checks the Triton kernels in triton's interpreter (TRITON_INTERPRET=1)"
        backend = "triton"
    if reason is not None:
        raise Skip(reason)
    rows = check_layers(ctx.device, backend, list(DTYPES), ctx.sizes.correctness, ctx.deadline)
    n, e, f, hub = ctx.sizes.correctness
    where = "CUDA (Triton kernels)" if ctx.cuda else "CPU (Triton kernels in triton's interpreter)"
    lines = [[r["layer"], r["dtype"], f"{r['bound']:.0e}",
              fmt(r.get("forward_error"), ".1e"), fmt(r.get("grad_error"), ".1e"),
              "yes" if r.get("passed") else ("no" if "passed" in r else "-"),
              f"{fmt(r.get('cpu_forward_error'), '.1e')} / {fmt(r.get('cpu_grad_error'), '.1e')}", r.get("note", "")]
             for r in rows]
    text = (f"{where} against the CPU torch kernels in fp32; graph {n} nodes, {e + hub} edges (one hub of "
            f"{hub}), {f} features; error = max |got - ref| / max |ref| against fp32 on the CPU; in half precision a "
            f"gradient passes also within twice the CPU's own error at that dtype\n\n"
            + table(lines, ["layer", "dtype", "bound", "forward error", "max gradient error", "within bound",
                            "CPU torch kernels at this dtype (fwd / grad)", "note"]))
    failed = [f"{r['layer']}/{r['dtype']}" for r in rows if r.get("passed") is False]
    return {"rows": rows, "text": text, "failed_checks": failed}


# ---------------------------------------------------------------- part 2: aggregation bandwidth

def part_bandwidth(ctx: Context, quick: bool) -> dict:
    need_cuda(ctx, quick)
    from benchmarks.spmm import contenders, copy_bandwidth, moved_bytes
    from gnnkit.ops import build_csr

    device = str(ctx.device)
    copy_bytes = 2**30 if ctx.cuda else 2**26
    copy_bw = copy_bandwidth(device, copy_bytes)
    n, e, f = ctx.sizes.bandwidth
    rows = []
    for gname, make in (("uniform", uniform_graph), ("power-law", skewed_graph)):
        ei = make(n, e, seed=0).to(ctx.device)
        csr = build_csr(ei, n, torch.rand(e, device=ctx.device) + 0.1)
        del ei
        for dname in ("fp32", "bf16"):
            if ctx.time_left() < 0:
                rows.append({"graph": gname, "dtype": dname, "impl": "all", "note": "not run: time cap reached"})
                continue
            x = torch.randn(n, f, device=ctx.device).to(DTYPES[dname])
            fns = contenders(csr, x, device)
            runnable = {k: v for k, v in fns.items() if callable(v)}
            # every contender against one fp32 product (cuSPARSE's bf16 product differs from itself run to run)
            rowptr, col = csr._kernel_indices()
            exact = torch.sparse_csr_tensor(rowptr, col, csr.value.float(), (n, n))
            ref = torch.sparse.mm(exact, x.float())
            agree = {k: relative_error(fn().float(), ref) for k, fn in runnable.items()}
            del exact, ref
            stats = alternate(runnable, ctx, repeats=max(ctx.repeats, 10), warmup=2)
            nbytes = moved_bytes(csr, x)
            base = stats.get("torch.sparse.mm", {}).get("median_s")
            for impl, fn in fns.items():
                row = {"graph": gname, "nodes": n, "edges": e, "features": f, "dtype": dname, "impl": impl,
                       "bytes": nbytes}
                if not callable(fn):
                    row["note"] = fn
                elif "median_s" not in stats[impl]:
                    row["note"] = stats[impl].get("note", "no timing")
                else:
                    s = stats[impl]
                    t = s["median_s"]
                    row.update(min_ms=1e3 * s["min_s"], median_ms=1e3 * t, repeats=s["repeats"],
                               gbps=nbytes / t / 1e9, copy_fraction=nbytes / t / copy_bw,
                               vs_torch_sparse=None if base is None else base / t,
                               error_vs_fp32=agree.get(impl))
                rows.append(row)
            del x
        del csr
        free_memory(ctx.device)
    lines = []
    for r in rows:
        if "median_ms" in r:
            lines.append([r["graph"], r["dtype"], r["impl"], f"{r['min_ms']:.2f}", f"{r['median_ms']:.2f}",
                          f"{r['gbps']:.0f}", f"{100 * r['copy_fraction']:.0f}%", fmt(r["vs_torch_sparse"], ".2f", "x"),
                          fmt(r["error_vs_fp32"], ".0e")])
        else:
            lines.append([r["graph"], r["dtype"], r["impl"], r["note"], "", "", "", "", ""])
    text = (f"{n:,} nodes, {e:,} edges, {f} features; bytes = CSR + one gathered row per entry + output; "
            f"device copy bandwidth {copy_bw / 1e9:.0f} GB/s ({copy_bytes // 2**20} MiB copy_, read + write counted)\n\n"
            + table(lines, ["graph", "dtype", "impl", "min ms", "median ms", "GB/s", "of copy BW",
                            "speed vs torch.sparse.mm", "error vs fp32 product"]))
    return {"rows": rows, "copy_gbps": copy_bw / 1e9, "text": text}


# ---------------------------------------------------------------- parts 3 and 4: full-batch GCN epoch, bf16

def full_batch_step(model, graph, case: dict, amp: torch.dtype | None, cast: torch.dtype | None):
    """One epoch: forward (under autocast when ``amp``), cross-entropy on the training half, backward, Adam."""
    x = case["x"] if cast is None else case["x"].to(cast)
    y, train = case["y"], case["train"]
    device_type = x.device.type
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=amp or torch.bfloat16, enabled=amp is not None):
            out = model(x, graph)
        loss = F.cross_entropy(out[train].float(), y[train])
        loss.backward()
        opt.step()

    return step


def gcn_contenders(ctx: Context, case: dict, variants: list[tuple[str, str, torch.dtype | None, torch.dtype | None]]):
    """name → (step, resident MiB) for each (name, impl, amp dtype, cast dtype); a failure gives a note instead."""
    from benchmarks.epoch import build

    out: dict = {}
    for name, impl, amp, cast in variants:
        if impl.startswith("pyg") and pyg_reason() is not None:
            out[name] = pyg_reason()
            continue
        before = allocated(ctx.device)
        try:
            model, graph = build(impl, case, cast or torch.float32, str(ctx.device))
            step = full_batch_step(model, graph, case, amp, cast)
            step()  # builds the caches (CSR, normalisation) and the optimiser state: resident from here on
            out[name] = (step, resident_mib(ctx.device, before))
        except Exception as err:  # noqa: BLE001 - e.g. out of memory; reported, the others go on
            out[name] = error_note(err)
            del err
            free_memory(ctx.device)
    return out


def epoch_rows(contenders: dict, stats: dict, base_names: list[str]) -> list[dict]:
    rows = []
    base = min((stats[b]["median_s"] for b in base_names if b in stats and "median_s" in stats[b]), default=None)
    for name, value in contenders.items():
        row = {"contender": name}
        if isinstance(value, str):
            row["note"] = value
        else:
            s = stats[name]
            row.update({k: s[k] for k in ("times_s", "repeats", "peak_mib") if k in s}, resident_mib=value[1])
            if "median_s" in s:
                row.update(min_s=s["min_s"], median_s=s["median_s"],
                           speedup_vs_pyg=None if base is None else base / s["median_s"])
            if "note" in s:
                row["note"] = s["note"]
        rows.append(row)
    return rows


def epoch_table(rows: list[dict], unit: float = 1e3, label: str = "ms") -> str:
    lines = []
    for r in rows:
        if "median_s" in r:
            lines.append([r["contender"], f"{unit * r['min_s']:.1f}", f"{unit * r['median_s']:.1f}", r["repeats"],
                          fmt(r.get("peak_mib"), ".0f"), fmt(r.get("resident_mib"), ".0f"),
                          fmt(r.get("speedup_vs_pyg"), ".2f", "x"), r.get("note", "")])
        else:
            lines.append([r["contender"], "-", "-", r.get("repeats", 0), "-", "-", "-", r.get("note", "")])
    return table(lines, ["contender", f"min {label}", f"median {label}", "repeats", "step peak MiB", "resident MiB",
                         "speed vs best PyG", "note"])


def part_gcn_epoch(ctx: Context, quick: bool) -> dict:
    need_cuda(ctx, quick)
    case = products_case(ctx)
    fp32 = None
    contenders = gcn_contenders(ctx, case, [("gnnkit", "gnnkit", fp32, fp32), ("pyg csr", "pyg csr", fp32, fp32),
                                            ("pyg edge_index", "pyg edge_index", fp32, fp32)])
    stats = alternate({k: v[0] for k, v in contenders.items() if not isinstance(v, str)}, ctx)
    rows = epoch_rows(contenders, stats, ["pyg csr", "pyg edge_index"])
    del contenders, stats
    free_memory(ctx.device)
    n, e, f, c = case["sizes"]
    text = (f"2-layer GCN, hidden {case['hidden']}, fp32, on {n:,} nodes / {e:,} edges (power-law) / {f} features / "
            f"{c} classes; one epoch = forward, cross-entropy, backward, Adam\n\n" + epoch_table(rows))
    return {"rows": rows, "text": text}


def part_backend(ctx: Context, quick: bool) -> dict:
    """gnnkit's GCN epoch with each SpMM backend (Triton kernels vs torch/cuSPARSE), fp32 and bf16, alternating:
    which one ``set_spmm_backend("auto")`` should pick on CUDA."""
    need_cuda(ctx, quick)
    case = products_case(ctx)
    backends = ("triton", "torch") if ctx.cuda else ("torch",)  # Triton on the CPU is its slow interpreter
    variants = [(f"gnnkit {b} {d}", b, dt) for d, dt in (("fp32", None), ("bf16", torch.bfloat16)) for b in backends]
    steps: dict = {}
    for name, backend, cast in variants:
        with spmm_backend(backend):
            built = gcn_contenders(ctx, case, [(name, "gnnkit", None, cast)])[name]
        if isinstance(built, str):
            steps[name] = built
            continue

        def run(step=built[0], backend=backend):
            with spmm_backend(backend):
                step()
        steps[name] = (run, built[1])
    stats = alternate({k: v[0] for k, v in steps.items() if not isinstance(v, str)}, ctx)
    rows = epoch_rows(steps, stats, [])
    del steps, stats
    free_memory(ctx.device)
    return {"rows": rows, "text": "2-layer GCN epoch on the products-shaped graph by SpMM backend\n\n"
            + epoch_table(rows)}


def cora_accuracy(ctx: Context, amp: torch.dtype | None) -> float:
    """Test accuracy of gnnkit's GCN (16 hidden, dropout 0.5, Adam 0.01, weight decay 5e-4) after a fixed number of epochs."""
    from gnnkit.datasets import synthetic
    from gnnkit.nn.models import GCN

    n, e, f, c = ctx.sizes.cora
    graph = synthetic(num_nodes=n, num_edges=e, num_features=f, num_classes=c, seed=0,
                      split=(140 / 2708, 500 / 2708, 1 - 640 / 2708)).to(ctx.device)
    torch.manual_seed(0)
    model = GCN(f, 16, c).to(ctx.device)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(ctx.sizes.cora_epochs):
        model.train()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(ctx.device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
            out = model(graph.x, graph.edge_index)
        F.cross_entropy(out[graph.train_mask].float(), graph.y[graph.train_mask]).backward()
        opt.step()
    model.eval()
    with torch.no_grad(), torch.autocast(ctx.device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
        pred = model(graph.x, graph.edge_index).argmax(1)
    return float((pred[graph.test_mask] == graph.y[graph.test_mask]).float().mean())


def part_bf16(ctx: Context, quick: bool) -> dict:
    need_cuda(ctx, quick)
    case = products_case(ctx)
    bf16 = torch.bfloat16
    contenders = gcn_contenders(ctx, case, [
        ("gnnkit fp32", "gnnkit", None, None),
        ("gnnkit bf16 autocast", "gnnkit", bf16, None),
        ("gnnkit bf16 cast", "gnnkit", None, bf16),
        ("pyg csr fp32", "pyg csr", None, None),
        ("pyg csr bf16 autocast", "pyg csr", bf16, None),
    ])
    stats = alternate({k: v[0] for k, v in contenders.items() if not isinstance(v, str)}, ctx)
    rows = epoch_rows(contenders, stats, ["pyg csr fp32"])
    del contenders, stats
    free_memory(ctx.device)
    own = next((r["median_s"] for r in rows if r["contender"] == "gnnkit fp32" and "median_s" in r), None)
    for r in rows:
        r["speedup_vs_own_fp32"] = None if own is None or "median_s" not in r else own / r["median_s"]
    accuracy = {}
    if ctx.time_left() > 0:
        accuracy = {"fp32": cora_accuracy(ctx, None), "bf16 autocast": cora_accuracy(ctx, bf16)}
    n, e, f, c = case["sizes"]
    lines = [[r["contender"], fmt(r.get("min_s") and 1e3 * r["min_s"]), fmt(r.get("median_s") and 1e3 * r["median_s"]),
              fmt(r.get("peak_mib"), ".0f"), fmt(r.get("speedup_vs_own_fp32"), ".2f", "x"), r.get("note", "")]
             for r in rows]
    cn, ce, cf, cc = ctx.sizes.cora
    acc = ("\n\nCora-shaped synthetic graph (" f"{cn} nodes, {ce} edges, {cf} features, {cc} classes), gnnkit GCN, "
           f"{ctx.sizes.cora_epochs} epochs, test accuracy: "
           + ", ".join(f"{k} {100 * v:.1f}%" for k, v in accuracy.items())) if accuracy else "\n\n(accuracy not run: time cap)"
    text = (f"the GCN epoch of gcn_epoch ({n:,} nodes, {e:,} edges, hidden {case['hidden']}); 'autocast' keeps fp32 "
            f"weights, 'cast' converts model and features to bf16\n\n"
            + table(lines, ["contender", "min ms", "median ms", "step peak MiB", "speed vs gnnkit fp32", "note"]) + acc)
    return {"rows": rows, "accuracy": accuracy, "text": text}


# ---------------------------------------------------------------- part 5: mini-batch GraphSAGE epoch

def part_sage_epoch(ctx: Context, quick: bool) -> dict:
    need_cuda(ctx, quick)
    from benchmarks.minibatch import pyg_model, train_step
    from gnnkit.graph import Graph
    from gnnkit.loader import NeighborLoader
    from gnnkit.nn.models import GraphSAGE

    case = products_case(ctx)
    n, e, f, c = case["sizes"]
    sz = ctx.sizes
    fanout = list(sz.fanout)
    dev = ctx.device
    contenders: dict = {}

    # gnnkit: graph on the device, sampled there
    before = allocated(dev)
    graph = Graph(x=case["x"], edge_index=case["edge_index"], y=case["y"], num_nodes=n)
    graph.csr()
    torch.manual_seed(0)
    ours = GraphSAGE(f, sz.hidden, c, num_layers=len(fanout), dropout=0.5).to(dev)
    ours_opt = torch.optim.Adam(ours.parameters(), lr=0.003)
    rounds = iter(range(10**6))

    def gnnkit_epoch(limit: int | None = None) -> None:
        ours.train()
        loader = NeighborLoader(graph, fanout, batch_size=sz.batch_size, input_nodes=case["seeds"], shuffle=True,
                                seed=next(rounds))
        for k, batch in enumerate(loader):
            if limit is not None and k == limit:
                break
            sub = batch.graph
            train_step(ours, ours_opt, sub.x, sub.edge_index, sub.y, batch.batch_size)

    gnnkit_epoch(limit=2)  # CSR, kernels, optimiser state
    contenders["gnnkit"] = (gnnkit_epoch, resident_mib(dev, before))

    # PyG: its example's loader over host memory, each batch copied to the device
    reason = pyg_reason()
    if reason is None:
        from benchmarks.sampling import pyg_backend

        backend = pyg_backend()
        if backend.startswith("none"):
            reason = f"PyG's NeighborLoader has no sampler here: {backend}"
    if reason is not None:
        contenders["pyg"] = reason
    else:
        from torch_geometric.data import Data
        from torch_geometric.loader import NeighborLoader as PygLoader

        host = case["host"]
        before = allocated(dev)
        data = Data(x=host["x"], edge_index=host["edge_index"], y=host["y"], num_nodes=n)
        loader = PygLoader(data, input_nodes=host["seeds"], num_neighbors=fanout, shuffle=True,
                           batch_size=sz.batch_size)
        torch.manual_seed(0)
        peer = pyg_model(f, sz.hidden, c, len(fanout), 0.5).to(dev)
        peer_opt = torch.optim.Adam(peer.parameters(), lr=0.003)

        def pyg_epoch(limit: int | None = None) -> None:
            peer.train()
            for k, batch in enumerate(loader):
                if limit is not None and k == limit:
                    break
                batch = batch.to(dev)
                train_step(peer, peer_opt, batch.x, batch.edge_index, batch.y, batch.batch_size)

        try:
            pyg_epoch(limit=2)  # PyG converts the graph to CSC on its first batch
            contenders["pyg"] = (pyg_epoch, resident_mib(dev, before))
        except Exception as err:  # noqa: BLE001 - reported
            contenders["pyg"] = error_note(err)
    stats = alternate({k: v[0] for k, v in contenders.items() if not isinstance(v, str)}, ctx, warmup=0)
    rows = epoch_rows(contenders, stats, ["pyg"])
    batches = -(-case["seeds"].numel() // sz.batch_size)
    del contenders, stats, graph, ours, ours_opt
    free_memory(dev)
    text = (f"3-layer GraphSAGE (mean), hidden {sz.hidden}, fan-out {','.join(map(str, fanout))}, batch "
            f"{sz.batch_size}, {case['seeds'].numel():,} training nodes ({batches} batches) on {n:,} nodes / "
            f"{e:,} edges; gnnkit samples on the device, PyG on the CPU (its example)\n\n"
            + epoch_table(rows, unit=1.0, label="s"))
    return {"rows": rows, "text": text}


# ---------------------------------------------------------------- part 6: LightGCN on a Gowalla-sized graph

class RankingEval:
    """Recall@k over all items with each user's training items masked, users in blocks (one code for both libraries)."""

    def __init__(self, num_users: int, num_items: int, train: tuple, test: tuple, device, k: int = 20,
                 block: int = 4096) -> None:
        self.num_users, self.num_items, self.k, self.block = num_users, num_items, k, block
        self.train = self._by_user(*train, device)
        self.test = self._by_user(*test, device)
        self.test_count = torch.bincount(test[0], minlength=num_users).to(device)

    def _by_user(self, users, items, device):
        order = torch.argsort(users * self.num_items + items)
        users, items = users[order], items[order]
        ptr = torch.zeros(self.num_users + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(users, minlength=self.num_users), 0, out=ptr[1:])
        return ptr.tolist(), users.to(device), items.to(device)

    @torch.no_grad()
    def __call__(self, user_emb: torch.Tensor, item_emb: torch.Tensor) -> float:
        recall = torch.zeros((), device=user_emb.device, dtype=torch.float64)
        for start in range(0, self.num_users, self.block):
            end = min(start + self.block, self.num_users)
            scores = user_emb[start:end] @ item_emb.t()
            ptr, users, items = self.train
            scores[users[ptr[start]:ptr[end]] - start, items[ptr[start]:ptr[end]]] = float("-inf")
            top = scores.topk(self.k, dim=1).indices
            ptr, users, items = self.test
            truth = torch.zeros_like(scores, dtype=torch.bool)
            truth[users[ptr[start]:ptr[end]] - start, items[ptr[start]:ptr[end]]] = True
            hits = truth.gather(1, top).sum(1)
            count = self.test_count[start:end]
            recall += (hits / count.clamp(min=1)).double()[count > 0].sum()
        return float(recall / (self.test_count > 0).sum())


def part_lightgcn(ctx: Context, quick: bool) -> dict:
    need_cuda(ctx, quick)
    from gnnkit.nn.models import LightGCN

    nu, ni, m = ctx.sizes.gowalla
    dev = ctx.device
    tu, ti, su, si = bipartite_interactions(nu, ni, m, seed=0)
    evaluate = RankingEval(nu, ni, (tu, ti), (su, si), dev)
    train_u, train_i = tu.to(dev), ti.to(dev)
    edge_index = torch.cat([torch.stack([train_u, train_i + nu]), torch.stack([train_i + nu, train_u])], dim=1)
    bs, reg = ctx.sizes.rec_batch, 1e-4
    gen = torch.Generator(device=dev).manual_seed(0)
    current: dict = {}

    def new_round() -> None:  # the same shuffled batches and negatives for both libraries
        current["perm"] = torch.randperm(train_u.numel(), device=dev, generator=gen)
        current["neg"] = torch.randint(0, ni, (train_u.numel(),), device=dev, generator=gen)

    def batches():
        perm, neg = current["perm"], current["neg"]
        for start in range(0, perm.numel(), bs):
            idx = perm[start:start + bs]
            yield train_u[idx], train_i[idx], neg[idx]

    new_round()
    contenders: dict = {}
    evals: dict = {}
    recall: dict = {}

    before = allocated(dev)
    torch.manual_seed(0)
    ours = LightGCN(nu, ni, 64, 3).to(dev)
    ours_opt = torch.optim.Adam(ours.parameters(), lr=1e-3)

    def gnnkit_epoch() -> None:
        for u, p, q in batches():
            users, items = ours(edge_index)
            eu, ep, eq = users[u], items[p], items[q]
            loss = -F.logsigmoid((eu * ep).sum(-1) - (eu * eq).sum(-1)).mean()
            ego_u, ego_i = ours.ego_embeddings()
            loss = loss + reg * (ego_u[u].pow(2).sum() + ego_i[p].pow(2).sum() + ego_i[q].pow(2).sum()) / (2 * u.numel())
            ours_opt.zero_grad(set_to_none=True)
            loss.backward()
            ours_opt.step()

    def gnnkit_eval() -> None:
        with torch.no_grad():
            recall["gnnkit"] = evaluate(*ours(edge_index))

    contenders["gnnkit"] = (gnnkit_epoch, None)
    evals["gnnkit"] = gnnkit_eval
    ours(edge_index)  # the normalised adjacency, cached by LGConv
    contenders["gnnkit"] = (gnnkit_epoch, resident_mib(dev, before))

    reason = pyg_reason()
    if reason is not None:
        contenders["pyg"] = reason
    else:
        from torch_geometric.nn.models import LightGCN as PygLightGCN

        before = allocated(dev)
        torch.manual_seed(0)
        peer = PygLightGCN(nu + ni, embedding_dim=64, num_layers=3).to(dev)
        peer_opt = torch.optim.Adam(peer.parameters(), lr=1e-3)

        def pyg_epoch() -> None:  # torch_geometric/examples/lightgcn.py
            for u, p, q in batches():
                eli = torch.cat([torch.stack([u, p + nu]), torch.stack([u, q + nu])], dim=1)
                pos_rank, neg_rank = peer(edge_index, eli).chunk(2)
                loss = peer.recommendation_loss(pos_rank, neg_rank, node_id=eli.unique())
                peer_opt.zero_grad(set_to_none=True)
                loss.backward()
                peer_opt.step()

        def pyg_eval() -> None:
            with torch.no_grad():
                emb = peer.get_embedding(edge_index)
                recall["pyg"] = evaluate(emb[:nu], emb[nu:])

        contenders["pyg"] = (pyg_epoch, resident_mib(dev, before))
        evals["pyg"] = pyg_eval

    fns = {}
    for name, value in contenders.items():
        if not isinstance(value, str):
            fns[f"{name} epoch"] = value[0]
            fns[f"{name} evaluation"] = evals[name]
    fns["new round"] = new_round
    stats = alternate(fns, ctx)
    rows = []
    pyg_epoch_s = stats.get("pyg epoch", {}).get("median_s")
    pyg_eval_s = stats.get("pyg evaluation", {}).get("median_s")
    for name, value in contenders.items():
        row = {"contender": name}
        if isinstance(value, str):
            row["note"] = value
        else:
            ep, ev = stats[f"{name} epoch"], stats[f"{name} evaluation"]
            row.update(resident_mib=value[1], recall_at_20=recall.get(name), epoch=ep, evaluation=ev)
            if "median_s" in ep and "median_s" in ev:
                row.update(epoch_speedup_vs_pyg=None if pyg_epoch_s is None else pyg_epoch_s / ep["median_s"],
                           eval_speedup_vs_pyg=None if pyg_eval_s is None else pyg_eval_s / ev["median_s"])
            notes = [s["note"] for s in (ep, ev) if "note" in s]
            if notes:
                row["note"] = "; ".join(dict.fromkeys(notes))
        rows.append(row)
    del contenders, evals, fns
    free_memory(dev)
    lines = []
    for r in rows:
        if "epoch" in r and "median_s" in r["epoch"] and "median_s" in r["evaluation"]:
            ep, ev = r["epoch"], r["evaluation"]
            lines.append([r["contender"], f"{ep['min_s']:.2f}", f"{ep['median_s']:.2f}", f"{ev['min_s']:.3f}",
                          f"{ev['median_s']:.3f}", ep["repeats"], fmt(max(filter(None, [ep["peak_mib"], ev["peak_mib"]]),
                                                                          default=None), ".0f"),
                          fmt(r.get("epoch_speedup_vs_pyg"), ".2f", "x"), fmt(r.get("eval_speedup_vs_pyg"), ".2f", "x"),
                          fmt(r.get("recall_at_20"), ".4f"), r.get("note", "")])
        else:
            lines.append([r["contender"], "-", "-", "-", "-", "-", "-", "-", "-", "-", r.get("note", "")])
    batches_per_epoch = -(-train_u.numel() // bs)
    text = (f"{nu:,} users, {ni:,} items, {m:,} interactions ({train_u.numel():,} train / {su.numel():,} test); "
            f"64 dims, 3 layers, {batches_per_epoch} batches of {bs}; recall@20 after the timed epochs\n\n"
            + table(lines, ["contender", "epoch min s", "epoch median s", "eval min s", "eval median s", "repeats",
                            "peak MiB", "epoch speed vs pyg", "eval speed vs pyg", "recall@20", "note"]))
    return {"rows": rows, "text": text}


PART_FUNCTIONS = {"correctness": part_correctness, "bandwidth": part_bandwidth, "gcn_epoch": part_gcn_epoch,
                  "backend": part_backend,
                  "bf16": part_bf16, "sage_epoch": part_sage_epoch, "lightgcn": part_lightgcn}


# ---------------------------------------------------------------- goals, output

def goals(parts: dict, on_gpu: bool) -> list[dict]:
    """The issue's goals, each met / missed / not measured, from the figures of this run.

    The goals are about a GPU: a CPU run's figures are shown but not judged."""
    out = []

    def add(goal: str, value: str | None, met: bool | None) -> None:
        if met is None:
            status = "not measured"
        elif not on_gpu and not goal.startswith("every layer"):
            status = "not judged (CPU run)"
        else:
            status = "met" if met else "missed"
        out.append({"goal": goal, "figure": value or "not measured", "status": status})

    bw = parts.get("bandwidth", {}).get("rows", [])
    for gname in ("uniform", "power-law"):
        r = next((r for r in bw if r.get("graph") == gname and r.get("dtype") == "fp32"
                  and r.get("impl") == "gnnkit triton" and "copy_fraction" in r), None)
        add(f"Triton SpMM >= {COPY_FRACTION_GOAL:.0%} of copy bandwidth, {gname}, fp32",
            None if r is None else f"{100 * r['copy_fraction']:.0f}% ({r['gbps']:.0f} GB/s)",
            None if r is None else r["copy_fraction"] >= COPY_FRACTION_GOAL)
        add(f"Triton SpMM >= cuSPARSE, {gname}, fp32",
            None if r is None or r.get("vs_torch_sparse") is None else f"{r['vs_torch_sparse']:.2f}x",
            None if r is None or r.get("vs_torch_sparse") is None else r["vs_torch_sparse"] >= 1.0)
    gcn = next((r for r in parts.get("gcn_epoch", {}).get("rows", []) if r["contender"] == "gnnkit"), {})
    add(f"full-batch GCN epoch >= {EPOCH_SPEEDUP_GOAL:.0f}x PyG (best PyG path)",
        fmt(gcn.get("speedup_vs_pyg"), ".2f", "x") if gcn.get("speedup_vs_pyg") else None,
        None if gcn.get("speedup_vs_pyg") is None else gcn["speedup_vs_pyg"] >= EPOCH_SPEEDUP_GOAL)
    sage = next((r for r in parts.get("sage_epoch", {}).get("rows", []) if r["contender"] == "gnnkit"), {})
    add(f"mini-batch SAGE epoch >= {EPOCH_SPEEDUP_GOAL:.0f}x PyG",
        fmt(sage.get("speedup_vs_pyg"), ".2f", "x") if sage.get("speedup_vs_pyg") else None,
        None if sage.get("speedup_vs_pyg") is None else sage["speedup_vs_pyg"] >= EPOCH_SPEEDUP_GOAL)
    bf = {r["contender"]: r for r in parts.get("bf16", {}).get("rows", [])}
    best = max((bf[k]["speedup_vs_own_fp32"] for k in ("gnnkit bf16 autocast", "gnnkit bf16 cast")
                if k in bf and bf[k].get("speedup_vs_own_fp32")), default=None)
    add(f"bf16 GCN epoch >= {BF16_SPEEDUP_GOAL}x own fp32 (better of autocast / cast)",
        fmt(best, ".2f", "x") if best else None, None if best is None else best >= BF16_SPEEDUP_GOAL)
    acc = parts.get("bf16", {}).get("accuracy", {})
    if len(acc) == 2:
        diff = 100 * (acc["bf16 autocast"] - acc["fp32"])
        add("bf16 test accuracy within 0.5 points of fp32 (Cora-shaped synthetic)", f"{diff:+.1f} points",
            abs(diff) <= 0.5)
    else:
        add("bf16 test accuracy within 0.5 points of fp32 (Cora-shaped synthetic)", None, None)
    corr = parts.get("correctness", {})
    if "rows" in corr:
        add("every layer on the device within its bound of the CPU result",
            f"{len(corr['failed_checks'])} of {len(corr['rows'])} checks outside" if corr["failed_checks"] else
            f"all {len(corr['rows'])} checks", not corr["failed_checks"])
    return out


def git_commit() -> str:
    try:
        root = Path(__file__).resolve().parents[1]
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
        return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git checkout here)"


def versions() -> str:
    extra = []
    for name in ("triton",):
        if importlib.util.find_spec(name) is not None:
            import importlib.metadata as md

            try:
                extra.append(f"{name} {md.version(name)}")
            except md.PackageNotFoundError:
                pass
    cuda = f"; CUDA {torch.version.cuda}" if torch.cuda.is_available() else ""
    return environment() + (", " + ", ".join(extra) if extra else "") + cuda


def render(report: dict) -> str:
    lines = [f"# gnnkit GPU suite ({'quick' if report['quick'] else 'full sizes'})", "",
             f"- started: {report['started']}", f"- device: {report['device']}", f"- environment: {report['environment']}",
             f"- commit: {report['commit']}", f"- command: `{report['command']}`",
             f"- total: {report['seconds']:.0f} s", ""]
    for name, part in report["parts"].items():
        lines.append(f"## {name} ({part['status']}, {part.get('seconds', 0):.0f} s)")
        lines.append("")
        if part["status"] == "ok":
            lines.append(part["text"])
        else:
            lines.append(f"{part['status']}: {part['reason']}")
        lines.append("")
    lines += ["## goals", "", table([[g["goal"], g["figure"], g["status"]] for g in report["goals"]],
                                    ["goal", "figure", "status"]), ""]
    return "\n".join(lines)


def save(report: dict, out: Path | None) -> None:
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_suite.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "gpu_suite.md").write_text(render(report))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="parts: " + ", ".join(PARTS))
    p.add_argument("--out", type=Path, default=os.environ.get("OUT") or None,
                   help="folder for gpu_suite.json and gpu_suite.md (default $OUT; none: print only)")
    p.add_argument("--quick", action="store_true", help="tiny graphs, small caps: a CPU smoke run")
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, metavar="PART",
                   help="parts to run, in the suite's order (default: all)")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per contender (default 5; --quick 2)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="stop starting parts after this many seconds (default 450; --quick 240)")
    p.add_argument("--commit", default=None, help="commit to record (default: git rev-parse HEAD here)")
    args = p.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        p.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.max_seconds is not None and args.max_seconds <= 0:
        p.error(f"--max-seconds must be positive, got {args.max_seconds}")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if not torch.cuda.is_available() and importlib.util.find_spec("triton") is not None:
        # The correctness part runs the Triton kernels in triton's CPU interpreter;
        # the switch must be set before the kernels are first imported.
        os.environ.setdefault("TRITON_INTERPRET", "1")
    sizes = QUICK if args.quick else FULL
    repeats = args.repeats or (2 if args.quick else 5)
    budget = args.max_seconds or (240.0 if args.quick else 450.0)
    start = time.monotonic()
    import warnings

    warnings.filterwarnings("ignore", message=".*(beta|triton kernels|using the torch kernels).*")
    ctx = Context(device=device, sizes=sizes, repeats=repeats)
    order = [p for p in PARTS if p in args.parts]
    report = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "quick": args.quick,
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()})",
              "environment": versions(), "commit": args.commit or git_commit(),
              "command": shlex.join(["python", "benchmarks/gpu_suite.py", *(argv if argv is not None else sys.argv[1:])]),
              "repeats": repeats, "max_seconds": budget, "parts": {}, "goals": [], "seconds": 0.0}
    print(f"gpu_suite: {report['device']}; {report['environment']}; commit {report['commit']}", flush=True)
    for name in order:
        part_start = time.monotonic()
        left = budget - (part_start - start)
        if left < 10:
            result = {"status": "skipped", "reason": f"the run's time budget ({budget:.0f} s) is spent"}
        else:
            ctx.deadline = part_start + min(sizes.caps[name], left)
            try:
                result = {"status": "ok", **PART_FUNCTIONS[name](ctx, args.quick)}
            except Skip as why:
                result = {"status": "skipped", "reason": str(why)}
            except Exception as err:  # noqa: BLE001 - one part's failure must not lose the others
                result = {"status": "failed", "reason": error_note(err), "traceback": traceback.format_exc()}
                del err
            if name == "sage_epoch" or name == order[-1]:
                ctx.shared.pop("products", None)  # the last part that uses it
            free_memory(device)
        result["seconds"] = time.monotonic() - part_start
        report["parts"][name] = result
        report["goals"] = goals(report["parts"], device.type == "cuda")
        report["seconds"] = time.monotonic() - start
        print(f"\n## {name}: {result['status']} ({result['seconds']:.0f} s)", flush=True)
        print(result.get("text") or result.get("reason"), flush=True)
        if result["status"] == "failed":
            print(result["traceback"], flush=True)
        save(report, args.out)
    print("\n## goals\n" + table([[g["goal"], g["figure"], g["status"]] for g in report["goals"]],
                                 ["goal", "figure", "status"]), flush=True)
    return report


if __name__ == "__main__":
    main()
