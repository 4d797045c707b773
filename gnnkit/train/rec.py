"""Recommendation in one call: a flat config over ``RecTask`` + ``Engine``.

    model = build_model("lightgcn", data.num_users, data.num_items)
    result = RecommendationTrainer(model, data, RecTrainConfig(epochs=1000)).fit()

``RecTrainConfig`` gathers the engine's settings (``OptimConfig``,
``StopConfig``, ``RunConfig``) and the task's (``RecConfig``) in one place;
the loop is ``gnnkit.train.engine``, the task ``gnnkit.train.tasks.rec``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.train.config import OptimConfig, RunConfig, StopConfig
from gnnkit.train.engine import Engine
from gnnkit.train.ranking import evaluate_ranking, top_k
from gnnkit.train.tasks.rec import (
    MODEL_DEFAULTS,
    MODEL_KINDS,
    RecConfig,
    RecTask,
    bipartite_csr,
    bpr_loss,
    build_model,
    model_spec,
    split_validation,
)


@dataclass
class RecTrainConfig:
    """Every setting of a recommendation run, flat (defaults: the LightGCN
    paper's): the engine's ``OptimConfig``, ``StopConfig`` and ``RunConfig``
    and the task's ``RecConfig`` in one place (``parts()`` splits them).

    Args:
        epochs: most training epochs (default 1000).
        lr: Adam learning rate (default 1e-3).
        batch_size: BPR triples per step (default 2048).
        reg: L2 weight on the batch's layer-0 embeddings (default 1e-4).
        eval_every: epochs between validation rankings (default 1).
        patience: validations without a better ``monitor`` before stopping (default 10).
        monitor: validation metric for early stopping (default ``"recall@20"``).
        ks: cut-offs of the reported metrics (default ``(10, 20)``).
        val_fraction: share of each user's items held out for validation (default 0.1).
        eval_memory_mb: most memory a batch of scores may take (default 256).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` ... (default ``"auto"``).
        amp: ``None``, ``"bf16"`` or ``"fp16"`` autocast for training.
        seed: seeds the validation split, shuffling and negatives (default 0).
        checkpoint: file to save to after every validation and to resume from.
        resume: continue from ``checkpoint`` if it exists (default ``True``).
        csv: file for one row of metrics per epoch.
        progress: show a progress bar (default ``False``).
        max_seconds: stop training after this much wall time (``None``: no limit).
        profile: profile a few epochs into this folder (``gnnkit.profiling``).
    """

    epochs: int = 1000
    lr: float = 1e-3
    batch_size: int = 2048
    reg: float = 1e-4
    eval_every: int = 1
    patience: int = 10
    monitor: str = "recall@20"
    ks: tuple[int, ...] = (10, 20)
    val_fraction: float = 0.1
    eval_memory_mb: float = 256.0
    device: str = "auto"
    amp: str | None = None
    seed: int = 0
    checkpoint: str | None = None
    resume: bool = True
    csv: str | None = None
    progress: bool = False
    max_seconds: float | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        self.ks = tuple(int(k) for k in self.ks)
        self.parts()  # every part checks its own values

    @classmethod
    def for_model(cls, kind: str, **overrides: Any) -> RecTrainConfig:
        """The config ``gnnkit train rec --model KIND`` uses: ``MODEL_DEFAULTS[kind]``
        (lr, reg, epochs, eval_every, patience) under ``overrides``.

        Args:
            kind: one of ``MODEL_KINDS`` (``"lightgcn"``, ``"mf"``, ..., ``"gfcf"``, ``"bspm"``).
            overrides: any other field of ``RecTrainConfig``.
        """
        if kind not in MODEL_DEFAULTS:
            raise ValueError(f"unknown model {kind!r}: choose one of {', '.join(MODEL_DEFAULTS)}")
        return cls(**{**MODEL_DEFAULTS[kind], **overrides})

    def parts(self) -> tuple[OptimConfig, StopConfig, RunConfig, RecConfig]:
        optim = OptimConfig(lr=self.lr)
        stop = StopConfig(epochs=self.epochs, patience=self.patience, eval_every=self.eval_every,
                          max_seconds=self.max_seconds)
        resume = self.checkpoint if self.resume and self.checkpoint and Path(self.checkpoint).exists() else None
        run = RunConfig(seed=self.seed, device=self.device, amp=self.amp, progress=self.progress, log_csv=self.csv,
                        checkpoint=self.checkpoint, checkpoint_every=self.eval_every, resume=resume,
                        profile=self.profile)
        names = {f.name for f in dataclasses.fields(RecConfig)}
        rec = RecConfig(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})
        return optim, stop, run, rec


class RecommendationTrainer:
    """A ``RecTask`` on an ``Engine``, from one ``RecTrainConfig``."""

    def __init__(self, model: nn.Module, dataset: InteractionDataset, config: RecTrainConfig | None = None) -> None:
        self.config = config or RecTrainConfig()
        optim, stop, self._run, rec = self.config.parts()
        self.task = RecTask(model, dataset, rec, seed=self.config.seed)
        self.engine = Engine(self.task, optim, stop, self._run)

    model = property(lambda self: self.task.model)
    dist = property(lambda self: self.engine.dist)
    device = property(lambda self: self.engine.device)
    optimizer = property(lambda self: self.engine.optimizer)
    sampler = property(lambda self: self.task.sampler)
    train_pairs = property(lambda self: self.task.train_pairs)
    val = property(lambda self: self.task.val_dev)
    generator = property(lambda self: self.task.generator)
    train_graph = property(lambda self: self.task.train_graph)
    full_graph = property(lambda self: self.task.full_graph)
    train_seen = property(lambda self: self.task.train_seen)
    all_seen = property(lambda self: self.task.all_seen)

    def evaluate(self, split: str = "test") -> dict[str, float]:
        return self.task.evaluate(split)

    def embeddings(self, graph=None):
        return self.task.embeddings(graph)

    def fit(self) -> dict[str, Any]:
        """Train with early stopping, restore the best weights, rank the test
        split. Returns the test metrics plus ``epochs_run``, ``best_epoch``,
        ``stopped_early``, ``seconds``, ``seconds_per_epoch``, ``history``."""
        r = self.engine.fit()
        return {**r.metrics, "epochs_run": r.epochs_run, "best_epoch": r.best_epoch, "stopped_early": r.stopped_early,
                "seconds": r.seconds, "seconds_per_epoch": r.seconds_per_epoch, "history": r.history}

    def close(self) -> None:
        self.engine.close()


__all__ = [
    "MODEL_DEFAULTS", "MODEL_KINDS", "RecTrainConfig", "RecommendationTrainer", "bipartite_csr", "bpr_loss", "build_model",
    "evaluate_ranking", "model_spec", "split_validation", "top_k",
]
