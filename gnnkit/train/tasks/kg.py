"""Knowledge-graph completion as a task on the engine: 1-vs-all or sampled negatives, filtered ranking.

``KGTask(model, kg, KGConfig())`` trains a ``KGEModel`` (TransE, DistMult,
ComplEx, RotatE, or any of them over an R-GCN encoder) to score true triples
above false ones, and measures it with filtered, realistic rank metrics
(``gnnkit.train.kg_metrics``) on both head and tail prediction. Validation MRR
drives early stopping.

Two ways to train (``KGConfig.loss``):

* **1-vs-all** (LCWA; ``"ce"``, the default, or ``"bce"``): the training
  triples are grouped by their ``(h, r)`` query; each step scores every
  entity as the tail of a batch of queries and pushes the true tails up
  (Dettmers et al., 2018); with ``per_triple`` each training triple is a
  row whose one tail is the target (Lacroix et al., 2018). With inverse triples
  (``KGConfig.inverse``, default) head prediction is the tail prediction of
  the inverse relation, so one score function covers both; without them the
  ``(?, r, t)`` queries are trained with ``score_heads`` too.
* **sampled negatives** (sLCWA; ``"nssa"``, the self-adversarial loss of
  RotatE, or ``"margin"``, TransE's margin ranking loss): each training
  triple is compared with ``num_negatives`` corruptions (of the tail with
  inverse triples, of the head or tail otherwise). With
  ``filter_negatives`` a corruption that is itself a training triple is left
  out of the loss.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gnnkit.datasets.knowledge_graph import KnowledgeGraph
from gnnkit.nn.models.kge import KGEModel
from gnnkit.nn.models.kge_losses import lcwa_loss, margin_ranking_loss, self_adversarial_loss
from gnnkit.train.kg_metrics import HITS_AT, TripleFilter, evaluate_ranking
from gnnkit.train.runtime import eval_mode
from gnnkit.train.task import Task, check_same_data
from gnnkit.train.tasks.kg_models import MODEL_DEFAULTS, MODEL_KINDS, build_model  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from gnnkit.train.engine import Engine

LOSSES = ("ce", "bce", "nssa", "margin")

@dataclass
class KGConfig:
    """What knowledge-graph training itself needs to know.

    Args:
        loss: ``"ce"`` (default) or ``"bce"`` 1-vs-all; ``"nssa"``
            (self-adversarial negative sampling) or ``"margin"`` with sampled
            negatives.
        per_triple: 1-vs-all rows are training triples with their one tail as
            the target (Lacroix et al., 2018) instead of ``(h, r)`` queries
            with all their true tails (default ``True``: better MRR and Hits@10
            on Kinships and Nations, at about the same cost per epoch).
        inverse: train on inverse triples too (default ``True``).
        batch_size: triples (or queries, without ``per_triple``) per step (default 1024).
        label_smoothing: 1-vs-all target smoothing (default 0.1).
        num_negatives: corruptions per triple with sampled negatives (default 64).
        margin: ``γ`` of the ``nssa`` / ``margin`` losses (default 9).
        adversarial_temperature: ``α`` of ``nssa`` (default 1).
        filter_negatives: leave corruptions that are training triples out of
            the loss (default ``False``).
        eval_batch_size: queries ranked at once (default 512).
    """

    loss: str = "ce"
    per_triple: bool = True
    inverse: bool = True
    batch_size: int = 1024
    label_smoothing: float = 0.1
    num_negatives: int = 64
    margin: float = 9.0
    adversarial_temperature: float = 1.0
    filter_negatives: bool = False
    eval_batch_size: int = 512

    def __post_init__(self) -> None:
        checks = [
            (self.loss in LOSSES, f"loss must be one of {LOSSES}, got {self.loss!r}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing must be in [0, 1), got {self.label_smoothing}"),
            (self.num_negatives >= 1, f"num_negatives must be >= 1, got {self.num_negatives}"),
            (self.adversarial_temperature >= 0, f"adversarial_temperature must be >= 0, got "
                                                f"{self.adversarial_temperature}"),
            (self.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {self.eval_batch_size}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"KGConfig: {message}")

    @property
    def one_vs_all(self) -> bool:
        return self.loss in ("ce", "bce")


# --------------------------------------------------------------------------- task
class KGTask(Task):
    """Link prediction on a ``KnowledgeGraph`` (see the module docstring).

    Args:
        model: a ``KGEModel`` sized for ``kg`` (``build_model``).
        kg: the triples; made ``with_inverse()`` here when ``config.inverse``.
        config: ``KGConfig``.
        seed: seeds the shuffling and the negatives.
        spec: how the model was built (``{"kind": ..., **hparams}``), stored in
            checkpoints; default: the model's class name.
    """

    name = "kg"
    monitors = (("val_mrr", "max"),)

    def __init__(self, model: KGEModel, kg: KnowledgeGraph, config: KGConfig | None = None, seed: int = 0,
                 spec: dict[str, Any] | None = None) -> None:
        self.config = cfg = config or KGConfig()
        self.kg = kg.with_inverse() if cfg.inverse else kg
        self.model, self.seed = model, seed
        self._said_no_negatives = False
        self.spec = dict(spec) if spec is not None else {"kind": type(model).__name__.lower()}
        if (model.num_entities, model.num_relations) != (self.kg.num_entities, self.kg.num_relations):
            raise ValueError(
                f"the model is sized for {model.num_entities} entities x {model.num_relations} relations but the "
                f"graph has {self.kg.num_entities} x {self.kg.num_relations}"
                f"{' (inverse relations included)' if self.kg.inverse else ''}; build it with build_model(kind, kg)")
        for split in ("valid", "test"):
            if len(self.kg.split(split)) == 0:
                raise ValueError(f"knowledge graph {kg.name!r} has an empty {split} split: nothing to "
                                 f"{'stop early on' if split == 'valid' else 'evaluate'}")

    def setup(self, device: torch.device, dist: Any) -> None:
        super().setup(device, dist)
        kg, r0 = self.kg.to(device), self.kg.num_base_relations
        self.kg_dev = kg
        known = kg.known_triples()
        self.filter = TripleFilter(known.head, known.relation, known.tail, kg.num_entities, r0)
        tr = kg.train
        # true tails of every training (h, r) query: the 1-vs-all targets, and the negatives to filter
        self.train_filter = TripleFilter(tr.head, tr.relation, tr.tail, kg.num_entities, kg.num_relations)
        self.generator = torch.Generator(device=device).manual_seed(self.seed)
        if self.config.one_vs_all and not self.config.per_triple:
            sides = [("tail", tr.head, tr.relation)]
            if not kg.inverse:
                sides.append(("head", tr.tail, tr.relation))
            self.queries = []
            for side, anchor, rel in sides:  # unique (anchor, relation) queries of each side
                key = torch.unique(anchor * kg.num_relations + rel)
                self.queries.append((side, key // kg.num_relations, key % kg.num_relations))

    def describe(self) -> str:
        return f"{self.spec.get('kind', 'kg')} {self.kg.name}"

    # ----------------------------------------------------------------- steps
    def train_epoch(self, engine: Engine) -> float:
        """One pass over the training queries (1-vs-all) or triples (sampled
        negatives) in shuffled batches. Returns the mean loss."""
        cfg = self.config
        batches = self._one_vs_all_batches() if cfg.one_vs_all and not cfg.per_triple else self._triple_batches()
        total, steps = torch.zeros((), device=self.device), 0
        for batch in batches:
            loss = self._loss(engine, *batch)
            engine.step(loss)
            self.model.post_step()
            total += loss.detach()
            steps += 1
        return float(total) / max(steps, 1)

    def _one_vs_all_batches(self) -> list[tuple[str, Tensor, Tensor]]:
        bs, g, out = self.config.batch_size, self.generator, []
        for side, anchor, rel in self.queries:
            perm = torch.randperm(anchor.numel(), generator=g, device=self.device)
            out += [(side, anchor[perm[s:s + bs]], rel[perm[s:s + bs]]) for s in range(0, perm.numel(), bs)]
        if len(self.queries) > 1:  # interleave the head and tail batches
            order = torch.randperm(len(out), generator=g, device=self.device).tolist()
            out = [out[k] for k in order]
        return out

    def _triple_batches(self) -> list[tuple[str, Tensor, Tensor, Tensor]]:
        tr, bs, g = self.kg_dev.train, self.config.batch_size, self.generator
        perm = torch.randperm(len(tr), generator=g, device=self.device)
        kind = "rows" if self.config.one_vs_all else "triples"
        return [(kind, tr.head[idx], tr.relation[idx], tr.tail[idx])
                for idx in (perm[s:s + bs] for s in range(0, perm.numel(), bs))]

    def _loss(self, engine: Engine, side: str, *batch: Tensor) -> Tensor:
        if side == "triples":
            return self._sampled_loss(engine, *batch)
        if side == "rows":
            return self._per_triple_loss(engine, *batch)
        cfg, model = self.config, self.model
        anchor, rel = batch
        ent = model.entity_representations()
        with engine.autocast():
            scores = model.score_tails(anchor, rel, ent) if side == "tail" else model.score_heads(rel, anchor, ent)
        lookup = self.train_filter.true_tails if side == "tail" else \
            (lambda a, r: self.train_filter.true_heads(r, a))
        rows, cols = lookup(anchor, rel)
        targets = torch.zeros_like(scores, dtype=torch.float32)
        targets[rows, cols] = 1.0
        loss = lcwa_loss(scores.float(), targets, cfg.loss, cfg.label_smoothing)
        # the penalty covers the batch's true triples
        h, t = (anchor[rows], cols) if side == "tail" else (cols, anchor[rows])
        return loss + model.regularization(h, rel[rows], t, ent)

    def _per_triple_loss(self, engine: Engine, head: Tensor, rel: Tensor, tail: Tensor) -> Tensor:
        cfg, model = self.config, self.model
        ent = model.entity_representations()
        rows = torch.arange(head.numel(), device=self.device)
        with engine.autocast():
            scores = model.score_tails(head, rel, ent)
        targets = torch.zeros_like(scores, dtype=torch.float32)
        targets[rows, tail] = 1.0
        loss = lcwa_loss(scores.float(), targets, cfg.loss, cfg.label_smoothing)
        if not self.kg.inverse:  # the head side with the model's own head score
            with engine.autocast():
                scores = model.score_heads(rel, tail, ent)
            targets = torch.zeros_like(scores, dtype=torch.float32)
            targets[rows, head] = 1.0
            loss = (loss + lcwa_loss(scores.float(), targets, cfg.loss, cfg.label_smoothing)) / 2
        return loss + model.regularization(head, rel, tail, ent)

    def _sampled_loss(self, engine: Engine, head: Tensor, rel: Tensor, tail: Tensor) -> Tensor:
        cfg, model, k = self.config, self.model, self.config.num_negatives
        n, e = head.numel(), self.kg.num_entities
        random = torch.randint(0, e, (n, k), generator=self.generator, device=self.device)
        if self.kg.inverse:  # the inverse triples already corrupt heads: corrupt tails only
            corrupt_head = torch.zeros(n, 1, dtype=torch.bool, device=self.device)
        else:
            corrupt_head = torch.rand(n, 1, generator=self.generator, device=self.device) < 0.5
        neg_h = torch.where(corrupt_head, random, head.unsqueeze(1))
        neg_t = torch.where(corrupt_head, tail.unsqueeze(1), random)
        ent = model.entity_representations()
        with engine.autocast():
            pos = model.score_hrt(head, rel, tail, ent).float()
            neg = model.score_hrt(neg_h.reshape(-1), rel.repeat_interleave(k), neg_t.reshape(-1), ent)
        neg = neg.float().view(n, k)
        if cfg.filter_negatives:  # a corruption that is a training triple is no negative
            true = self._is_training_triple(neg_h, rel.unsqueeze(1).expand(-1, k), neg_t)
            neg = neg.masked_fill(true, float("-inf"))
            if not self._said_no_negatives and bool(true.all()):
                self._said_no_negatives = True
                warnings.warn("every sampled negative of a training batch was a training triple and was left "
                              "out (filter_negatives): the graph is so dense that the batch trained on positives "
                              "alone; drop --filter-negatives or use a 1-vs-all loss", RuntimeWarning, stacklevel=2)
        if cfg.loss == "nssa":
            loss = self_adversarial_loss(pos, neg, cfg.margin, cfg.adversarial_temperature)
        else:
            loss = margin_ranking_loss(pos, neg, cfg.margin)
        return loss + model.regularization(head, rel, tail, ent)

    def _is_training_triple(self, head: Tensor, rel: Tensor, tail: Tensor) -> Tensor:
        rows, cols = self.train_filter.true_tails(head.reshape(-1), rel.reshape(-1))
        hit = torch.zeros(head.numel(), dtype=torch.bool, device=self.device)
        hit[rows[cols == tail.reshape(-1)[rows]]] = True
        return hit.view_as(head)

    # ------------------------------------------------------------ evaluation
    def evaluate(self, split: str) -> dict[str, float]:
        """Filtered, realistic rank metrics on ``split`` (``"valid"`` or ``"test"``)."""
        kg, model, r0 = self.kg_dev, self.model, self.kg.num_base_relations
        triples = kg.split(split)
        with eval_mode(model), torch.no_grad():
            ent = model.entity_representations()

            def tails(h: Tensor, r: Tensor) -> Tensor:
                return model.score_tails(h, r, ent).float()

            def heads(r: Tensor, t: Tensor) -> Tensor:
                if kg.inverse:  # (?, r, t) is (t, r⁻¹, ?)
                    return model.score_tails(t, r + r0, ent).float()
                return model.score_heads(r, t, ent).float()

            return evaluate_ranking(tails, heads, triples.head, triples.relation, triples.tail, self.filter,
                                    self.config.eval_batch_size, HITS_AT)

    def validate(self, engine: Engine) -> dict[str, float]:
        m = self.evaluate("valid")
        return {f"val_{k}": m[k] for k in ("mrr", "mr", *(f"hits@{k}" for k in HITS_AT))}

    def test(self, engine: Engine) -> dict[str, float]:
        out: dict[str, float] = {}
        for split, prefix in (("test", "test_"), ("valid", "valid_")):
            out.update({prefix + k: v for k, v in self.evaluate(split).items()})
        return out

    # ----------------------------------------------------------- checkpoints
    def model_spec(self) -> dict[str, Any]:
        return self.spec

    def data_signature(self) -> dict[str, Any]:
        return kg_signature(self.kg)

    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    def generators(self) -> dict[str, torch.Generator]:
        return {"generator": self.generator}

    def export(self) -> dict[str, Any]:
        """What a query command reads: the vocabularies and every known triple
        (to mark known answers)."""
        kg = self.kg
        return {"entities": list(kg.entities), "relations": list(kg.relations[:kg.num_base_relations]),
                "inverse": kg.inverse, "known": kg.known_triples().stack().cpu()}



# --------------------------------------------------------------------------- queries
def kg_signature(kg: KnowledgeGraph) -> dict[str, Any]:
    """Names and sizes of a knowledge graph, and a digest of its vocabularies
    and triples: renaming an entity or swapping a triple changes it."""
    from gnnkit.digest import content_digest

    parts = [list(kg.entities), list(kg.relations[:kg.num_base_relations])]
    for t in (kg.train, kg.valid, kg.test):
        parts += [t.head, t.relation, t.tail]
    return {"name": kg.name, "num_entities": kg.num_entities, "num_relations": kg.num_base_relations,
            "num_train": len(kg.train), "num_valid": len(kg.valid), "num_test": len(kg.test),
            "digest": content_digest(*parts)}


def load_trained(path: Any, kg: KnowledgeGraph) -> tuple[KGEModel, KnowledgeGraph, dict[str, Any]]:
    """The model of a finished ``gnnkit train kg`` checkpoint, with the weights
    its test metrics were measured with, over ``kg`` (made ``with_inverse`` as
    that run did).

    Raises:
        ValueError: the file is not a knowledge-graph checkpoint, did not
            finish, or was trained on other data.
    """
    from gnnkit.io import load_verified
    from gnnkit.train.engine import trained_weights

    ckpt = load_verified(path)
    task = ckpt.get("task")
    if task != KGTask.name:
        raise ValueError(f"{path} is a checkpoint of `gnnkit train {task}`, not of `gnnkit train kg`; pass a "
                         f"checkpoint written by `gnnkit train kg --checkpoint PATH`")
    if not ckpt.get("finished"):
        raise ValueError(f"checkpoint {path} is of an unfinished run; finish it with `gnnkit train kg ... "
                         f"--resume {path}` first")
    if ckpt["config"].get("inverse", True):
        kg = kg.with_inverse()
    check_same_data(ckpt["data"], kg_signature(kg), path)
    spec = dict(ckpt["model"])
    model = build_model(spec.pop("kind"), kg, **spec)
    model.load_state_dict(trained_weights(ckpt))
    model.eval()
    return model, kg, ckpt


@torch.no_grad()
def predict_tails(model: KGEModel, kg: KnowledgeGraph, head: str, relation: str, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` best tails of ``(head, relation, ?)`` by name, best first, each
    with its score and whether ``(head, relation, tail)`` is a known triple.
    A relation name ending in ``"_inverse"`` asks for heads instead (with
    inverse triples)."""
    h, r = kg.entity_id(head), kg.relation_id(relation)  # ValueError suggesting close names
    if not 1 <= k <= kg.num_entities:
        raise ValueError(f"k must be between 1 and the {kg.num_entities} entities, got {k}")
    device = next(model.parameters()).device
    scores = model.score_tails(torch.tensor([h], device=device), torch.tensor([r], device=device))[0].float().cpu()
    known = kg.known_triples()
    r0 = kg.num_base_relations
    if r < r0:
        true = set(known.tail[(known.head == h) & (known.relation == r)].tolist())
    else:  # (h, r⁻¹, ?) asks for the heads x of (x, r, h)
        true = set(known.head[(known.tail == h) & (known.relation == r - r0)].tolist())
    best = scores.topk(k)
    return [{"rank": rank, "entity": kg.entities[e], "score": float(s), "known": e in true}
            for rank, (s, e) in enumerate(zip(best.values.tolist(), best.indices.tolist()), start=1)]
