"""bf16 autocast against fp32 on the CPU: one GCN training epoch, alternating (issue 20, part 6).

Builds the paper's GCN (2 layers, hidden 16, dropout 0.5) the way
``gnnkit train node`` does (``prepare_graph``, ``build_model``, the task's
input features and CSR) and times one training epoch (forward under
``gnnkit.train.runtime.autocast``, cross-entropy, backward, Adam step)
with ``amp=None`` and ``amp="bf16"`` in alternation: median and minimum of
``--repeats`` rounds after ``--warmup`` epochs each. Also prints whether
this CPU has native bf16 instructions (``cpu_has_native_bf16``) and torch's
CPU capability.

    python benchmarks/bf16_cpu.py --threads 1                       # Cora (needs the data root)
    python benchmarks/bf16_cpu.py --threads 1 --graph synthetic     # 100k nodes, 2M edges, 64 features
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import environment, table, time_alternating  # noqa: E402


def epoch_fn(graph, amp: str | None, seed: int):
    from gnnkit.train.node import NodeTrainConfig, build_model, prepare_graph
    from gnnkit.train.runtime import autocast
    from gnnkit.distributed import DistContext
    from gnnkit.train.tasks.node import NodeTask

    config = NodeTrainConfig(amp=amp, seed=seed, quiet=True)
    prepared = prepare_graph(graph, config)
    model = build_model("gcn", prepared, config, hidden_channels=16, dropout=0.5)
    task = NodeTask(prepared, model, config.node_config(), seed=seed)
    task.setup(torch.device("cpu"), DistContext())  # as the engine does: the CSR and the input features
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    device, train = torch.device("cpu"), prepared.train_mask

    def epoch() -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        with autocast(device, amp):
            out = model(task.x, task.adj).float()
        F.cross_entropy(out[train], prepared.y[train]).backward()
        opt.step()

    return epoch


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--graph", default="cora", choices=("cora", "synthetic"))
    p.add_argument("--root", type=Path, default=None, help="data root holding cora/ (default: $GNNKIT_DATA or "
                   "../shared/data)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from gnnkit.train.runtime import cpu_has_native_bf16

    if args.graph == "cora":
        from gnnkit.datasets import load

        default_root = Path(__file__).resolve().parents[2] / "shared" / "data"  # as tests/conftest.py
        root = args.root or Path(os.environ.get("GNNKIT_DATA") or default_root)
        graph = load("cora", root=root, download=False, progress=False)
    else:
        from gnnkit.datasets import synthetic

        graph = synthetic(num_nodes=100_000, num_edges=1_000_000, num_features=64, num_classes=8, seed=args.seed)
    print(environment())
    print(f"torch CPU capability {torch.backends.cpu.get_cpu_capability()}; native bf16 instructions: "
          f"{cpu_has_native_bf16()}; graph {args.graph}: {graph.num_nodes:,} nodes, {graph.num_edges:,} edges; "
          f"seed {args.seed}; {args.threads} thread(s)")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the slow-bf16 warning is what this script measures
        fns = {"fp32": epoch_fn(graph, None, args.seed), "bf16": epoch_fn(graph, "bf16", args.seed)}
        times = time_alternating(fns, repeats=args.repeats, warmup=args.warmup, with_min=True)
    ratio = times["bf16"][0] / times["fp32"][0]
    rows = [[name, f"{med * 1000:.2f}", f"{low * 1000:.2f}", f"{med / times['fp32'][0]:.2f}"]
            for name, (med, low) in times.items()]
    print(table(rows, ["autocast", "ms / epoch (median)", "min ms", "time / fp32 time"]))
    result = {"graph": args.graph, "threads": args.threads, "native_bf16": cpu_has_native_bf16(),
              "fp32_s": times["fp32"], "bf16_s": times["bf16"], "bf16_over_fp32": ratio}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
