"""The engine's settings: three small dataclasses shared by every task.

* ``OptimConfig`` — how parameters are updated (Adam's learning rate, weight decay);
* ``StopConfig`` — how long to train and when to stop (epochs, patience,
  validation cadence, wall-time budget, best-weight restore);
* ``RunConfig`` — where and how a run executes and what it leaves behind
  (seed, device, mixed precision, progress bar, CSV / TensorBoard logs,
  checkpoint and resume).

A task's own settings (features, splits, batch sizes, losses) live in the
task's config, not here. Each class checks its values when it is made.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

AMP_CHOICES = ("bf16", "fp16")


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check(owner: str, checks: list[tuple[bool, str]]) -> None:
    for ok, message in checks:
        if not ok:
            raise ValueError(f"{owner}: {message}")


@dataclass
class OptimConfig:
    """Adam's settings.

    Args:
        lr: learning rate (default 0.01).
        weight_decay: L2 penalty (Adam's ``weight_decay``); a task may put it
            on some parameters only (default 0).
    """

    lr: float = 0.01
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _check("OptimConfig", [
            # above 1e6 Adam's step overflows float32 (or the model diverges in one step)
            (_number(self.lr), f"lr must be a number, got {self.lr!r}"),
            (not _number(self.lr) or 0 < self.lr <= 1e6, f"lr must be in (0, 1e6], got {self.lr}"),
            (_number(self.weight_decay), f"weight_decay must be a number, got {self.weight_decay!r}"),
            (not _number(self.weight_decay) or 0 <= self.weight_decay <= 1e6,
             f"weight_decay must be in [0, 1e6], got {self.weight_decay}"),
        ])


@dataclass
class StopConfig:
    """When training ends.

    Args:
        epochs: most training epochs (default 200).
        patience: validations without improvement of the task's monitored
            metric before stopping (``None``: never stop early). Default ``None``.
        eval_every: epochs between validations (default 1; the last epoch
            and the epoch that exhausts ``max_seconds`` are always validated).
        max_seconds: stop after this much training wall time (``None``: no limit).
        restore_best: end with the weights of the best validation (default ``True``).
    """

    epochs: int = 200
    patience: int | None = None
    eval_every: int = 1
    max_seconds: float | None = None
    restore_best: bool = True

    def __post_init__(self) -> None:
        _check("StopConfig", [
            (_int(self.epochs) and self.epochs >= 0, f"epochs must be an integer >= 0, got {self.epochs!r}"),
            (self.patience is None or (_int(self.patience) and self.patience >= 1),
             f"patience must be an integer >= 1 or None, got {self.patience!r}"),
            (_int(self.eval_every) and self.eval_every >= 1,
             f"eval_every must be an integer >= 1, got {self.eval_every!r}"),
            (self.max_seconds is None or (_number(self.max_seconds) and self.max_seconds > 0),
             f"max_seconds must be > 0, got {self.max_seconds!r}"),
            (isinstance(self.restore_best, bool), f"restore_best must be True or False, got {self.restore_best!r}"),
        ])


@dataclass
class RunConfig:
    """Where a run executes and what it writes.

    Args:
        seed: seeds Python, NumPy and torch before training (default 0).
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        amp: ``None``, ``"bf16"`` or ``"fp16"`` autocast (fp16 with a
            GradScaler on CUDA).
        progress: show a progress bar on stderr (default ``True``).
        log_csv: write one row of metrics per epoch to this CSV file.
        tensorboard: write TensorBoard scalars to this folder (needs ``tensorboard``).
        checkpoint: write the training state to this file (atomically, with a digest).
        checkpoint_every: epochs between checkpoints (default 1; the last epoch
            and the final state are always written).
        resume: continue from this checkpoint file. The run must use the
            same settings as the one that wrote it, except ``epochs`` and
            ``max_seconds`` (which may be raised to train on) and the outputs.
            Without ``checkpoint`` the run goes on checkpointing to this file.
        profile: profile a few epochs with ``torch.profiler`` and write the
            trace to this folder (``gnnkit.profiling``); ``None``: off.
    """

    seed: int = 0
    device: str = "auto"
    amp: str | None = None
    progress: bool = True
    log_csv: str | None = None
    tensorboard: str | None = None
    checkpoint: str | None = None
    checkpoint_every: int = 1
    resume: str | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.resume and self.checkpoint is None:  # else a second kill would lose all since the resume
            self.checkpoint = self.resume
        _check("RunConfig", [
            (_int(self.seed) and 0 <= self.seed < 2**63, f"seed must be an integer in [0, 2**63), got {self.seed!r}"),
            (self.amp is None or self.amp in AMP_CHOICES, f"amp must be None, 'bf16' or 'fp16', got {self.amp!r}"),
            (isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 1,
             f"checkpoint_every must be >= 1, got {self.checkpoint_every!r}"),
        ])


# Settings that may differ between a run and the run it resumes: how long to
# train, and where outputs go. Anything else would silently mix two recipes.
RESUMABLE_CHANGES = frozenset({"epochs", "max_seconds"})


def recorded(optim: OptimConfig, stop: StopConfig, run: RunConfig, task: dict[str, Any]) -> dict[str, Any]:
    """The settings a checkpoint records and a resume compares: one flat dict."""
    values = {**dataclasses.asdict(optim), **dataclasses.asdict(stop), "seed": run.seed, "amp": run.amp, **task}
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}


def check_same_settings(saved: dict[str, Any], current: dict[str, Any], path: Any) -> None:
    """Raise ``ValueError`` naming the first setting that differs from the checkpoint's."""
    for name, value in current.items():
        if name in RESUMABLE_CHANGES or name not in saved:
            continue
        old = saved[name]
        if old != value:
            flag = "--" + name.replace("_", "-")
            raise ValueError(
                f"{flag} is {value!r} but checkpoint {path} was written with {old!r}; resume with the same "
                f"setting, or start a new run with another --checkpoint path (only --epochs and the time "
                f"budget may change on resume)")


@dataclass
class MiniBatchConfig:
    """Sampled mini-batches instead of the whole graph per step.

    Args:
        batch_size: seed nodes (or pairs) per step (default 1024).
        fanout: neighbours sampled per node at each hop, one per layer;
            ``-1`` takes all (default ``(15, 10)``).
        inference_batch_size: target nodes per block of the layer-wise
            evaluation over all nodes (default 4096).
    """

    batch_size: int = 1024
    fanout: tuple[int, ...] = (15, 10)
    inference_batch_size: int = 4096

    def __post_init__(self) -> None:
        self.fanout = tuple(int(k) for k in self.fanout)  # type: ignore[assignment]
        _check("MiniBatchConfig", [
            (isinstance(self.batch_size, int) and self.batch_size >= 1,
             f"batch_size must be a positive number of seed nodes (training edges, in link prediction), got "
             f"{self.batch_size!r}"),
            (isinstance(self.inference_batch_size, int) and self.inference_batch_size >= 1,
             f"inference_batch_size must be a positive number of nodes, got {self.inference_batch_size!r}"),
            (len(self.fanout) >= 1 and all(k > 0 or k == -1 for k in self.fanout),
             f"fanout must list one fan-out per layer, each > 0 or -1 (all), got {self.fanout}"),
        ])
