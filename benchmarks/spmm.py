"""Aggregation (CSR SpMM, ``out[i] = Σ_j e_ij x[j]``) throughput: gnnkit vs cuSPARSE vs PyG.

For each graph and dtype it times, in alternation:

* ``gnnkit triton``  — the Triton kernel alone (plan built beforehand), CUDA only;
* ``gnnkit spmm``    — ``gnnkit.ops.spmm(csr, x)``, the library call (Triton on
  CUDA when installed, MKL on CPU);
* ``torch.sparse.mm`` — torch's CSR product (cuSPARSE on CUDA, MKL on CPU);
* ``pyg spmm``       — ``torch_geometric.utils.spmm`` on PyG's ``EdgeIndex``.

Achieved bandwidth counts the bytes the product must move at least once per
use: the CSR (rowptr, col, value), one gathered row of ``x`` per entry, and the
output, over the kernel time. On CUDA it is compared with the device's copy
bandwidth (``dst.copy_(src)`` of 1 GiB: read + write).

Graphs are synthetic and skewed (``benchmarks.common.skewed_graph``), shaped
like ogbn-products (2.4M nodes, 62M edges, 100 features) and Reddit (233k
nodes, 115M edges, 602 features). ``--quick`` divides nodes by 100 and edges
by 1000 so the script runs in seconds on a CPU.

    python benchmarks/spmm.py --out results/spmm            # GPU, full sizes
    python benchmarks/spmm.py --quick --out /tmp/spmm        # smoke test, CPU
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import environment, skewed_graph, sync, table, time_alternating, write_results  # noqa: E402
from gnnkit.ops import build_csr, spmm  # noqa: E402
from gnnkit.ops import triton as triton_ops  # noqa: E402
from gnnkit.ops.sparse import set_spmm_backend  # noqa: E402

GRAPHS = {  # name: (nodes, edges, features)
    "products": (2_449_029, 61_859_140, 100),
    "reddit": (232_965, 114_615_892, 602),
}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def copy_bandwidth(device: str, nbytes: int = 2**30) -> float:
    """Measured device copy bandwidth in bytes/s (read + write counted)."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    t = time_alternating({"copy": lambda: dst.copy_(src)}, repeats=10, warmup=2, device=device)["copy"]
    return 2 * nbytes / t


def moved_bytes(csr, x: torch.Tensor) -> int:
    rowptr, col = csr._kernel_indices()
    index_bytes = rowptr.numel() * rowptr.element_size() + col.numel() * col.element_size()
    value_bytes = csr.nnz * csr.value.element_size()
    row_bytes = x.size(1) * x.element_size()
    return index_bytes + value_bytes + csr.nnz * row_bytes + csr.num_rows * row_bytes


def contenders(csr, x: torch.Tensor, device: str) -> dict:
    """name → zero-argument callable, or name → reason it cannot run."""
    fns: dict = {}
    rowptr, col = csr._kernel_indices()
    value = csr.value.to(x.dtype)
    reason = triton_ops.unsupported_reason(torch.device(device), x.dtype) if device.startswith("cuda") else "CUDA only"
    if reason is None:
        plan = triton_ops.build_plan(rowptr)
        fns["gnnkit triton"] = lambda: triton_ops.spmm(rowptr, col, value, x, csr.num_rows, plan=plan)
    else:
        fns["gnnkit triton"] = f"n/a ({reason})"
    gcsr = csr.with_value(value)
    fns["gnnkit spmm"] = lambda: spmm(gcsr, x)
    try:
        a = torch.sparse_csr_tensor(rowptr, col, value, (csr.num_rows, csr.num_cols))
        torch.sparse.mm(a, x[:, :1].contiguous())  # probe: does the kernel take this dtype?
        fns["torch.sparse.mm"] = lambda: torch.sparse.mm(a, x)
    except (RuntimeError, NotImplementedError) as err:
        fns["torch.sparse.mm"] = f"n/a ({str(err).splitlines()[0][:60]})"
    try:
        from torch_geometric import EdgeIndex
        from torch_geometric.utils import spmm as pyg_spmm

        ei = EdgeIndex(torch.stack([csr.row(), csr.col]), sparse_size=(csr.num_rows, csr.num_cols),
                       sort_order="row")
        # PyG's EdgeIndex holds (row, col) of A; A @ x sums over col for each row.
        pyg_spmm(ei, x[: csr.num_cols])  # probe
        fns["pyg spmm"] = lambda: ei.matmul(x, input_value=value)
    except Exception as err:  # noqa: BLE001 - any failure of the peer is reported, not fatal
        fns["pyg spmm"] = f"n/a ({type(err).__name__}: {str(err).splitlines()[0][:60]})"
    return fns


