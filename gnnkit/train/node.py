"""Node classification: configuration, graph preparation, the full-batch trainer.

Data flows one way::

    graph = prepare_graph(raw_graph, config)       # features, split, normalisation
    model = build_model("gcn", graph, config)      # seeded, paper hyper-parameters
    result = NodeClassificationTrainer(model, graph, config).fit()

``fit`` trains with Adam on the cross-entropy of the training nodes, evaluates
on every epoch, stops early on the validation loss and restores the best
weights. With ``checkpoint=`` it writes the full training state atomically;
``resume=`` continues from it to exactly the weights an uninterrupted run
would have reached (same RNG stream, optimiser moments, early-stopping state).
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from gnnkit.distributed import DistContext, DistributedError, all_reduce_sum, init_distributed, shard, shutdown
from gnnkit.graph import Graph
from gnnkit.loader import NeighborLoader
from gnnkit.nn.models import GAT, GCN, MLP, GraphSAGE
from gnnkit.nn.features import sparse_features
from gnnkit.nn.inference import layerwise_inference
from gnnkit.nn.models._input import LearnedFeatures
from gnnkit.ops.sparse import CSR
from gnnkit.train.checkpoint import load_checkpoint, save_checkpoint
from gnnkit.train.features import row_normalize, structural_features
from gnnkit.train.metrics import accuracy, macro_f1
from gnnkit.train.splits import stratified_split
from gnnkit.train.utils import (
    AMP_DTYPES,
    CSVLogger,
    autocast,
    eval_mode,
    grad_scaler,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
)

MODELS: dict[str, type[nn.Module]] = {"gcn": GCN, "sage": GraphSAGE, "gat": GAT, "mlp": MLP}

# The papers' settings. GCN: Kipf & Welling 2017, §5.3 (weight decay on the
# first layer only; their early-stopping window of 10 is met here by a
# patience of 10 on the validation loss with the best weights restored, see
# docs/results.md). GAT: Veličković et al. 2018, §3.3 (patience 100 on
# validation loss and accuracy). SAGE/MLP: the GCN recipe with a wider hidden
# layer, weight decay on every layer and a longer patience.
PAPER_DEFAULTS: dict[str, dict[str, Any]] = {
    "gcn": dict(hidden=16, dropout=0.5, lr=0.01, weight_decay=5e-4, weight_decay_layers="first", epochs=200,
                patience=10, early_stopping="val_loss"),
    "gat": dict(hidden=8, heads=8, out_heads=1, dropout=0.6, lr=0.005, weight_decay=5e-4, weight_decay_layers="all",
                epochs=1000, patience=100, early_stopping="val_loss_acc"),
    "sage": dict(hidden=64, dropout=0.5, lr=0.01, weight_decay=5e-4, weight_decay_layers="all", epochs=200,
                 patience=50, early_stopping="val_loss"),
    "mlp": dict(hidden=64, dropout=0.5, lr=0.01, weight_decay=5e-4, weight_decay_layers="all", epochs=200,
                patience=50, early_stopping="val_loss"),
}

_FEATURE_MODES = ("auto", "given", "structural", "embedding")
_STOPPING = ("val_loss", "val_loss_acc")
_CHECKPOINT_FORMAT = "gnnkit.node/1"
_PREPARED = "gnnkit.train.node.prepared"


@dataclass
class NodeTrainConfig:
    """Everything a node-classification run depends on.

    Args:
        epochs: maximum training epochs (default 200).
        lr: Adam learning rate (default 0.01).
        weight_decay: L2 penalty (Adam's ``weight_decay``), default 5e-4.
        weight_decay_layers: ``"first"`` puts it on the model's first layer
            only (the GCN paper), ``"all"`` on every parameter.
        patience: stop after this many epochs without improvement
            (``None``: run all epochs). Default 10.
        early_stopping: ``"val_loss"`` (improvement = lower validation loss)
            or ``"val_loss_acc"`` (the GAT paper: the counter resets when
            either validation loss or accuracy improves; the weights are kept
            when both do).
        restore_best: end with the best weights seen (default ``True``).
        normalize_features: divide each feature row by its sum (the GCN and
            GAT papers' preprocessing), default ``True``.
        features: ``"auto"`` (the graph's features, structural ones when it
            has none), ``"given"``, ``"structural"`` (always structural) or
            ``"embedding"`` (a learnable ``embedding_dim`` vector per node).
        structural_dim: FastRP columns of the structural features (default 32).
        embedding_dim: width of the learnable embedding (default 64).
        sparse_features: first layer on sparse features: ``None`` (default)
            when the features are under 10 % non-zero and the model supports it.
        split: ``(train, val, test)`` fractions of a stratified random split for
            graphs without masks (default 0.6/0.2/0.2).
        per_class: instead of ``split``, this many training nodes per class
            (Planetoid: 20, with 500 validation and 1000 test nodes).
        split_seed: seed of the split (default: ``seed``).
        seed: seed of the weights, dropout and split (default 0).
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
        amp: ``None``, ``"bf16"`` or ``"fp16"`` autocast (fp16 with a
            GradScaler on CUDA).
        quiet: no progress bar.
        log_csv: write one row of metrics per epoch to this CSV file.
        tensorboard: write TensorBoard scalars to this folder (needs the
            ``tensorboard`` package).
        checkpoint: write the training state to this file (atomically).
        checkpoint_every: epochs between checkpoints (default 10; the last
            epoch is always written).
        resume: continue from this checkpoint file.
        dataset: the dataset's name, recorded in checkpoints so that one is
            never applied to another dataset.
        mode: ``"full"`` (default: the whole graph every step) or
            ``"minibatch"``: GraphSAGE-style sampled neighbourhoods around
            ``batch_size`` training nodes per step (``gnnkit.loader``), one
            pass over the training nodes per epoch. Under ``torchrun`` each
            process trains on its share of the seeds with
            ``DistributedDataParallel``; evaluation and prediction run
            layer-wise over all nodes in blocks of
            ``inference_batch_size`` targets
            (``gnnkit.nn.inference.layerwise_inference``), so only one block
            is on the device at a time.
        batch_size: seed nodes per mini-batch (default 1024).
        inference_batch_size: target nodes per block of the layer-wise
            inference in ``"minibatch"`` mode (default 4096).
        fanout: neighbours sampled per node at each hop, one per layer
            (default ``(15, 10)``).
    """

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    weight_decay_layers: str = "first"
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

    def __post_init__(self) -> None:
        self.split = tuple(float(f) for f in self.split)  # type: ignore[assignment]
        self.fanout = tuple(int(k) for k in self.fanout)  # type: ignore[assignment]
        checks = [
            (isinstance(self.epochs, int) and self.epochs >= 1, f"epochs must be >= 1, got {self.epochs!r}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.weight_decay_layers in ("first", "all"),
             f"weight_decay_layers must be 'first' or 'all', got {self.weight_decay_layers!r}"),
            (self.patience is None or self.patience >= 1, f"patience must be >= 1 or None, got {self.patience}"),
            (self.early_stopping in _STOPPING, f"early_stopping must be one of {_STOPPING}, got {self.early_stopping!r}"),
            (self.features in _FEATURE_MODES, f"features must be one of {_FEATURE_MODES}, got {self.features!r}"),
            (self.amp is None or self.amp in AMP_DTYPES, f"amp must be None, 'bf16' or 'fp16', got {self.amp!r}"),
            (self.checkpoint_every >= 1, f"checkpoint_every must be >= 1, got {self.checkpoint_every}"),
            (self.mode in ("full", "minibatch"), f"mode must be 'full' or 'minibatch', got {self.mode!r}"),
            (isinstance(self.batch_size, int) and self.batch_size >= 1,
             f"batch_size must be a positive number of seed nodes, got {self.batch_size!r}"),
            (isinstance(self.inference_batch_size, int) and self.inference_batch_size >= 1,
             f"inference_batch_size must be a positive number of nodes, got {self.inference_batch_size!r}"),
            (len(self.fanout) >= 1 and all(k > 0 or k == -1 for k in self.fanout),
             f"fanout must list one fan-out per layer, each > 0 or -1 (all), got {self.fanout}"),
            (self.structural_dim >= 0 and self.embedding_dim >= 1,
             f"need structural_dim >= 0 and embedding_dim >= 1, got {self.structural_dim}, {self.embedding_dim}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"NodeTrainConfig: {message}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NodeTrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


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


# --------------------------------------------------------------------------- data
def check_labels(graph: Graph) -> None:
    """Raise ``ValueError`` unless ``graph`` has one integer class per node."""
    if graph.y is None:
        raise ValueError("the graph has no labels (y is None): node classification needs one class id per node")
    if graph.y.dim() != 1 or graph.y.dtype.is_floating_point or graph.y.dtype == torch.bool:
        raise ValueError(f"node classification needs y as [num_nodes] integer class ids, got shape "
                         f"{tuple(graph.y.shape)} and dtype {graph.y.dtype}")
    if not bool((graph.y >= 0).any()):
        raise ValueError("no node has a label (every y is negative): node classification needs labelled nodes")


def prepare_graph(graph: Graph, config: NodeTrainConfig) -> Graph:
    """The graph a run trains on: split masks when it has none, structural
    features when asked or when it has no features, row-normalised features.

    Deterministic given the config, and idempotent (a prepared graph comes
    back unchanged), so ``predict`` can rebuild exactly what training saw.
    """
    check_labels(graph)
    changes: dict[str, Any] = {}
    masks = (graph.train_mask, graph.val_mask, graph.test_mask)
    if all(m is None for m in masks):
        seed = config.seed if config.split_seed is None else config.split_seed
        train, val, test = stratified_split(graph.y, config.split, per_class=config.per_class, seed=seed)
        changes.update(train_mask=train.to(graph.device), val_mask=val.to(graph.device), test_mask=test.to(graph.device))
    elif any(m is None for m in masks):
        missing = [n for n, m in zip(("train_mask", "val_mask", "test_mask"), masks) if m is None]
        raise ValueError(f"the graph has some split masks but not {missing}: give all three or none (then a "
                         f"stratified split is drawn from split={config.split})")
    x = graph.x
    if graph._cache.get(_PREPARED) == _prep_key(config):
        x = graph.x  # already prepared with these settings: leave the features alone
    elif config.features == "given" and x is None:
        raise ValueError("features='given' but the graph has no node features; use features='auto', "
                         "'structural' or 'embedding'")
    elif config.features == "structural" or (config.features == "auto" and x is None):
        x = structural_features(graph.edge_index, graph.num_nodes, dim=config.structural_dim,
                                seed=config.seed).to(graph.device)
    elif config.features == "embedding":
        x = None
    elif config.normalize_features:
        x = row_normalize(x.float())
    if x is not graph.x:
        changes["x"] = x
    prepared = graph.replace(**changes) if changes else graph
    # Graph._cache holds what is derived from the graph; a replace() or to() starts a fresh one.
    prepared._cache[_PREPARED] = _prep_key(config)
    _check_split(prepared)
    return prepared


def _prep_key(config: NodeTrainConfig) -> tuple:
    return (config.features, config.normalize_features, config.structural_dim, config.seed)


def _check_split(graph: Graph) -> None:
    y = graph.y
    for name in ("train_mask", "val_mask", "test_mask"):
        mask = getattr(graph, name)
        if not bool(mask.any()):
            raise ValueError(f"{name} selects no node: the split leaves it empty")
        if bool((y[mask] < 0).any()):
            raise ValueError(f"{name} selects unlabelled nodes (negative y); remove them from the mask")
    classes = torch.unique(y[y >= 0])
    seen = torch.unique(y[graph.train_mask])
    empty = sorted(set(classes.tolist()) - set(seen.tolist()))
    if empty:
        raise ValueError(f"the training split has no node of class(es) {empty}: a model cannot learn a class it "
                         f"never sees; use a larger training fraction or per_class")


def build_model(name: str, graph: Graph, config: NodeTrainConfig | None = None, **hparams: Any) -> nn.Module:
    """A freshly initialised model for ``graph`` (seeded with ``config.seed``).

    ``hparams`` are the model's own arguments (``hidden_channels``,
    ``num_layers``, ``dropout``, ``heads``...); the input width and the
    number of classes come from the graph. With ``features="embedding"`` the
    model reads a learnable embedding instead of ``graph.x``.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    config = config or NodeTrainConfig()
    check_labels(graph)
    seed_everything(config.seed)
    embedding = config.features == "embedding"
    in_channels = config.embedding_dim if embedding else graph.num_features
    if in_channels == 0:
        raise ValueError("the graph has no node features: call prepare_graph first, or use features='embedding'")
    model = MODELS[name](in_channels=in_channels, out_channels=graph.num_classes, **hparams)
    if embedding:
        model = LearnedFeatures(graph.num_nodes, config.embedding_dim, model)
    return model


def model_spec(model: nn.Module) -> dict[str, Any]:
    """``{"name", "hparams", "embedding"}``: what it takes to rebuild ``model``."""
    inner, embedding = model, None
    if isinstance(model, LearnedFeatures):
        inner, embedding = model.model, {"num_nodes": model.num_nodes, "dim": model.dim}
    for name, cls in MODELS.items():
        if type(inner) is cls:
            return {"name": name, "hparams": dict(inner.hparams), "embedding": embedding}
    raise ValueError(f"{type(inner).__name__} is not one of the node-classification models {sorted(MODELS)}")


def model_from_spec(spec: dict[str, Any]) -> nn.Module:
    if spec.get("name") not in MODELS:
        raise ValueError(f"checkpoint names model {spec.get('name')!r}, not one of {sorted(MODELS)}")
    model = MODELS[spec["name"]](**spec["hparams"])
    if spec.get("embedding"):
        model = LearnedFeatures(spec["embedding"]["num_nodes"], spec["embedding"]["dim"], model)
    return model


def _graph_signature(graph: Graph, dataset: str | None) -> dict[str, Any]:
    return {"dataset": dataset, "num_nodes": graph.num_nodes, "num_edges": graph.num_edges,
            "num_features": graph.num_features, "num_classes": graph.num_classes}


def _check_compatible(ckpt: dict[str, Any], spec: dict[str, Any], signature: dict[str, Any], path: Any) -> None:
    if ckpt.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a node-classification checkpoint (format {ckpt.get('format')!r}, "
                         f"expected {_CHECKPOINT_FORMAT!r})")
    theirs, their_graph = ckpt["model"], ckpt["graph"]
    if theirs["name"] != spec["name"] or theirs["hparams"] != spec["hparams"] or theirs["embedding"] != spec["embedding"]:
        raise ValueError(f"checkpoint {path} holds model {theirs['name']!r} {theirs['hparams']} but this run uses "
                         f"{spec['name']!r} {spec['hparams']}; use the same --model and hyper-parameters or another checkpoint")
    if their_graph != signature:
        raise ValueError(f"checkpoint {path} was written for dataset {their_graph['dataset']!r} "
                         f"({their_graph['num_nodes']} nodes, {their_graph['num_classes']} classes) but this run has "
                         f"{signature['dataset']!r} ({signature['num_nodes']} nodes, {signature['num_classes']} classes)")


# ------------------------------------------------------------------------ trainer
class NodeClassificationTrainer:
    """Full-batch training of a node classifier.

    Args:
        model: a model from ``build_model`` (or any of ``MODELS``).
        graph: the graph; it goes through ``prepare_graph`` (a no-op on one
            that is already prepared).
        config: a ``NodeTrainConfig``.
    """

    def __init__(self, model: nn.Module, graph: Graph, config: NodeTrainConfig | None = None) -> None:
        self.config = config = config or NodeTrainConfig()
        self.device = resolve_device(config.device)
        self.spec = model_spec(model)
        graph = prepare_graph(graph, config)
        out = self.spec["hparams"]["out_channels"]
        if out != graph.num_classes:
            raise ValueError(f"the model predicts {out} classes but the graph has {graph.num_classes}")
        self.signature = _graph_signature(graph, config.dataset)
        self.graph = graph.to(self.device)
        self.model = model.to(self.device)
        self.adj = self.graph.csr()
        self.x = self._input_features(self.graph.x)
        self.optimizer = torch.optim.Adam(self._param_groups(), lr=config.lr)
        self.scaler = grad_scaler(self.device, config.amp)
        self.dist = DistContext()
        self.train_model: nn.Module = self.model  # what the training step calls (DDP-wrapped when distributed)
        if config.mode == "minibatch":
            self._setup_minibatch()

    def _setup_minibatch(self) -> None:
        cfg = self.config
        inner = self.model.model if isinstance(self.model, LearnedFeatures) else self.model
        if isinstance(self.model, LearnedFeatures):
            raise ValueError("mode='minibatch' needs node features; features='embedding' trains full-batch only")
        layers = len(getattr(inner, "layers", []))
        if layers and len(cfg.fanout) != layers:
            raise ValueError(f"fanout {list(cfg.fanout)} has {len(cfg.fanout)} hops but the model has {layers} "
                             f"layers; give one fan-out per layer (e.g. --fanout {','.join(['10'] * layers)})")
        if isinstance(self.x, CSR):  # sampled sub-graphs slice dense feature rows
            self.x = self.graph.x
        self.dist = init_distributed(self.device)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.model, device_ids=ids)

    def _input_features(self, x: Tensor | None):
        use_sparse = self.config.sparse_features
        inner = self.model.model if isinstance(self.model, LearnedFeatures) else self.model
        if x is None:
            return None
        if use_sparse is None:
            use_sparse = getattr(inner, "sparse_input", False) and float((x != 0).float().mean()) < 0.1
        return sparse_features(x) if use_sparse else x

    def _param_groups(self) -> list[dict[str, Any]]:
        wd = self.config.weight_decay
        if self.config.weight_decay_layers == "all":
            return [{"params": list(self.model.parameters()), "weight_decay": wd}]
        inner = self.model.model if isinstance(self.model, LearnedFeatures) else self.model
        first = {id(p) for p in inner.layers[0].parameters()}
        return [
            {"params": [p for p in self.model.parameters() if id(p) in first], "weight_decay": wd},
            {"params": [p for p in self.model.parameters() if id(p) not in first], "weight_decay": 0.0},
        ]

    def close(self) -> None:
        """Under ``torchrun``: drop the ``DistributedDataParallel`` wrapper and
        leave the process group (after every rank got here). A no-op otherwise."""
        self.train_model = self.model
        shutdown(self.dist)

    # ------------------------------------------------------------------ steps
    def _logits(self) -> Tensor:
        with autocast(self.device, self.config.amp):
            return self.model(self.x, self.adj).float()

    def _eval_logits(self) -> Tensor:
        """Logits of every node, dropout off: the full forward, or in
        ``"minibatch"`` mode the layer-wise inference over blocks of nodes."""
        if self.config.mode != "minibatch":
            return self._logits()
        with autocast(self.device, self.config.amp):
            return layerwise_inference(self.model, self.x, self.adj, self.config.inference_batch_size,
                                       self.device).float()

    def _train_step(self, epoch: int = 1) -> float:
        if self.config.mode == "minibatch":
            return self._train_epoch_minibatch(epoch)
        self.model.train()
        g = self.graph
        out = self._logits()
        loss = F.cross_entropy(out[g.train_mask], g.y[g.train_mask])
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach())

    def _train_epoch_minibatch(self, epoch: int) -> float:
        """One pass over this process's share of the training nodes in sampled mini-batches."""
        cfg, g = self.config, self.graph
        self.train_model.train()
        # Every rank draws the same permutation (seeded by seed and epoch), then takes its own share.
        order = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        seeds = g.train_mask.nonzero().flatten().cpu()
        seeds = shard(seeds[torch.randperm(seeds.numel(), generator=order)], self.dist).to(self.device)
        loader = NeighborLoader(g, list(cfg.fanout), batch_size=cfg.batch_size, input_nodes=seeds, shuffle=False,
                                seed=cfg.seed * 100_003 + epoch * 7919 + self.dist.rank)
        total, count = torch.zeros((), device=self.device), 0
        try:
            for batch in loader:
                sub = batch.graph
                with autocast(self.device, cfg.amp):
                    out = self.train_model(sub.x, sub.edge_index).float()[: batch.batch_size]
                loss = F.cross_entropy(out, sub.y[: batch.batch_size])
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()  # DDP all-reduces the gradients here
                self.scaler.step(self.optimizer)
                self.scaler.update()
                total += loss.detach() * batch.batch_size
                count += batch.batch_size
            stats = all_reduce_sum(torch.stack([total, torch.tensor(float(count), device=self.device)]), self.dist)
        except RuntimeError as err:
            if not self.dist.enabled:
                raise
            raise DistributedError(
                f"rank {self.dist.rank}/{self.dist.world_size}: another training process died or stopped answering "
                f"in epoch {epoch} ({str(err).splitlines()[0]}); see that process's output for the cause"
            ) from err
        return float(stats[0] / stats[1].clamp(min=1))

    def evaluate(self, full: bool = True) -> dict[str, float]:
        """Loss, accuracy and macro-F1 on the three splits (dropout off).
        ``full=False``: only what the per-epoch log needs (cheaper)."""
        g = self.graph
        with eval_mode(self.model):
            out = self._eval_logits()
        row: dict[str, float] = {}
        for split in ("train", "val", "test"):
            mask = getattr(g, f"{split}_mask")
            logits, target = out[mask], g.y[mask]
            if full or split == "val":
                row[f"{split}_loss"] = float(F.cross_entropy(logits, target))
            row[f"{split}_accuracy"] = accuracy(logits, target)
            if full:
                row[f"{split}_macro_f1"] = macro_f1(logits, target, g.num_classes)
        return row

    def predict(self) -> Tensor:
        """Class id per node ``[N]`` with the current weights."""
        with eval_mode(self.model):
            return self._eval_logits().argmax(dim=1)

    # ------------------------------------------------------------- checkpoint
    def _state(self, epoch: int, stop: dict[str, Any], history: list, finished: bool) -> dict[str, Any]:
        return {
            "format": _CHECKPOINT_FORMAT,
            "model": self.spec,
            "graph": self.signature,
            "config": self.config.to_dict(),
            "epoch": epoch,
            "model_state": self.model.state_dict(),
            "optimizer_state": self.optimizer.state_dict(),
            "scaler_state": self.scaler.state_dict(),
            "early_stopping": stop,
            "best_metric": stop["best_loss"],
            "history": history,
            "rng": rng_state(),
            "finished": finished,
        }

    def _resume(self, path: str) -> tuple[int, dict[str, Any], list, bool]:
        ckpt = load_checkpoint(path, map_location=self.device)
        _check_compatible(ckpt, self.spec, self.signature, path)
        try:
            self.model.load_state_dict(ckpt["model_state"])
            self.optimizer.load_state_dict(ckpt["optimizer_state"])
            self.scaler.load_state_dict(ckpt["scaler_state"])
        except (RuntimeError, KeyError, ValueError) as err:
            raise ValueError(f"checkpoint {path} does not fit this model ({err})") from err
        set_rng_state(ckpt["rng"])
        return int(ckpt["epoch"]), ckpt["early_stopping"], list(ckpt["history"]), bool(ckpt.get("finished"))

    # -------------------------------------------------------------------- fit
    def fit(self, callback: Callable[[int, dict[str, float]], None] | None = None) -> NodeTrainResult:
        """Train, stop early, restore the best weights and evaluate them.

        Args:
            callback: called as ``callback(epoch, metrics)`` after every epoch
                (after the checkpoint is written).
        """
        cfg = self.config
        start = time.perf_counter()
        stop: dict[str, Any] = {"best_loss": float("inf"), "best_acc": -1.0, "best_epoch": 0, "bad": 0,
                                "best_state": None, "stopped": False}
        history: list[dict[str, float]] = []
        first_epoch, finished = 1, False
        if cfg.resume:
            last, stop, history, finished = self._resume(cfg.resume)
            first_epoch = last + 1
        else:
            seed_everything(cfg.seed)
        main = self.dist.is_main  # only rank 0 prints and writes files
        csv_log = CSVLogger(cfg.log_csv if main else None, resume=bool(cfg.resume))
        board = _tensorboard(cfg.tensorboard) if main else None
        bar = tqdm(range(first_epoch, cfg.epochs + 1), desc=f"{self.spec['name']} node classification",
                   disable=cfg.quiet or finished or not main, leave=False, initial=first_epoch - 1, total=cfg.epochs)
        epoch = first_epoch - 1
        try:
            for epoch in bar:
                if finished or stop["stopped"]:
                    break
                loss = self._train_step(epoch)
                row = {"epoch": epoch, "loss": loss, **self.evaluate(full=False)}
                history.append(row)
                self._early_stopping(stop, row, epoch)
                csv_log.log(row)
                if board is not None:
                    for key, value in row.items():
                        if key != "epoch":
                            board.add_scalar(key, value, epoch)
                bar.set_postfix(loss=f"{loss:.3f}", val_acc=f"{row['val_accuracy']:.3f}")
                if cfg.checkpoint and self.dist.is_main and (
                        epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs or stop["stopped"]):
                    save_checkpoint(cfg.checkpoint, self._state(epoch, stop, history, finished=False))
                if callback is not None:
                    callback(epoch, row)
        finally:
            bar.close()
            if board is not None:
                board.close()
        if cfg.restore_best and stop["best_state"] is not None:
            self.model.load_state_dict(stop["best_state"])
        final = self.evaluate()
        if cfg.checkpoint and self.dist.is_main:
            save_checkpoint(cfg.checkpoint, self._state(history[-1]["epoch"] if history else epoch, stop, history,
                                                        finished=True))
        return NodeTrainResult(
            history=history,
            best_epoch=int(stop["best_epoch"]),
            epochs_run=len(history),
            stopped_early=bool(stop["stopped"]),
            train_accuracy=final["train_accuracy"], val_accuracy=final["val_accuracy"],
            test_accuracy=final["test_accuracy"], train_macro_f1=final["train_macro_f1"],
            val_macro_f1=final["val_macro_f1"], test_macro_f1=final["test_macro_f1"],
            val_loss=final["val_loss"], seconds=time.perf_counter() - start,
        )

    def _early_stopping(self, stop: dict[str, Any], row: dict[str, float], epoch: int) -> None:
        loss, acc = row["val_loss"], row["val_accuracy"]
        if self.config.early_stopping == "val_loss":
            improved = keep = loss < stop["best_loss"]
        else:  # GAT: patience resets when either improves; weights kept when both do
            improved = loss <= stop["best_loss"] or acc >= stop["best_acc"]
            keep = loss <= stop["best_loss"] and acc >= stop["best_acc"]
        if keep or stop["best_state"] is None:
            stop["best_epoch"] = epoch
            stop["best_state"] = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if improved:
            stop["best_loss"], stop["best_acc"] = min(loss, stop["best_loss"]), max(acc, stop["best_acc"])
            stop["bad"] = 0
        else:
            stop["bad"] += 1
            if self.config.patience is not None and stop["bad"] >= self.config.patience:
                stop["stopped"] = True


