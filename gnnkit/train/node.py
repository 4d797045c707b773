"""Node classification in one call: a flat config over ``NodeTask`` + ``Engine``.

    config = NodeTrainConfig(epochs=200, patience=10, seed=0)
    graph = prepare_graph(cora, config)
    model = build_model("gcn", graph, config, hidden_channels=16)
    result = NodeClassificationTrainer(model, graph, config).fit()

``NodeTrainConfig`` gathers in one place the settings that the engine keeps
apart (``OptimConfig``, ``StopConfig``, ``RunConfig``, ``MiniBatchConfig``)
and the task's own (``NodeConfig``); ``NodeClassificationTrainer`` builds the
``NodeTask`` and the ``Engine`` from it. The training loop itself is
``gnnkit.train.engine``; use the task and engine directly to combine settings
freely.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from gnnkit.graph import Graph
from gnnkit.io import load_verified
from gnnkit.train.config import MiniBatchConfig, OptimConfig, RunConfig, StopConfig
from gnnkit.train.engine import Engine, trained_weights
from gnnkit.train.task import check_same_data
from gnnkit.train.runtime import eval_mode
from gnnkit.train.tasks import node as _task
from gnnkit.train.tasks.node import NodeConfig, NodeTask, check_labels, graph_signature
from gnnkit.train.tasks.node_models import MODELS, PAPER_DEFAULTS, model_from_spec, model_spec


@dataclass
class NodeTrainConfig:
    """Every setting of a node-classification run, flat: the engine's
    ``OptimConfig``, ``StopConfig``, ``RunConfig`` and ``MiniBatchConfig`` and
    the task's ``NodeConfig`` in one place (``parts()`` splits them).

    Args:
        epochs: maximum training epochs (default 200).
        lr: Adam learning rate (default 0.01).
        weight_decay: L2 penalty (default 5e-4).
        weight_decay_layers: ``"first"`` (the GCN paper) or ``"all"``.
        weight_decay_rest: with ``"first"``, the L2 penalty of every other
            parameter (default 0; GCNII's code: 5e-4 on its linear layers).
        patience: epochs without improvement before stopping (``None``: never). Default 10.
        early_stopping: ``"val_loss"`` or ``"val_loss_acc"`` (the GAT paper's rule).
        restore_best: end with the best weights seen (default ``True``).
        normalize_features: divide each feature row by the sum of its absolute
            values, its sum for non-negative features (default ``True``).
        features: ``"auto"``, ``"given"``, ``"structural"`` or ``"embedding"``.
        structural_dim: FastRP columns of the structural features (default 32).
        embedding_dim: width of the learnable embedding (default 64).
        sparse_features: first layer on sparse features (``None``: when under 10 % non-zero).
        split: stratified split fractions for graphs without masks (default 0.6/0.2/0.2).
        per_class: instead of ``split``, training nodes per class (Planetoid: 20).
        split_seed: seed of the split (default: ``seed``).
        seed: seed of the weights, dropout and split (default 0).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        amp: ``None``, ``"bf16"`` or ``"fp16"``.
        quiet: no progress bar.
        log_csv: one row of metrics per epoch to this CSV file.
        tensorboard: TensorBoard folder (needs ``tensorboard``).
        checkpoint: write the training state to this file.
        checkpoint_every: epochs between checkpoints (default 10).
        resume: continue from this checkpoint file.
        dataset: the dataset's name, recorded in checkpoints.
        mode: ``"full"`` (default) or ``"minibatch"`` (sampled neighbourhoods).
        batch_size: seed nodes per mini-batch (default 1024).
        fanout: neighbours sampled per hop (default ``(15, 10)``).
        inference_batch_size: target nodes per block of the layer-wise evaluation (default 4096).
        profile: profile a few epochs into this folder (``gnnkit.profiling``).
        max_seconds: stop training after this much wall time (``None``: no
            limit); the best validated weights so far are tested.
    """

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    weight_decay_layers: str = "first"
    weight_decay_rest: float = 0.0
    patience: int | None = 10
    early_stopping: str = "val_loss"
    restore_best: bool = True
    normalize_features: bool = True
    features: str = "auto"
    structural_dim: int = 32
    embedding_dim: int = 64
    sparse_features: bool | None = None
    split: tuple[float, float, float] = (0.6, 0.2, 0.2)
    per_class: int | None = None
    split_seed: int | None = None
    seed: int = 0
    device: str = "auto"
    amp: str | None = None
    quiet: bool = False
    log_csv: str | None = None
    tensorboard: str | None = None
    checkpoint: str | None = None
    checkpoint_every: int = 10
    resume: str | None = None
    dataset: str | None = None
    mode: str = "full"
    batch_size: int = 1024
    fanout: tuple[int, ...] = (15, 10)
    inference_batch_size: int = 4096
    profile: str | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("full", "minibatch"):
            raise ValueError(f"NodeTrainConfig: mode must be 'full' or 'minibatch', got {self.mode!r}")
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ValueError(f"NodeTrainConfig: epochs must be >= 1, got {self.epochs!r}")
        if self.embedding_dim < 1:
            raise ValueError(f"NodeTrainConfig: embedding_dim must be >= 1, got {self.embedding_dim}")
        self.split = tuple(float(f) for f in self.split)  # type: ignore[assignment]
        self.fanout = tuple(int(k) for k in self.fanout)  # type: ignore[assignment]
        self.parts()  # every part checks its own values

    def parts(self) -> tuple[OptimConfig, StopConfig, RunConfig, NodeConfig, MiniBatchConfig | None]:
        """The engine's and the task's configs these settings stand for."""
        optim = OptimConfig(lr=self.lr, weight_decay=self.weight_decay)
        stop = StopConfig(epochs=self.epochs, patience=self.patience, restore_best=self.restore_best,
                          max_seconds=self.max_seconds)
        run = RunConfig(seed=self.seed, device=self.device, amp=self.amp, progress=not self.quiet,
                        log_csv=self.log_csv, tensorboard=self.tensorboard, checkpoint=self.checkpoint,
                        checkpoint_every=self.checkpoint_every, resume=self.resume,
                        profile=self.profile)
        node = self.node_config()
        mb = MiniBatchConfig(self.batch_size, self.fanout, self.inference_batch_size)
        return optim, stop, run, node, (mb if self.mode == "minibatch" else None)

    def node_config(self) -> NodeConfig:
        names = {f.name for f in dataclasses.fields(NodeConfig)}
        return NodeConfig(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NodeTrainConfig:
        import difflib

        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:  # dropping them would train with the defaults the caller meant to change
            near = {k: difflib.get_close_matches(k, known, 1) for k in unknown}
            said = ", ".join(f"{k!r}" + (f" (did you mean {m[0]!r}?)" if m else "") for k, m in near.items())
            raise ValueError(f"NodeTrainConfig has no setting {said}")
        return cls(**values)


@dataclass
class NodeTrainResult:
    """What ``fit`` returns: the per-epoch history and the final metrics of
    the restored (best) weights."""

    history: list[dict[str, float]]
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    train_accuracy: float
    val_accuracy: float
    test_accuracy: float
    train_macro_f1: float
    val_macro_f1: float
    test_macro_f1: float
    val_loss: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def prepare_graph(graph: Graph, config: NodeTrainConfig) -> Graph:
    """``gnnkit.train.tasks.node.prepare_graph`` with the config's seed."""
    return _task.prepare_graph(graph, config.node_config(), seed=config.seed)


def build_model(name: str, graph: Graph, config: NodeTrainConfig | None = None, **hparams: Any) -> nn.Module:
    """A freshly initialised model for ``graph`` (seeded with ``config.seed``);
    ``hparams`` are the model's own arguments."""
    config = config or NodeTrainConfig()
    check_labels(graph)
    embedding = config.embedding_dim if config.features == "embedding" else None
    from gnnkit.train.tasks.node_models import build_model as build

    return build(name, graph, seed=config.seed, embedding_dim=embedding, **hparams)


class NodeClassificationTrainer:
    """A ``NodeTask`` on an ``Engine``, from one ``NodeTrainConfig``.

    Args:
        model: a model from ``build_model`` (or any of ``MODELS``).
        graph: the graph; it goes through ``prepare_graph``.
        config: a ``NodeTrainConfig``.
    """

    def __init__(self, model: nn.Module, graph: Graph, config: NodeTrainConfig | None = None) -> None:
        self.config = config = config or NodeTrainConfig()
        optim, stop, run, node, minibatch = config.parts()
        self.task = NodeTask(graph, model, node, minibatch, seed=config.seed)
        self.engine = Engine(self.task, optim, stop, run)

    # The task's and engine's parts, by their old names.
    model = property(lambda self: self.task.model)
    graph = property(lambda self: self.task.graph)
    x = property(lambda self: self.task.x)
    adj = property(lambda self: self.task.adj)
    optimizer = property(lambda self: self.engine.optimizer)
    dist = property(lambda self: self.engine.dist)
    device = property(lambda self: self.engine.device)

    def fit(self, callback=None) -> NodeTrainResult:
        """Train, stop early, restore the best weights and evaluate them."""
        r = self.engine.fit(callback)
        m = r.metrics
        return NodeTrainResult(
            history=r.history, best_epoch=r.best_epoch, epochs_run=len(r.history), stopped_early=r.stopped_early,
            train_accuracy=m["train_accuracy"], val_accuracy=m["val_accuracy"], test_accuracy=m["test_accuracy"],
            train_macro_f1=m["train_macro_f1"], val_macro_f1=m["val_macro_f1"], test_macro_f1=m["test_macro_f1"],
            val_loss=m["val_loss"], seconds=r.seconds)

    def evaluate(self, full: bool = True) -> dict[str, float]:
        """Loss, accuracy and macro-F1 on the three splits (dropout off)."""
        return self.task.metrics(self.task.logits(self.config.amp), full)

    def predict(self) -> Tensor:
        """Class id per node ``[N]`` with the current weights."""
        return self.task.logits(self.config.amp).argmax(dim=1)

    def close(self) -> None:
        self.engine.close()


def load_trained(path: str | Path, graph: Graph, dataset: str | None = None) -> tuple[nn.Module, Graph, dict]:
    """The model a run saved with ``checkpoint=`` (its tested weights), and
    ``graph`` prepared as that run prepared it.

    Raises:
        ValueError: the file is not a node-classification checkpoint, or it was
            written for another dataset (name, size or classes differ).
    """
    ckpt = load_verified(path)
    if ckpt.get("task") != "node":
        raise ValueError(f"{path} is not a node-classification checkpoint (it was written by "
                         f"`gnnkit train {ckpt.get('task', '?')}`); pass one from `gnnkit train node --checkpoint`")
    trained_on = ckpt["data"].get("dataset")
    if dataset is not None and trained_on is not None and dataset != trained_on:
        raise ValueError(f"checkpoint {path} was trained on dataset {trained_on!r}, not {dataset!r}; "
                         f"predict on {trained_on!r} or train a model for {dataset!r}")
    settings = ckpt["config"]
    names = {f.name for f in dataclasses.fields(NodeConfig)}
    node = NodeConfig(**{k: v for k, v in settings.items() if k in names and k != "dataset"},
                      dataset=dataset or trained_on)
    prepared = _task.prepare_graph(graph, node, seed=settings["seed"])
    check_same_data(ckpt["data"], graph_signature(prepared, node.dataset), path)
    model = model_from_spec(ckpt["model"])
    model.load_state_dict(trained_weights(ckpt))
    return model.eval(), prepared, ckpt


def predict(model: nn.Module, graph: Graph) -> Tensor:
    """Class id per node ``[N]`` of a trained model on a prepared graph."""
    with eval_mode(model):
        return model(graph.x, graph.csr()).argmax(dim=1)


__all__ = [
    "MODELS", "PAPER_DEFAULTS", "NodeClassificationTrainer", "NodeTrainConfig", "NodeTrainResult", "build_model",
    "check_labels", "load_trained", "model_spec", "predict", "prepare_graph",
]
