"""THE training loop, written once for every task.

``Engine(task, optim, stop, run).fit()`` runs the epochs of any ``Task``:

* the loop: one ``task.train_epoch`` per epoch, a validation every
  ``stop.eval_every`` epochs (and at the last one), early stopping on the
  task's monitored metrics (``EarlyStopping``), a wall-time budget, and the
  best weights restored at the end before ``task.test`` measures them;
* the optimiser step (``Engine.step``: zero-grad, scaled backward, step),
  mixed precision (``run.amp``) and the device (``run.device``);
* data-parallel training under ``torchrun`` for tasks that allow it: the
  model is wrapped in ``DistributedDataParallel``, only rank 0 logs and
  writes, and a rank that dies stops the others with one clear error;
* outputs: a progress bar, a CSV row per epoch, TensorBoard scalars, and an
  atomic checkpoint with a digest (``gnnkit.io.save_verified``) holding the
  model, optimiser, scaler, RNG, early-stopping state, history and the task's
  own state, so that ``run.resume`` continues to exactly the weights an
  uninterrupted run reaches.

A task says only what differs (see ``Task``). Nothing here knows about
nodes, users or edges.
"""
from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from gnnkit.distributed import DistContext, DistributedError, init_distributed, shutdown
from gnnkit.io import check_writable, exclusive_lock, load_verified, save_verified
from gnnkit.profiling import profile, region, step as profiler_step
from gnnkit.train.config import OptimConfig, RunConfig, StopConfig, check_same_settings, recorded
from gnnkit.train.logs import MetricLog
from gnnkit.train.runtime import autocast, grad_scaler, resolve_device, rng_state, seed_everything, set_rng_state
from gnnkit.train.stopping import EarlyStopping
from gnnkit.train.task import Task

CHECKPOINT_VERSION = 2


@dataclass
class FitResult:
    """What ``Engine.fit`` returns.

    Args:
        metrics: ``task.test()`` of the final (best, when restored) weights.
        history: one row per epoch (``epoch``, ``loss``, ``epoch_seconds`` and
            the validation metrics on validated epochs).
        best_epoch: epoch of the best validation.
        epochs_run: last epoch trained (counting epochs before a resume).
        stopped_early: patience ran out.
        seconds: wall time of ``fit``.
        seconds_per_epoch: mean training time of the epochs this call ran.
    """

    metrics: dict[str, float]
    history: list[dict[str, Any]]
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    seconds: float
    seconds_per_epoch: float = 0.0


