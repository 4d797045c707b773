"""What a task tells the engine: the only code that differs between tasks.

A task owns its data and its model. The engine calls, in order:

1. ``setup(device, dist)`` — move the model and data to the device; note
   this process's rank for sharding.
2. ``configure_optimizer(optim)`` — an optimiser over the trainable
   parameters (``None`` when there is nothing to train, e.g. a popularity
   baseline).
3. per epoch ``train_epoch(engine)`` — build the batches, compute the loss,
   call ``engine.step(loss)`` for each, return the mean loss. Use
   ``engine.train_model`` (DDP-wrapped under torchrun) for the forward and
   ``engine.autocast()`` around it.
4. on validated epochs ``validate(engine)`` — metrics with at least every
   name in ``monitors``.
5. once at the end ``test(engine)`` — the reported metrics.

For checkpoints it gives ``model_spec()`` (how to rebuild the model),
``data_signature()`` (what the model was trained on), ``settings()`` (its own
options, compared on resume), ``check_checkpoint`` (clear errors for a
checkpoint of another model or dataset), ``state_dict``/``load_state_dict``
(its own random generators, via ``generators()``) and ``export()`` (what inference commands read
from a finished checkpoint).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gnnkit.distributed import DistContext
from gnnkit.train.config import OptimConfig

if TYPE_CHECKING:
    from gnnkit.train.engine import Engine


def data_matches(theirs: dict[str, Any] | None, ours: dict[str, Any]) -> bool:
    """Whether a checkpoint's data signature is this data's. The ``digest``
    (of the data's content: ``gnnkit.digest.content_digest``) is compared when the
    checkpoint has one; checkpoints written before it existed are compared on
    the rest (names and sizes)."""
    if theirs is None:
        return not ours
    if "digest" not in theirs:
        ours = {k: v for k, v in ours.items() if k != "digest"}
    return theirs == ours


def check_same_data(theirs: dict[str, Any] | None, ours: dict[str, Any], path: Any) -> None:
    """Raise ``ValueError`` unless ``data_matches(theirs, ours)``, saying what differs."""
    if data_matches(theirs, ours):
        return
    shown = lambda d: {k: v for k, v in (d or {}).items() if k != "digest"}  # noqa: E731
    if shown(theirs) == shown(ours):
        raise ValueError(f"checkpoint {path} was trained on {shown(ours)} with other contents (the same name and "
                         f"sizes, but its files were edited since: ids, names or values differ); use the data it "
                         f"was trained on, or train a new model")
    raise ValueError(f"checkpoint {path} was written for data {shown(theirs)} but this run has {shown(ours)}; "
                     f"use the data it was trained on or another --checkpoint path")


class Task:
    """Base class of the tasks; subclasses set ``name``, ``monitors`` and
    ``model`` and implement ``train_epoch``, ``validate`` and ``test``."""

    name: str = "task"
    #: ``(metric, "min" | "max")`` pairs that early stopping watches.
    monitors: tuple[tuple[str, str], ...] = (("val_loss", "min"),)
    #: whether ``train_epoch`` may run data-parallel under torchrun.
    distributed: bool = False
    model: nn.Module

    def setup(self, device: torch.device, dist: DistContext) -> None:
        self.device, self.dist = device, dist
        self.model = self.model.to(device)

    def configure_optimizer(self, optim: OptimConfig) -> torch.optim.Optimizer | None:
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            return None
        # foreach: one kernel per step for all parameters; the same numbers as the per-tensor loop
        # (checked bit for bit), fewer small ops on the CPU, where torch would otherwise loop
        return torch.optim.Adam(params, lr=optim.lr, weight_decay=optim.weight_decay, foreach=True)

    def train_epoch(self, engine: Engine) -> float:
        raise NotImplementedError

    def validate(self, engine: Engine) -> dict[str, float]:
        raise NotImplementedError

    def test(self, engine: Engine) -> dict[str, float]:
        raise NotImplementedError

    def describe(self) -> str:
        """Progress-bar label."""
        return self.name

    def progress(self, row: dict[str, Any]) -> dict[str, str]:
        """Progress-bar fields of an epoch's row."""
        shown = {"loss": f"{row['loss']:.4f}"}
        for name, _ in self.monitors:
            if name in row:
                shown[name] = f"{row[name]:.4f}"
        return shown

    # ------------------------------------------------------------ checkpoints
    def model_spec(self) -> dict[str, Any]:
        return {"class": type(self.model).__name__}

    def data_signature(self) -> dict[str, Any]:
        return {}

    def settings(self) -> dict[str, Any]:
        return {}

    def check_checkpoint(self, ckpt: dict[str, Any], path: Any) -> None:
        if ckpt.get("model") != self.model_spec():
            raise ValueError(f"the checkpoint holds model {ckpt.get('model')} but this run trains "
                             f"{self.model_spec()} ({path}); use the same model settings or another --checkpoint path")
        check_same_data(ckpt.get("data"), self.data_signature(), path)

    def generators(self) -> dict[str, torch.Generator]:
        """The task's own random generators (sampling, shuffling), saved in
        checkpoints and restored on resume; the engine saves the global RNG."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {name: g.get_state() for name, g in self.generators().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, g in self.generators().items():
            g.set_state(state[name])

    def export(self) -> dict[str, Any] | None:
        return None
