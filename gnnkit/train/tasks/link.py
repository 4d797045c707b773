"""Link prediction as a task on the engine: GAE, VGAE or encoder + decoder on a leak-free edge split.

Data flows one way::

    split = split_edges(graph, val=0.05, test=0.10, seed=0)        # gnnkit.sampling
    features = link_features(split, "gae", LinkConfig())            # the first layer's input
    model = build_model("gae", features, num_nodes=split.num_nodes, seed=0)
    task = LinkTask(split, model, features, LinkConfig())
    result = Engine(task, OptimConfig(lr=0.01), StopConfig(epochs=400), RunConfig(seed=0)).fit()

Each epoch encodes the nodes on the training graph only (validation and test
edges are not in it) and minimises the binary cross-entropy of the training
edges against ``neg_ratio`` fresh uniform non-edges per edge
(``loss="sampled"``), or the paper's weighted cross-entropy over all ``N²``
pairs (``loss="dense"``); VGAE adds its KL term. Every epoch is validated on
the validation pairs; the engine keeps the weights of the best mean of
validation ROC-AUC and AP, and the test pairs are scored once with them.
With a ``MiniBatchConfig`` the training pairs are walked in batches with the
sampled neighbourhoods of their endpoints (``LinkNeighborLoader``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.models.gae import DECODERS, dense_recon_loss, link_bce_loss
from gnnkit.sampling import EdgeSet, LinkNeighborLoader, LinkSplit, negative_sampling
from gnnkit.train.config import MiniBatchConfig, OptimConfig
from gnnkit.train.link_metrics import auc_and_ap, hits_at_k, mrr
from gnnkit.train.runtime import autocast, eval_mode
from gnnkit.train.task import Task
from gnnkit.train.tasks.link_models import (FEATURE_MODES, MODEL_DEFAULTS, MODEL_KINDS, LinkFeatures,  # noqa: F401
                                            build_model, link_features)

if TYPE_CHECKING:
    from gnnkit.train.engine import Engine

LOSSES = ("sampled", "dense")
HITS_AT = (10, 50)

@dataclass
class LinkConfig:
    """What link prediction itself needs to know.

    Args:
        val: fraction of the edges held out for validation (default 0.05).
        test: fraction held out for test (default 0.10).
        split_seed: seed of the edge split (default: the run's seed, so every
            seed draws its own split, as in the GAE paper's ten runs).
        features: ``"auto"`` (the graph's features, a learnable embedding per
            node when it has none, or structural features when the features
            must be dense as mini-batches need), ``"given"``, ``"embedding"`` or
            ``"structural"`` (degree, clustering, PageRank, FastRP — computed
            on the training graph, so held-out edges leave no trace in them).
        feature_norm: ``"row"`` (each row of given features divided by its
            sum) or ``"none"``; structural features are standardised instead.
        embedding_dim: width of the learnable embedding of ``"embedding"``
            for ``sage`` (GAE, VGAE and GCN read a sparse identity matrix
            instead: their first layer's weights are the embedding).
        neg_ratio: training negatives per training edge, drawn afresh each
            epoch (default 1).
        negative_method: ``"uniform"`` (default) or ``"degree"``.
        loss: ``"sampled"`` (BCE on sampled negatives, default) or ``"dense"``
            (the GAE paper's weighted BCE over all ``N²`` pairs; full mode only).
        dataset: the dataset's name, recorded in checkpoints.
    """

    val: float = 0.05
    test: float = 0.10
    split_seed: int | None = None
    features: str = "auto"
    feature_norm: str = "row"
    embedding_dim: int = 64
    neg_ratio: float = 1.0
    negative_method: str = "uniform"
    loss: str = "sampled"
    dataset: str | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.features in FEATURE_MODES, f"features must be one of {FEATURE_MODES}, got {self.features!r}"),
            (self.feature_norm in ("row", "none"), f"feature_norm must be 'row' or 'none', got {self.feature_norm!r}"),
            (self.neg_ratio > 0, f"neg_ratio must be > 0, got {self.neg_ratio}"),
            (self.negative_method in ("uniform", "degree"),
             f"negative_method must be 'uniform' or 'degree', got {self.negative_method!r}"),
            (self.loss in LOSSES, f"loss must be one of {LOSSES}, got {self.loss!r}"),
            (self.embedding_dim >= 1, f"embedding_dim must be >= 1, got {self.embedding_dim}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"LinkConfig: {message}")


class LinkTask(Task):
    """Link prediction on an edge split (see the module docstring).

    Args:
        split: from ``split_edges``.
        model: from ``build_model`` (``GAE``, ``VGAE`` or ``LinkPredictor``).
        features: from ``link_features``.
        config: ``LinkConfig``.
        minibatch: train on sampled link neighbourhoods (``batch_size`` pairs
            per step, ``fanout`` per hop); evaluation stays full-graph
            without gradients. ``None`` trains full-batch.
        seed: seeds the negatives and the mini-batches.
        spec: how the model was built (``{"kind": ..., **hparams}``), stored
            in checkpoints.
    """

    name = "link"
    monitors = (("val_auc_ap", "max"),)

    def __init__(self, split: LinkSplit, model: nn.Module, features: LinkFeatures, config: LinkConfig | None = None,
                 minibatch: MiniBatchConfig | None = None, seed: int = 0, spec: dict[str, Any] | None = None) -> None:
        self.config, self.minibatch, self.seed = config or LinkConfig(), minibatch, seed
        self.split, self.model, self.features = split, model, features
        decoder = next((name for name, cls in DECODERS.items() if type(model.decoder) is cls), "custom")
        self.spec = dict(spec) if spec is not None else {"kind": type(model).__name__.lower(), "decoder": decoder}
        if self.config.loss == "dense" and minibatch is not None:
            raise ValueError("loss='dense' scores all N² pairs of the whole graph; it does not combine with "
                             "mini-batches (use loss='sampled')")
        if minibatch is not None and not isinstance(features.x, Tensor):
            raise ValueError("mini-batch link prediction needs dense node features: build them with "
                             "link_features(..., sparse=False), and for a graph without features use "
                             "features='structural' (--features structural; a per-node embedding trains in "
                             "--mode full only)")
        for part in ("val", "test"):
            if getattr(split, f"{part}_pos").size(1) == 0:
                raise ValueError(f"the split has no {part} edges: nothing to "
                                 f"{'stop early on' if part == 'val' else 'evaluate'}; give val and test > 0")

    def setup(self, device: torch.device, dist: Any) -> None:
        super().setup(device, dist)
        self.split = self.split.to(device)
        x = self.features.x
        self.x = None if x is None else x.to(device)
        self.adj = self.split.graph.csr()
        self._eval_pairs: dict[str, tuple[Tensor, Tensor]] = {}  # split.pairs() builds new tensors each call
        self.train_edges = EdgeSet(self.split.graph.edge_index)  # negatives avoid training edges only
        self.generator = torch.Generator(device=device).manual_seed(self.seed)
        self._loader = None
        if self.minibatch is not None:
            mb = self.minibatch
            graph = self.split.graph.replace(x=self.x)
            self._loader = LinkNeighborLoader(graph, self.split.train_pos, list(mb.fanout), mb.batch_size,
                                              neg_ratio=self.config.neg_ratio, exclude=self.train_edges,
                                              method=self.config.negative_method, seed=self.seed)

    def configure_optimizer(self, optim: OptimConfig) -> torch.optim.Optimizer | None:
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            return None
        # Fused: one pass over each parameter per step instead of a dozen; on Cora's
        # 1433 x 64 first layer the step costs about half the foreach one (same
        # update rule; the rounding differs from the per-op form in the last bits).
        return torch.optim.Adam(params, lr=optim.lr, weight_decay=optim.weight_decay, fused=True)

    def describe(self) -> str:
        return f"{self.spec.get('kind', 'link')} link prediction"

    def progress(self, row: dict[str, Any]) -> dict[str, str]:
        shown = {"loss": f"{row['loss']:.4f}"}
        if "val_auc" in row:
            shown.update(val_auc=f"{row['val_auc']:.4f}", val_ap=f"{row['val_ap']:.4f}")
        return shown

    # ----------------------------------------------------------------- steps
    def train_epoch(self, engine: Engine) -> float:
        if self._loader is not None:
            return self._train_epoch_minibatch(engine)
        split, cfg, model = self.split, self.config, self.model
        with engine.autocast():
            z, penalty = engine.train_model(self.x, self.adj)
        z = z.float()
        if cfg.loss == "dense":
            loss = dense_recon_loss(z, split.graph.edge_index)
        else:
            pos = split.train_pos
            neg = negative_sampling(split.graph.edge_index, split.num_nodes, round(cfg.neg_ratio * pos.size(1)),
                                    method=cfg.negative_method, exclude=self.train_edges, generator=self.generator)
            loss = link_bce_loss(model.decode(z, pos).float(), model.decode(z, neg).float())
        loss = loss + penalty.float()
        engine.step(loss)
        return float(loss.detach())

    def _train_epoch_minibatch(self, engine: Engine) -> float:
        total, count = 0.0, 0
        # Seeded by the epoch, as node classification's batches: a resumed run draws the same batches.
        self._loader.reseed(self.seed * 100_003 + engine.epoch)
        for batch in self._loader:
            sub = batch.graph
            with engine.autocast():
                z, penalty = engine.train_model(sub.x, sub.edge_index)
                logits = self.model.decode(z, batch.pairs).float()
            loss = F.binary_cross_entropy_with_logits(logits, batch.labels) + penalty.float()
            engine.step(loss)
            total, count = total + float(loss.detach()) * logits.numel(), count + logits.numel()
        return total / max(count, 1)

    # ------------------------------------------------------------ evaluation
    @torch.no_grad()
    def embeddings(self, amp: str | None = None) -> Tensor:
        """``[N, D]`` node embeddings on the training graph, dropout off (VGAE: the means)."""
        with eval_mode(self.model), autocast(self.device, amp):
            return self.model.encode(self.x, self.adj).float()

    @torch.no_grad()
    def scores(self, part: str, z: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(logits, labels)`` of the ``"val"`` or ``"test"`` pairs."""
        z = self.embeddings() if z is None else z
        if part not in self._eval_pairs:  # the same tensors every epoch: pair_dot keeps their grouping
            self._eval_pairs[part] = self.split.pairs(part)
        pairs, labels = self._eval_pairs[part]
        with eval_mode(self.model):
            return self.model.decode(z, pairs).float(), labels

    def metrics(self, part: str, z: Tensor, full: bool) -> dict[str, float]:
        logits, labels = self.scores(part, z)
        auc, ap = auc_and_ap(logits, labels)
        row = {f"{part}_auc": auc, f"{part}_ap": ap,
               f"{part}_loss": float(F.binary_cross_entropy_with_logits(logits, labels))}
        if part == "val":
            row["val_auc_ap"] = (auc + ap) / 2
        if full:
            pos, neg = logits[labels == 1], logits[labels == 0]
            row.update({f"{part}_hits@{k}": hits_at_k(pos, neg, k) for k in HITS_AT})
            row[f"{part}_mrr"] = mrr(pos, neg)
        return row

    def validate(self, engine: Engine) -> dict[str, float]:
        return self.metrics("val", self.embeddings(engine.run.amp), full=False)

    def test(self, engine: Engine) -> dict[str, float]:
        z = self.embeddings(engine.run.amp)
        return {**self.metrics("test", z, full=True), **self.metrics("val", z, full=True)}

    # ----------------------------------------------------------- checkpoints
    def model_spec(self) -> dict[str, Any]:
        return self.spec

    def data_signature(self) -> dict[str, Any]:
        from gnnkit.digest import content_digest

        s = self.split
        return {"dataset": self.config.dataset, "num_nodes": s.num_nodes, "num_train": s.train_pos.size(1),
                "num_val": s.val_pos.size(1), "num_test": s.test_pos.size(1), "features": self.features.kind,
                "num_features": self.features.width,
                "digest": content_digest(s.train_pos, s.val_pos, s.val_neg, s.test_pos, s.test_neg)}

    def settings(self) -> dict[str, Any]:
        values = dataclasses.asdict(self.config)
        values.pop("dataset")  # checked through the data signature
        values["minibatch"] = None if self.minibatch is None else dataclasses.asdict(self.minibatch)
        return values

    def generators(self) -> dict[str, torch.Generator]:
        return {"generator": self.generator}

    def export(self) -> dict[str, Any]:
        """What ``gnnkit suggest-friends`` reads: the embeddings of the tested
        weights and every known edge (to leave existing neighbours out)."""
        s = self.split
        known = torch.cat([s.train_pos, s.val_pos, s.test_pos], dim=1)
        return {"embeddings": self.embeddings().cpu(), "known": known.cpu(), "undirected": s.undirected,
                "features": self.features.description}


def suggest(checkpoint: dict[str, Any], node: int, k: int = 10) -> tuple[Tensor, Tensor]:
    """The ``k`` most likely new neighbours of ``node`` from a finished link checkpoint.

    Scores every pair ``(node, v)`` with the trained decoder on the exported
    embeddings and leaves out ``node`` itself and every known edge of it
    (training, validation and test).

    Args:
        checkpoint: a loaded checkpoint of a finished ``LinkTask`` run.
        node: the node id.
        k: number of suggestions (fewer when the node has fewer non-neighbours).

    Returns:
        ``(nodes [k], logits [k])``, best first.

    Raises:
        ValueError: ``node`` outside the graph, ``k < 1``.
    """
    from gnnkit.nn.models.gae import make_decoder
    from gnnkit.train.engine import trained_weights

    export = checkpoint["export"]
    z, known = export["embeddings"], export["known"]
    n = z.size(0)
    if not isinstance(node, int) or not 0 <= node < n:
        raise ValueError(f"node {node} is outside the graph: ids run from 0 to {n - 1}; pass one of them")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    decoder = make_decoder(checkpoint["model"].get("decoder", "dot"), z.size(1))
    weights = trained_weights(checkpoint)
    decoder.load_state_dict({key[len("decoder."):]: v for key, v in weights.items() if key.startswith("decoder.")})
    candidates = torch.arange(n)
    with torch.no_grad(), eval_mode(decoder):
        logits = decoder(z, torch.stack([torch.full_like(candidates, node), candidates])).float()
    mine = torch.cat([known[1][known[0] == node], known[0][known[1] == node] if export["undirected"] else
                      known[0][:0], torch.tensor([node])])
    logits[mine] = float("-inf")
    k = min(k, n - int(torch.unique(mine).numel()))
    top = torch.topk(logits, k)
    return top.indices, top.values


__all__ = ["FEATURE_MODES", "HITS_AT", "LOSSES", "MODEL_DEFAULTS", "MODEL_KINDS", "LinkConfig", "LinkFeatures",
           "LinkTask", "build_model", "link_features", "suggest"]