class Engine:
    """Trains a ``Task`` (see the module docstring).

    Args:
        task: what is trained and how it is measured.
        optim: ``OptimConfig`` (defaults if ``None``).
        stop: ``StopConfig`` (defaults if ``None``).
        run: ``RunConfig`` (defaults if ``None``).
    """

    def __init__(self, task: Task, optim: OptimConfig | None = None, stop: StopConfig | None = None,
                 run: RunConfig | None = None) -> None:
        self.task, self.optim = task, optim or OptimConfig()
        self.stop, self.run = stop or StopConfig(), run or RunConfig()
        self.device = resolve_device(self.run.device)
        self.dist = init_distributed(self.device) if task.distributed else DistContext()
        task.setup(self.device, self.dist)
        self.model: nn.Module = task.model
        self.train_model: nn.Module = self.model  # what training calls: DDP-wrapped under torchrun
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = task.configure_optimizer(self.optim)
        self.scaler = grad_scaler(self.device, self.run.amp)
        self.stopping = EarlyStopping(task.monitors, self.stop.patience)
        self.epoch, self.history = 0, []
        self._nonfinite = 0  # epochs in a row with an inf/NaN loss (see _check_loss)
        self.settings = recorded(self.optim, self.stop, self.run, task.settings())

    # ---------------------------------------------------------------- steps
    def step(self, loss: Tensor) -> None:
        """One optimiser step on ``loss`` (zero-grad, scaled backward, step)."""
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # DDP all-reduces the gradients here
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def autocast(self) -> contextlib.AbstractContextManager:
        """The run's mixed-precision context (a no-op without ``amp``)."""
        return autocast(self.device, self.run.amp)

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    def close(self) -> None:
        """Under ``torchrun``: drop the DDP wrapper and leave the process group
        (after every rank got here). A no-op otherwise."""
        self.train_model = self.model
        shutdown(self.dist)

    def _guard(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn``; under torchrun turn a failed collective into one clear error."""
        try:
            return fn()
        except RuntimeError as err:
            if not self.dist.enabled or isinstance(err, DistributedError):
                raise
            raise DistributedError(
                f"rank {self.dist.rank}/{self.dist.world_size}: another training process died or stopped answering "
                f"in epoch {self.epoch} during {what} ({str(err).splitlines()[0] if str(err) else type(err).__name__}); "
                f"see that process's output for the cause") from err

    # ----------------------------------------------------------- checkpoint
    def state_dict(self, finished: bool = False, weights: dict[str, Tensor] | None = None) -> dict[str, Any]:
        """Everything a resume needs, as tensors, numbers, strings and containers;
        ``weights`` stands in for the model's current ones."""
        state = {
            "format": f"gnnkit.{self.task.name}/{CHECKPOINT_VERSION}",
            "task": self.task.name,
            "model": self.task.model_spec(),
            "data": self.task.data_signature(),
            "config": self.settings,
            "epoch": self.epoch,
            "model_state": self.model.state_dict() if weights is None else weights,
            "optimizer_state": None if self.optimizer is None else self.optimizer.state_dict(),
            "scaler_state": self.scaler.state_dict(),
            "stopping": self.stopping.state_dict(),
            "best_metric": self.stopping.best_value,
            "history": self.history,
            "rng": rng_state(),
            "task_state": self.task.state_dict(),
            "finished": finished,
        }
        if finished:
            export = self.task.export()
            if export is not None:
                state["export"] = export
        return state

    def save(self, finished: bool = False, weights: dict[str, Tensor] | None = None) -> None:
        if self.run.checkpoint and self.is_main:
            save_verified(self.run.checkpoint, self.state_dict(finished, weights), kind=f"gnnkit.{self.task.name}")

    def load(self, path: str) -> None:
        """Continue from a checkpoint of the same task, model, data and settings."""
        ckpt = load_verified(path, map_location=self.device)
        expected = f"gnnkit.{self.task.name}/{CHECKPOINT_VERSION}"
        if ckpt.get("format") != expected:
            raise ValueError(f"{path} is not a {self.task.name} checkpoint of this gnnkit (format "
                             f"{ckpt.get('format')!r}, expected {expected!r}); pass a checkpoint that "
                             f"`gnnkit train {self.task.name}` wrote")
        seed = {k: v for k, v in self.settings.items() if k in ("seed", "split_seed")}
        check_same_settings(ckpt["config"], seed, path)  # first: another seed also draws another split
        self.task.check_checkpoint(ckpt, path)
        check_same_settings(ckpt["config"], self.settings, path)
        try:
            self.model.load_state_dict(ckpt["model_state"])
            if self.optimizer is not None and ckpt["optimizer_state"] is not None:
                self.optimizer.load_state_dict(ckpt["optimizer_state"])
            self.scaler.load_state_dict(ckpt["scaler_state"])
        except (RuntimeError, KeyError, ValueError) as err:
            raise ValueError(f"checkpoint {path} does not fit this model ({err})") from err
        self.stopping.load_state_dict(ckpt["stopping"])
        self.task.load_state_dict(ckpt["task_state"])
        set_rng_state(ckpt["rng"])
        self.epoch, self.history = int(ckpt["epoch"]), list(ckpt["history"])

    # ------------------------------------------------------------------ fit
    def fit(self, callback: Callable[[int, dict[str, Any]], None] | None = None) -> FitResult:
        """Train, stop early, restore the best weights and test them.

        Args:
            callback: called as ``callback(epoch, row)`` after every epoch
                (after the checkpoint is written).
        """
        run = self.run
        outputs = [p for p in (run.checkpoint, run.log_csv) if p] if self.is_main else []
        for path in outputs:
            check_writable(path)  # fail now, not after hours of training
        with contextlib.ExitStack() as stack:
            for path in outputs:
                stack.enter_context(exclusive_lock(path))
            if run.profile and self.is_main:
                todo = max(self.stop.epochs - self.epoch, 1)
                stack.enter_context(profile(run.profile, active=min(3, todo), wait=int(todo > 4), warmup=int(todo > 3)))
            return self._fit(callback)

    def _fit(self, callback: Callable[[int, dict[str, Any]], None] | None) -> FitResult:
        run, stop, start = self.run, self.stop, time.perf_counter()
        if run.resume:
            self.load(run.resume)
        else:
            seed_everything(run.seed)
        trainable = self.optimizer is not None
        log = MetricLog(run.log_csv, run.tensorboard, self.history) if self.is_main else None
        todo = range(self.epoch + 1, stop.epochs + 1) if trainable and not self.stopping.stopped else range(0)
        bar = tqdm(todo, desc=f"{self.task.describe()}", disable=not run.progress or not self.is_main, leave=False,
                   initial=self.epoch, total=stop.epochs)
        train_seconds, ran = 0.0, 0
        try:
            for epoch in bar:
                self.epoch = epoch
                t0 = time.perf_counter()
                if not self.train_model.training:  # (eval_mode puts it back; the tree walk is not free)
                    self.train_model.train()
                with region("gnnkit.train_epoch"):
                    loss = self._guard("training", lambda: self.task.train_epoch(self))
                row: dict[str, Any] = {"epoch": epoch, "loss": float(loss), "epoch_seconds": time.perf_counter() - t0}
                self._check_loss(row["loss"])
                train_seconds, ran = train_seconds + row["epoch_seconds"], ran + 1
                out_of_time = stop.max_seconds is not None and time.perf_counter() - start >= stop.max_seconds
                if epoch % stop.eval_every == 0 or epoch == stop.epochs or out_of_time:
                    self._validate(row)
                    bar.set_postfix(self.task.progress(row))
                self.history.append(row)
                if log is not None:
                    log.log(row)
                last = epoch == stop.epochs or self.stopping.stopped or out_of_time
                if last or epoch % run.checkpoint_every == 0:
                    self.save()
                profiler_step()
                if callback is not None:
                    callback(epoch, row)
                if self.stopping.stopped or out_of_time:
                    break
        finally:
            bar.close()
            if log is not None:
                log.close()
        return self._finish(start, train_seconds, ran)

    # Epochs in a row with an inf/NaN loss that fp16 training (whose GradScaler
    # skips such steps and lowers its scale) may have before it is an error.
    FP16_NONFINITE_EPOCHS = 5

    def _check_loss(self, loss: float) -> None:
        """Stop with a clear error when the loss is NaN or infinite: the weights
        are then NaN too (or will be after the step), and every later figure
        would be silently meaningless. Under fp16 with a GradScaler, which
        skips such steps itself, only after ``FP16_NONFINITE_EPOCHS`` epochs in a row."""
        if math.isfinite(loss):
            self._nonfinite = 0
            return
        self._nonfinite += 1
        if self.scaler.is_enabled() and self._nonfinite < self.FP16_NONFINITE_EPOCHS:
            return
        raise ValueError(
            f"the training loss is {loss} at epoch {self.epoch}: the model diverged. Lower the learning rate "
            f"(--lr), check the inputs for extreme values{self._fp32_hint()}; the last checkpoint, "
            f"if one was written, holds the weights of an earlier epoch")

    def _fp32_hint(self) -> str:
        # only a run in half precision can be told to train in fp32
        return ", or train in fp32 (--amp none)" if self.run.amp else ""

    def _check_weights(self, when: str) -> None:
        """Stop with the divergence error when a weight is NaN or infinite: a
        step can leave them so while the loss it reported was still finite
        (the loss is computed before the update), and ranking NaN scores gives
        tied, meaningless figures rather than an error."""
        params = [(name, p) for name, p in self.model.named_parameters() if p.is_floating_point()]
        if not params:
            return
        finite = torch.stack([torch.isfinite(p.detach()).all() for _, p in params])
        if bool(finite.all()):  # one host sync for the whole model (a GPU run is not stalled per tensor)
            return
        for (name, _), ok in zip(params, finite.tolist()):
            if not ok:
                raise ValueError(
                    f"the weights ({name}) are NaN or infinite {when}: the model diverged. Lower the learning "
                    f"rate (--lr), check the inputs and other numeric options for extreme values"
                    f"{self._fp32_hint()}; the last checkpoint, if one was written, holds an earlier epoch's weights")

    def _warn_if_cut_short(self) -> None:
        """Say when early stopping was on but the epoch cap ended the run at its
        best validation yet: the model was still improving, so the figures
        are those of an unfinished run (a hold-out dataset sparser than the
        ones the defaults were chosen on does this)."""
        stop, best = self.stop, self.stopping.best_epoch
        validated = [row["epoch"] for row in self.history if "eval_seconds" in row]
        if (not self.is_main or stop.patience is None or self.stopping.stopped or self.epoch != stop.epochs
                or len(validated) < 3 or best != validated[-1]):
            return
        warnings.warn(f"{self.task.describe().strip()}: validation was still improving at the last epoch "
                      f"({stop.epochs}): the run ended at its epoch cap, not by early stopping; more epochs "
                      f"(--epochs, StopConfig.epochs) may give better figures", RuntimeWarning, stacklevel=3)

    def _validate(self, row: dict[str, Any]) -> None:
        self._check_weights(f"after epoch {self.epoch}")
        t0 = time.perf_counter()
        with region("gnnkit.validate"):
            metrics = self._guard("validation", lambda: self.task.validate(self))
        row.update(metrics)
        row["eval_seconds"] = time.perf_counter() - t0
        self.stopping.update(self.epoch, metrics, self.model.state_dict())

    def _finish(self, start: float, train_seconds: float, ran: int) -> FitResult:
        last = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if self.stop.restore_best and self.stopping.best_state is not None:
            self.model.load_state_dict(self.stopping.best_state)
        self._check_weights("before testing")
        with region("gnnkit.test"):
            metrics = self._guard("testing", lambda: self.task.test(self))
        # The final file keeps the last trained weights (a resume with more
        # epochs continues from them); the best ones are in "stopping", and
        # the task's export is made from the tested ones.
        self.save(finished=True, weights=last)
        self._warn_if_cut_short()
        return FitResult(metrics=metrics, history=self.history, best_epoch=self.stopping.best_epoch,
                         epochs_run=self.epoch, stopped_early=self.stopping.stopped,
                         seconds=time.perf_counter() - start,
                         seconds_per_epoch=train_seconds / ran if ran else 0.0)


def trained_weights(ckpt: dict[str, Any]) -> dict[str, Tensor]:
    """The weights a finished checkpoint's metrics were measured with: the
    best validation's when the run restored them, else the last ones."""
    best = ckpt.get("stopping", {}).get("best_state")
    if ckpt.get("config", {}).get("restore_best", True) and best is not None:
        return best
    return ckpt["model_state"]


__all__ = ["Engine", "FitResult", "Task", "trained_weights"]