def _tensorboard(logdir: str | None):
    if logdir is None:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn("TensorBoard logging was asked for but the tensorboard package is not installed "
                      "(pip install tensorboard); continuing without it", stacklevel=3)
        return None
    return SummaryWriter(logdir)


# ---------------------------------------------------------------------- predict
def load_trained(path: str | Path, graph: Graph, dataset: str | None = None) -> tuple[nn.Module, Graph, dict]:
    """The model a run saved with ``checkpoint=``, and ``graph`` prepared as
    that run prepared it.

    Raises:
        ValueError: the file is not a node-classification checkpoint, or it was
            written for another dataset (name, size or classes differ).
    """
    ckpt = load_checkpoint(path)
    if ckpt.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a node-classification checkpoint (format {ckpt.get('format')!r})")
    trained_on = ckpt.get("graph", {}).get("dataset")
    if dataset is not None and trained_on is not None and dataset != trained_on:
        raise ValueError(f"checkpoint {path} was trained on dataset {trained_on!r}, not {dataset!r}; "
                         f"predict on {trained_on!r} or train a model for {dataset!r}")
    config = NodeTrainConfig.from_dict({**ckpt["config"], "resume": None, "checkpoint": None, "log_csv": None,
                                        "tensorboard": None, "dataset": dataset or ckpt["config"].get("dataset")})
    prepared = prepare_graph(graph, config)
    model = model_from_spec(ckpt["model"])
    _check_compatible(ckpt, ckpt["model"], _graph_signature(prepared, config.dataset), path)
    model.load_state_dict(ckpt["model_state"])
    return model.eval(), prepared, ckpt


def predict(model: nn.Module, graph: Graph) -> Tensor:
    """Class id per node ``[N]`` of a trained model on a prepared graph."""
    x = graph.x
    with eval_mode(model):
        return model(x, graph.csr()).argmax(dim=1)


__all__ = [
    "MODELS",
    "PAPER_DEFAULTS",
    "NodeClassificationTrainer",
    "NodeTrainConfig",
    "NodeTrainResult",
    "build_model",
    "check_labels",
    "load_trained",
    "model_spec",
    "predict",
    "prepare_graph",
]