def run(args) -> list[dict]:
    device = args.device
    results = []
    copy_bw = copy_bandwidth(device) if device.startswith("cuda") else None
    for name in args.graphs:
        n, e, f = GRAPHS[name]
        if args.quick:
            n, e = max(n // 100, 100), max(e // 1000, 1000)
        ei = skewed_graph(n, e, seed=0, device=device)
        csr = build_csr(ei, n, torch.rand(e, device=device) + 0.1)
        del ei
        for dname in args.dtypes:
            x = torch.randn(n, f, device=device).to(DTYPES[dname])
            fns = contenders(csr, x, device)
            runnable = {k: v for k, v in fns.items() if callable(v)}
            if "gnnkit spmm" in runnable and "torch.sparse.mm" in runnable:
                ref = runnable["torch.sparse.mm"]().float()
                for k in ("gnnkit triton", "gnnkit spmm", "pyg spmm"):
                    if k in runnable:
                        got = runnable[k]().float()
                        scale = ref.abs().max().clamp(min=1).item()
                        if (got - ref).abs().max().item() > 2e-2 * scale:
                            raise AssertionError(f"{k} disagrees with torch.sparse.mm on {name}/{dname}")
            times = time_alternating(runnable, repeats=args.repeats, warmup=2, device=device)
            nbytes = moved_bytes(csr, x)
            base = times.get("torch.sparse.mm")
            for impl, fn in fns.items():
                row = {"graph": name, "nodes": n, "edges": e, "features": f, "dtype": dname, "impl": impl,
                       "device": device}
                if impl in times:
                    t = times[impl]
                    row.update(ms=1000 * t, gbps=nbytes / t / 1e9,
                               pct_copy=None if copy_bw is None else 100 * nbytes / t / copy_bw,
                               vs_torch=None if base is None else base / t)
                else:
                    row["note"] = fn
                results.append(row)
            del x
            sync(device)
    if copy_bw is not None:
        results.append({"impl": "device copy", "gbps": copy_bw / 1e9, "device": device})
    return results


def render(results: list[dict]) -> str:
    rows = []
    for r in results:
        if r["impl"] == "device copy":
            continue
        if "ms" in r:
            pct = "-" if r["pct_copy"] is None else f"{r['pct_copy']:.0f}%"
            speed = "-" if r["vs_torch"] is None else f"{r['vs_torch']:.2f}x"
            rows.append([f"{r['graph']} {r['nodes']}/{r['edges']}/{r['features']}", r["dtype"], r["impl"],
                         f"{r['ms']:.2f}", f"{r['gbps']:.1f}", pct, speed])
        else:
            rows.append([f"{r['graph']} {r['nodes']}/{r['edges']}/{r['features']}", r["dtype"], r["impl"],
                         r["note"], "", "", ""])
    header = ["graph (N/E/F)", "dtype", "impl", "ms", "GB/s", "% copy BW", "speed vs torch.sparse.mm"]
    copy = [r for r in results if r["impl"] == "device copy"]
    tail = f"\n\ndevice copy bandwidth: {copy[0]['gbps']:.0f} GB/s" if copy else ""
    return table(rows, header) + tail


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small graphs (smoke test, CPU-friendly)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--graphs", nargs="+", default=list(GRAPHS), choices=list(GRAPHS))
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="folder for spmm.json and spmm.md")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*(beta|triton kernels).*")
    set_spmm_backend("auto")
    results = run(args)
    text = f"{environment()}\n\n{render(results)}"
    write_results(args.out, "spmm", text, results)


if __name__ == "__main__":
    main()
