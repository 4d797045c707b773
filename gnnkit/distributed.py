"""Data-parallel training on PyTorch's own engine (``torch.distributed``, ``torchrun``).

gnnkit does not launch processes: ``torchrun --nproc-per-node N`` does, and
sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address.
``init_distributed`` joins that process group (gloo on CPU, NCCL on CUDA);
every rank holds the whole graph, trains on its shard of the seed nodes (or of
the BPR triples), and ``DistributedDataParallel`` all-reduces the gradients.
Only rank 0 prints and writes files.

Several machines: run the same ``torchrun`` command on each with
``--nnodes M --node-rank K --rdzv-backend c10d --rdzv-endpoint HOST:PORT``.
Each machine then needs its own copy of the dataset files (the graph is
replicated, not partitioned).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from gnnkit.settings import distributed_env


class DistributedError(RuntimeError):
    """Another process of the group died or stopped answering."""


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device, timeout_s: float = 120.0) -> DistContext:
    """Join the process group ``torchrun`` set up; a single process otherwise.

    A rank that does not answer within ``timeout_s`` (it died, or hangs) makes
    the collective operations of the others fail with an error instead of
    waiting forever.

    Raises:
        ValueError: the environment describes an inconsistent group (rank
            outside the world size).
    """
    env = distributed_env()
    if env is None:
        return DistContext()
    rank, world, local = env
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ValueError(
            f"inconsistent distributed environment: RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}; "
            f"launch with torchrun, which sets them consistently"
        )
    if world == 1:
        return DistContext(rank, world, local)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    if dist.get_world_size() != world:
        raise ValueError(f"WORLD_SIZE={world} but the process group has {dist.get_world_size()} ranks")
    return DistContext(rank, world, local)


def shard(items: Tensor, ctx: DistContext) -> Tensor:
    """This rank's equal share of ``items`` (same order on every rank assumed).

    Every rank gets exactly ``len(items) // world_size`` items, so every rank
    runs the same number of steps (unequal step counts would deadlock the
    gradient all-reduce); the at most ``world_size - 1`` items left over are
    skipped this time (a new shuffle next epoch picks others).
    """
    if not ctx.enabled:
        return items
    per_rank = items.numel() // ctx.world_size
    if per_rank == 0:
        raise ValueError(f"{items.numel()} items cannot be shared among {ctx.world_size} ranks; use fewer ranks")
    return items[: per_rank * ctx.world_size][ctx.rank :: ctx.world_size]


def all_reduce_sum(value: Tensor, ctx: DistContext) -> Tensor:
    """Sum a tensor over all ranks (identity in a single process)."""
    if ctx.enabled:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def shutdown(ctx: DistContext) -> None:
    """Leave the process group once training is over.

    Waits for every rank first: a rank that tore its group down while another
    was still finishing could leave that one hanging in gloo's clean-up. Drop
    any ``DistributedDataParallel`` wrapper before calling this.
    """
    if ctx.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
