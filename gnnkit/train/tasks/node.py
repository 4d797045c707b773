"""Node classification as a task on the engine.

Data flows one way::

    graph = prepare_graph(raw_graph, NodeConfig(), seed=0)   # features, split
    model = build_model("gcn", graph, seed=0, hidden_channels=16)
    task = NodeTask(graph, model, NodeConfig())
    result = Engine(task, OptimConfig(lr=0.01, weight_decay=5e-4),
                    StopConfig(epochs=200, patience=10), RunConfig(seed=0)).fit()

The task trains on the cross-entropy of the training nodes (the whole graph
per step, or sampled neighbourhoods with ``minibatch=MiniBatchConfig()``),
validates on loss and accuracy, and tests accuracy and macro-F1 on the three
splits.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.distributed import DistContext, all_reduce_sum, shard
from gnnkit.graph import Graph
from gnnkit.sampling.neighbor import NeighborLoader
from gnnkit.nn.features import sparse_features
from gnnkit.nn.inference import layerwise_inference
from gnnkit.train.config import MiniBatchConfig, OptimConfig
from gnnkit.train.metrics import accuracy, macro_f1
from gnnkit.train.node_features import row_normalize, structural_features
from gnnkit.train.runtime import eval_mode
from gnnkit.train.splits import stratified_split
from gnnkit.train.tasks.node_data import _DEFAULT_SPLIT, check_labels, check_masks, check_split_options
from gnnkit.train.task import Task, check_same_data, data_matches
from gnnkit.train.tasks.node_models import model_spec, unwrap

if TYPE_CHECKING:
    from gnnkit.train.engine import Engine

_FEATURE_MODES = ("auto", "given", "structural", "embedding")
_STOPPING = {"val_loss": (("val_loss", "min"),),
             "val_loss_acc": (("val_loss", "min"), ("val_accuracy", "max"))}
_PREPARED = "gnnkit.train.tasks.node.prepared"


@dataclass
class NodeConfig:
    """What node classification itself needs to know.

    Args:
        features: ``"auto"`` (the graph's features, structural ones when it
            has none), ``"given"``, ``"structural"`` or ``"embedding"`` (a
            learnable vector per node; build the model with ``embedding_dim``).
        normalize_features: divide each feature row by the sum of its
            absolute values (for non-negative features its sum, the GCN and
            GAT papers' preprocessing), default ``True``.
        structural_dim: FastRP columns of the structural features (default 32).
        sparse_features: first layer on sparse features: ``None`` (default)
            when the features are under 10 % non-zero and the model supports it.
        split: ``(train, val, test)`` fractions of a stratified random split for
            graphs without masks (default 0.6/0.2/0.2).
        per_class: instead of ``split``, this many training nodes per class
            (Planetoid: 20, with 500 validation and 1000 test nodes).
        split_seed: seed of the split (default: the run's seed).
        weight_decay_layers: ``"first"`` puts the weight decay on the first
            layer only (the GCN paper), ``"all"`` on every parameter.
        weight_decay_rest: with ``"first"``, the weight decay of the other
            parameters (default 0).
        early_stopping: ``"val_loss"`` or ``"val_loss_acc"`` (the GAT paper:
            patience resets when either improves, weights kept when both do).
        dataset: the dataset's name, recorded in checkpoints.
    """

    features: str = "auto"
    normalize_features: bool = True
    structural_dim: int = 32
    sparse_features: bool | None = None
    split: tuple[float, float, float] = _DEFAULT_SPLIT
    per_class: int | None = None
    split_seed: int | None = None
    weight_decay_layers: str = "first"
    weight_decay_rest: float = 0.0
    early_stopping: str = "val_loss"
    dataset: str | None = None

    def __post_init__(self) -> None:
        try:
            self.split = tuple(float(f) for f in self.split)  # type: ignore[assignment]
        except (TypeError, ValueError):
            raise ValueError(f"NodeConfig: split must be three fractions (train, val, test), got {self.split!r}") \
                from None
        checks = [
            (len(self.split) == 3 and all(math.isfinite(f) and f >= 0 for f in self.split),
             f"split must be three finite fractions >= 0 (train, val, test), got {self.split}"),
            (self.per_class is None or (isinstance(self.per_class, numbers.Integral) and not isinstance(self.per_class, bool)
                                        and self.per_class >= 1),
             f"per_class must be a whole number >= 1 of training nodes per class, got {self.per_class!r}"),
            (self.features in _FEATURE_MODES, f"features must be one of {_FEATURE_MODES}, got {self.features!r}"),
            (self.weight_decay_layers in ("first", "all"),
             f"weight_decay_layers must be 'first' or 'all', got {self.weight_decay_layers!r}"),
            (self.weight_decay_rest >= 0, f"weight_decay_rest must be >= 0, got {self.weight_decay_rest}"),
            (self.early_stopping in _STOPPING,
             f"early_stopping must be one of {tuple(_STOPPING)}, got {self.early_stopping!r}"),
            (self.structural_dim >= 0, f"structural_dim must be >= 0, got {self.structural_dim}"),
            (self.per_class is None or self.split == _DEFAULT_SPLIT,
             f"per_class replaces split (a number of training nodes per class instead of fractions); give one "
             f"of them, got per_class={self.per_class} and split={self.split}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"NodeConfig: {message}")


# --------------------------------------------------------------------------- data
def prepare_graph(graph: Graph, config: NodeConfig, seed: int = 0) -> Graph:
    """The graph a run trains on: split masks when it has none, structural
    features when asked or when it has no features, row-normalised features.

    Deterministic given ``config`` and ``seed``, and idempotent (a prepared
    graph comes back unchanged), so ``predict`` rebuilds what training saw.
    """
    check_labels(graph)
    changes: dict[str, Any] = {}
    masks = (graph.train_mask, graph.val_mask, graph.test_mask)
    if all(m is None for m in masks):
        split_seed = seed if config.split_seed is None else config.split_seed
        train, val, test = stratified_split(graph.y, config.split, per_class=config.per_class, seed=split_seed)
        changes.update(train_mask=train.to(graph.device), val_mask=val.to(graph.device), test_mask=test.to(graph.device))
    else:
        check_split_options(graph, config, seed)
    if any(m is None for m in masks) and not all(m is None for m in masks):
        missing = [n for n, m in zip(("train_mask", "val_mask", "test_mask"), masks) if m is None]
        raise ValueError(f"the graph has some split masks but not {missing}: give all three or none (then a "
                         f"stratified split is drawn from split={config.split})")
    key = (config.features, config.normalize_features, config.structural_dim, seed)
    x = graph.x
    if graph._cache.get(_PREPARED) == key:
        pass  # already prepared with these settings: leave the features alone
    elif config.features == "given" and x is None:
        raise ValueError("features='given' but the graph has no node features; use features='auto', "
                         "'structural' or 'embedding'")
    elif config.features == "structural" or (config.features == "auto" and x is None):
        x = structural_features(graph.edge_index, graph.num_nodes, dim=config.structural_dim, seed=seed).to(graph.device)
    elif config.features == "embedding":
        x = None
    elif config.normalize_features:
        x = row_normalize(x.float())
    if x is not graph.x:
        changes["x"] = x
    prepared = graph.replace(**changes) if changes else graph
    prepared._cache[_PREPARED] = key  # a replace() or to() starts a fresh cache
    check_masks(prepared)
    return prepared


def graph_signature(graph: Graph, dataset: str | None) -> dict[str, Any]:
    """What a checkpoint records of the graph it was trained on: names and
    sizes, and a digest of its edges, weights, labels and features (an edited
    file with the same sizes is then told apart)."""
    from gnnkit.digest import content_digest

    return {"dataset": dataset, "num_nodes": graph.num_nodes, "num_edges": graph.num_edges,
            "num_features": graph.num_features, "num_classes": graph.num_classes,
            "digest": content_digest(graph.edge_index, graph.edge_weight, graph.y, graph.x)}


# --------------------------------------------------------------------------- task
class NodeTask(Task):
    """Node classification on a prepared graph.

    Args:
        graph: the graph; it goes through ``prepare_graph`` (a no-op on one
            that is already prepared with ``config`` and ``seed``).
        model: from ``build_model`` (any of ``MODELS``).
        config: ``NodeConfig``.
        minibatch: train on sampled neighbourhoods (GraphSAGE-style) and
            evaluate layer-wise in blocks; ``None`` trains full-batch. Under
            ``torchrun`` mini-batch training runs data-parallel.
        seed: the run's seed (split, structural features, sampling).
    """

    name = "node"

    def __init__(self, graph: Graph, model: nn.Module, config: NodeConfig | None = None,
                 minibatch: MiniBatchConfig | None = None, seed: int = 0) -> None:
        self.config, self.minibatch, self.seed = config or NodeConfig(), minibatch, seed
        self.monitors = _STOPPING[self.config.early_stopping]
        self.distributed = minibatch is not None
        self.model, self.spec = model, model_spec(model)
        graph = prepare_graph(graph, self.config, seed)
        out = self.spec["hparams"]["out_channels"]
        if out != graph.num_classes:
            raise ValueError(f"the model predicts {out} classes but the graph has {graph.num_classes}")
        self.signature = graph_signature(graph, self.config.dataset)
        self.graph = graph
        if minibatch is not None:
            self._check_minibatch(minibatch)

    def _check_minibatch(self, mb: MiniBatchConfig) -> None:
        if unwrap(self.model) is not self.model:
            raise ValueError("mode='minibatch' needs node features; features='embedding' trains full-batch only")
        layers = len(getattr(self.model, "layers", []))
        if layers and len(mb.fanout) != layers:
            raise ValueError(f"fanout {list(mb.fanout)} has {len(mb.fanout)} hops but the model has {layers} "
                             f"layers; give one fan-out per layer (e.g. --fanout {','.join(['10'] * layers)})")

    def setup(self, device: torch.device, dist: DistContext) -> None:
        super().setup(device, dist)
        self.graph = self.graph.to(device)
        self.adj = self.graph.csr()
        self.x = self.graph.x if self.minibatch is not None else self._input_features(self.graph.x)

    def _input_features(self, x: Tensor | None):
        use_sparse = self.config.sparse_features
        if x is None:
            return None
        if use_sparse is None:
            use_sparse = getattr(unwrap(self.model), "sparse_input", False) and float((x != 0).float().mean()) < 0.1
        return sparse_features(x) if use_sparse else x

    def configure_optimizer(self, optim: OptimConfig) -> torch.optim.Optimizer:
        wd = optim.weight_decay
        if self.config.weight_decay_layers == "all":
            groups = [{"params": list(self.model.parameters()), "weight_decay": wd}]
        else:
            first = {id(p) for p in unwrap(self.model).layers[0].parameters()}
            groups = [
                {"params": [p for p in self.model.parameters() if id(p) in first], "weight_decay": wd},
                {"params": [p for p in self.model.parameters() if id(p) not in first],
                 "weight_decay": self.config.weight_decay_rest},
            ]
        return torch.optim.Adam(groups, lr=optim.lr, foreach=True)  # (as Task.configure_optimizer)

    def describe(self) -> str:
        return f"{self.spec['name']} node classification"

    def progress(self, row: dict[str, Any]) -> dict[str, str]:
        return {"loss": f"{row['loss']:.3f}", "val_acc": f"{row['val_accuracy']:.3f}"}

    # ----------------------------------------------------------------- steps
    def train_epoch(self, engine: Engine) -> float:
        if self.minibatch is not None:
            return self._train_epoch_minibatch(engine)
        g = self.graph
        with engine.autocast():
            out = engine.train_model(self.x, self.adj).float()
        loss = F.cross_entropy(out[g.train_mask], g.y[g.train_mask])
        engine.step(loss)
        return float(loss.detach())

    def _train_epoch_minibatch(self, engine: Engine) -> float:
        """One pass over this process's share of the training nodes in sampled mini-batches."""
        mb, g, epoch = self.minibatch, self.graph, engine.epoch
        # Every rank draws the same permutation (seeded by seed and epoch), then takes its own share.
        order = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        seeds = g.train_mask.nonzero().flatten().cpu()
        seeds = shard(seeds[torch.randperm(seeds.numel(), generator=order)], self.dist).to(self.device)
        loader = NeighborLoader(g, list(mb.fanout), batch_size=mb.batch_size, input_nodes=seeds, shuffle=False,
                                seed=self.seed * 100_003 + epoch * 7919 + self.dist.rank)
        total, count = torch.zeros((), device=self.device), 0
        for batch in loader:
            sub = batch.graph
            with engine.autocast():
                out = engine.train_model(sub.x, sub.edge_index).float()[: batch.batch_size]
            loss = F.cross_entropy(out, sub.y[: batch.batch_size])
            engine.step(loss)
            total += loss.detach() * batch.batch_size
            count += batch.batch_size
        stats = all_reduce_sum(torch.stack([total, torch.tensor(float(count), device=self.device)]), self.dist)
        return float(stats[0] / stats[1].clamp(min=1))

    def logits(self, amp: str | None = None) -> Tensor:
        """Logits of every node, dropout off: the full forward, or in
        mini-batch mode the layer-wise inference over blocks of nodes."""
        from gnnkit.train.runtime import autocast

        with eval_mode(self.model), autocast(self.device, amp):
            if self.minibatch is None:
                return self.model(self.x, self.adj).float()
            return layerwise_inference(self.model, self.x, self.adj, self.minibatch.inference_batch_size,
                                       self.device).float()

    def metrics(self, logits: Tensor, full: bool) -> dict[str, float]:
        """Loss, accuracy and macro-F1 on the three splits; ``full=False``:
        only what the per-epoch log needs."""
        g, row = self.graph, {}
        for split in ("train", "val", "test"):
            mask = getattr(g, f"{split}_mask")
            out, target = logits[mask], g.y[mask]
            if full or split == "val":
                row[f"{split}_loss"] = float(F.cross_entropy(out, target))
            row[f"{split}_accuracy"] = accuracy(out, target)
            if full:
                row[f"{split}_macro_f1"] = macro_f1(out, target, g.num_classes)
        return row

    def validate(self, engine: Engine) -> dict[str, float]:
        return self.metrics(self.logits(engine.run.amp), full=False)

    def test(self, engine: Engine) -> dict[str, float]:
        return self.metrics(self.logits(engine.run.amp), full=True)

    # ----------------------------------------------------------- checkpoints
    def model_spec(self) -> dict[str, Any]:
        return self.spec

    def data_signature(self) -> dict[str, Any]:
        return self.signature

    def settings(self) -> dict[str, Any]:
        values = dataclasses.asdict(self.config)
        values.pop("dataset")  # checked through the data signature
        values["minibatch"] = None if self.minibatch is None else dataclasses.asdict(self.minibatch)
        return values

    def check_checkpoint(self, ckpt: dict[str, Any], path: Any) -> None:
        theirs, spec = ckpt["model"], self.spec
        if theirs != spec:
            raise ValueError(f"checkpoint {path} holds model {theirs['name']!r} {theirs['hparams']} but this run uses "
                             f"{spec['name']!r} {spec['hparams']}; use the same --model and hyper-parameters or "
                             f"another checkpoint")
        their_graph, signature = ckpt["data"], self.signature
        if not data_matches(their_graph, signature) and their_graph.get("num_nodes") == signature["num_nodes"] \
                and their_graph.get("dataset") == signature["dataset"]:
            check_same_data(their_graph, signature, path)  # same name and sizes, other contents: says so
        if not data_matches(their_graph, signature):
            raise ValueError(f"checkpoint {path} was written for dataset {their_graph['dataset']!r} "
                             f"({their_graph['num_nodes']} nodes, {their_graph['num_classes']} classes) but this run "
                             f"has {signature['dataset']!r} ({signature['num_nodes']} nodes, "
                             f"{signature['num_classes']} classes)")
