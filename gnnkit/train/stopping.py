"""Early stopping on one or more validation metrics, with the best weights kept.

With one monitored metric a validation *improves* when it is strictly better
than the best so far; the weights are kept then. With several (the GAT
paper's rule on validation loss and accuracy) the patience counter resets
when *any* metric is at least as good as its best, and the weights are kept
when *all* are.
"""
from __future__ import annotations

import math
from typing import Any

from torch import Tensor


class EarlyStopping:
    """Tracks the best validation and counts validations without improvement.

    Args:
        monitors: ``(metric, "min" | "max")`` pairs, e.g. ``(("val_loss", "min"),)``.
        patience: validations without improvement before ``stopped`` is set
            (``None``: never).
    """

    def __init__(self, monitors: tuple[tuple[str, str], ...], patience: int | None) -> None:
        if not monitors:
            raise ValueError("EarlyStopping needs at least one (metric, 'min'|'max') monitor")
        for name, mode in monitors:
            if mode not in ("min", "max"):
                raise ValueError(f"monitor {name!r}: mode must be 'min' or 'max', got {mode!r}")
        self.monitors, self.patience = tuple(monitors), patience
        self.best = {name: (math.inf if mode == "min" else -math.inf) for name, mode in self.monitors}
        self.best_epoch, self.bad, self.stopped = 0, 0, False
        self.best_state: dict[str, Tensor] | None = None

    def _better(self, name: str, mode: str, value: float, strict: bool) -> bool:
        best = self.best[name]
        if mode == "min":
            return value < best if strict else value <= best
        return value > best if strict else value >= best

    def update(self, epoch: int, metrics: dict[str, float], weights: dict[str, Tensor]) -> bool:
        """Record one validation; keep a copy of ``weights`` when they are the
        best so far. Returns whether training should stop."""
        missing = [name for name, _ in self.monitors if name not in metrics]
        if missing:
            raise ValueError(f"early stopping monitors {missing} but the validation returned {sorted(metrics)}")
        strict = len(self.monitors) == 1
        better = [self._better(n, m, float(metrics[n]), strict) for n, m in self.monitors]
        improved, keep = any(better), all(better)
        if keep or self.best_state is None:
            self.best_epoch = epoch
            self.best_state = {k: v.detach().clone() for k, v in weights.items()}
        if improved:
            for (name, mode), value in zip(self.monitors, (float(metrics[n]) for n, _ in self.monitors)):
                self.best[name] = min(value, self.best[name]) if mode == "min" else max(value, self.best[name])
            self.bad = 0
        else:
            self.bad += 1
            self.stopped = self.patience is not None and self.bad >= self.patience
        return self.stopped

    @property
    def best_value(self) -> float:
        """The best value of the first monitored metric."""
        return self.best[self.monitors[0][0]]

    def state_dict(self) -> dict[str, Any]:
        return {"best": dict(self.best), "best_epoch": self.best_epoch, "bad": self.bad, "stopped": self.stopped,
                "best_state": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = {k: float(v) for k, v in state["best"].items()}
        self.best_epoch, self.bad = int(state["best_epoch"]), int(state["bad"])
        self.stopped, self.best_state = bool(state["stopped"]), state["best_state"]
