"""Top-K recommendation as a task on the engine: BPR training, full ranking.

``RecTask(model, dataset, RecConfig())`` trains a ``LightGCN`` or ``MF`` with
the BPR loss (Rendle et al. 2009) as in the LightGCN paper (He et al. 2020,
https://arxiv.org/abs/2002.02126): one (user, positive, negative) triple per
training interaction and epoch, L2 on the batch's layer-0 embeddings.
Validation ranks all items for the held-out items of each user (recall@20
drives early stopping); the test ranks propagate over every known
interaction and mask them all, as ``gnnkit recommend`` does. ``SimpleX`` and
``UltraGCN`` bring their own losses over many negatives per positive
(UltraGCN's weighted by constraints the task builds from the training graph
in ``setup``). A ``Popularity``
model has nothing to train and is only counted; a ``GFCF`` graph filter has
nothing to train either (no optimiser, so the engine runs no epoch) and is
built from the interactions when it is evaluated.

Under ``torchrun`` each process trains on its share of the BPR triples and
ranks its share of the users; the sums are added up.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.datasets.interactions import InteractionDataset, bipartite_edge_index, positives_csr
from gnnkit.distributed import DistContext, all_reduce_sum, shard
from gnnkit.nn.models.gfcf import GFCF
from gnnkit.nn.models.mf import Popularity
from gnnkit.nn.models.simplex import SimpleX
from gnnkit.nn.models.ultragcn import UltraGCN
from gnnkit.ops.sparse import CSR, build_csr
from gnnkit.train.config import OptimConfig
from gnnkit.train.metrics import RANKING_METRICS
from gnnkit.train.ranking import evaluate_ranking, evaluate_scores
from gnnkit.train.runtime import eval_mode
from gnnkit.train.sampling import NegativeSampler
from gnnkit.train.task import Task
from gnnkit.train.tasks.rec_models import (  # noqa: F401  (re-exported)
    FILTER_DEFAULTS, MODEL_DEFAULTS, MODEL_KINDS, build_model, model_spec,
)

if TYPE_CHECKING:
    from gnnkit.train.engine import Engine


@dataclass
class RecConfig:
    """What recommendation itself needs to know (defaults: the LightGCN paper's).

    Args:
        batch_size: BPR triples per step (default 2048).
        reg: L2 weight on the batch's layer-0 embeddings (default 1e-4).
        monitor: validation metric for early stopping (default ``"recall@20"``).
        ks: cut-offs of the reported metrics (default ``(10, 20)``).
        val_fraction: share of each user's training items held out for
            validation when the dataset has no validation split (default 0.1).
        eval_memory_mb: most memory a batch of scores may take (default 256).
    """

    batch_size: int = 2048
    reg: float = 1e-4
    monitor: str = "recall@20"
    ks: tuple[int, ...] = (10, 20)
    val_fraction: float = 0.1
    eval_memory_mb: float = 256.0

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"RecConfig.batch_size must be positive, got {self.batch_size}")
        if self.reg < 0:
            raise ValueError(f"reg must be >= 0, got reg={self.reg}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        self.ks = tuple(int(k) for k in self.ks)
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks must be positive cut-offs, got {self.ks}")
        name, _, k = self.monitor.partition("@")
        if name not in RANKING_METRICS or not k.isdigit() or int(k) not in self.ks:
            raise ValueError(f"monitor must be METRIC@K with METRIC in {sorted(RANKING_METRICS)} and K in ks={self.ks}, "
                             f"got {self.monitor!r}")


# --------------------------------------------------------------------------- data
def bipartite_csr(users: Tensor, items: Tensor, num_users: int, num_items: int) -> CSR:
    """The symmetric user–item adjacency (items offset by ``num_users``),
    duplicates merged, as a CSR."""
    return build_csr(bipartite_edge_index(users, items, num_users, num_items), num_users + num_items)


def split_validation(train: Tensor, num_items: int, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Hold out ``round(fraction * n_u)`` random distinct items of every user
    ``u``, at most ``n_u - 1`` (every user keeps a training item). Returns ``(train, val)`` ``[2, n]``."""
    key = torch.unique(train[0].long() * num_items + train[1].long())
    g = torch.Generator().manual_seed(seed)
    # Sort by (user, random): each user's items in random order, then take a prefix.
    order = torch.argsort((key // num_items).double() + torch.rand(key.numel(), generator=g, dtype=torch.float64) * 0.5)
    key = key[order]
    user = key // num_items
    counts = torch.bincount(user)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(key.numel()) - start[user]
    n_val = torch.minimum(torch.round(counts.double() * fraction), (counts - 1).clamp(min=0).double())
    held = rank < n_val[user]
    pairs = torch.stack([user, key % num_items])
    return pairs[:, ~held], pairs[:, held]


def _without_cold_users(target: Tensor, rowptr: Tensor) -> tuple[Tensor, int]:
    """``target`` ``[2, n]`` without the interactions of users who have no
    known item (an empty row of ``rowptr``): no model knows anything about
    them, and ranking all-equal scores would grade tie order (``gnnkit
    recommend`` refuses such users too). Returns ``(target, how many users
    were dropped)``; they count in the metrics' ``skipped_users``."""
    users = target[0].long()
    rowptr = rowptr.to(users.device)
    has = (rowptr[users + 1] - rowptr[users]) > 0
    if bool(has.all()):
        return target, 0
    cold = int(torch.unique(users[~has]).numel())
    if not bool(has.any()):
        raise ValueError(f"none of the {cold} users to evaluate has a known (training) interaction: there is "
                         f"nothing to rank them from; check the dataset's split")
    return target[:, has], cold


def _warn_unseen_test_items(dataset: InteractionDataset) -> None:
    """Say so when no test item occurs in training: no model learns anything
    about those items, and every metric is 0 whatever the model."""
    seen = torch.zeros(dataset.num_items, dtype=torch.bool)
    seen[dataset.train_interactions[1].cpu().long()] = True
    if not bool(seen[dataset.test_interactions[1].cpu().long()].any()):
        warnings.warn(f"none of the {int(dataset.test_interactions.size(1))} test interactions is with an item that "
                      f"occurs in training: no model can learn to rank them, so every metric will be 0; check the "
                      f"split", stacklevel=3)


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    r"""Bayesian personalised ranking, ``mean(-log σ(s_pos - s_neg))``."""
    return F.softplus(neg_scores - pos_scores).mean()


# --------------------------------------------------------------------------- task
class RecTask(Task):
    """BPR training and full-ranking evaluation of a recommender.

    Args:
        model: ``LightGCN``, ``MF``, ``NGCF``, ``SimpleX``, ``UltraGCN``, ``Popularity``, ``GFCF`` or ``BSPM`` sized for
            the dataset.
        dataset: the interactions; without ``val_interactions`` a validation
            split of ``config.val_fraction`` is carved from train.
        config: ``RecConfig``.
        seed: seeds the validation split, shuffling and negatives.
    """

    name = "rec"

    def __init__(self, model: nn.Module, dataset: InteractionDataset, config: RecConfig | None = None,
                 seed: int = 0) -> None:
        self.config = cfg = config or RecConfig()
        self.model, self.spec, self.dataset, self.seed = model, model_spec(model), dataset, seed
        self.monitors = ((f"val_{cfg.monitor}", "max"),)
        if (model.num_users, model.num_items) != (dataset.num_users, dataset.num_items):
            raise ValueError(f"the model is sized for {model.num_users} users x {model.num_items} items but the dataset "
                             f"has {dataset.num_users} x {dataset.num_items}; build it from the dataset's sizes")
        if dataset.test_interactions.size(1) == 0:
            raise ValueError(f"dataset {dataset.name or ''} has an empty test split: nothing to evaluate on")
        _warn_unseen_test_items(dataset)
        if max(cfg.ks) > dataset.num_items:
            raise ValueError(f"K = {max(cfg.ks)} is larger than the number of items ({dataset.num_items}): a top-K "
                             f"ranking needs at least K items; use smaller cut-offs (RecConfig ks and monitor; "
                             f"--ks on the command line, e.g. --ks "
                             f"{' '.join(map(str, sorted({max(1, dataset.num_items // 4), max(1, dataset.num_items // 2)})))})")
        full_train, ni = dataset.train_interactions, dataset.num_items
        if dataset.val_interactions is not None and dataset.val_interactions.size(1):
            self.train, self.val = full_train, dataset.val_interactions
            self.seen = torch.cat([full_train, self.val], dim=1)
        else:
            self.train, self.val = split_validation(full_train, ni, cfg.val_fraction, seed)
            self.seen = full_train
        if self.val.size(1) == 0:
            raise ValueError("no validation interactions: every user has too few training items for "
                             f"val_fraction={cfg.val_fraction}; raise it (--val-fraction in the CLI) or give the dataset a "
                             f"validation split")
        self.distributed = any(p.requires_grad for p in model.parameters())

    def setup(self, device: torch.device, dist: DistContext) -> None:
        super().setup(device, dist)
        d, nu, ni = self.dataset, self.dataset.num_users, self.dataset.num_items
        train, seen = self.train, self.seen
        self.train_pairs = torch.unique(train[0] * ni + train[1]).to(device)  # sorted keys
        self.val_dev, self.test_dev = self.val.to(device), d.test_interactions.to(device)
        self.train_graph = bipartite_csr(train[0], train[1], nu, ni).to(device)
        self.full_graph = bipartite_csr(seen[0], seen[1], nu, ni).to(device)
        self.train_seen = tuple(t.to(device) for t in positives_csr(train[0], train[1], nu, ni))
        self.all_seen = tuple(t.to(device) for t in positives_csr(seen[0], seen[1], nu, ni))
        self.sampler = NegativeSampler(train[0], train[1], nu, ni).to(device)
        self.generator = torch.Generator(device=device).manual_seed(self.seed + 7919 * dist.rank)
        if isinstance(self.model, UltraGCN):  # its loss weights come from the training graph's degrees
            self.model.set_constraints(train[0].to(device), train[1].to(device))

    def configure_optimizer(self, optim: OptimConfig) -> torch.optim.Optimizer | None:
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            return None
        # The fused Adam kernel is ~7x faster than the per-op one on a 70k x 64 table.
        return torch.optim.Adam(params, lr=optim.lr, weight_decay=optim.weight_decay, fused=True)

    def describe(self) -> str:
        return f"{self.spec['kind']} {self.dataset.name}"

    # ----------------------------------------------------------------- steps
    def train_epoch(self, engine: Engine) -> float:
        """One pass: one (user, positive, negative) triple per training
        interaction, in shuffled batches. Returns the mean loss."""
        cfg, g, ni = self.config, self.generator, self.dataset.num_items
        # Every process draws the same order (seeded by seed and epoch) and takes its own share of it.
        order = g if not self.dist.enabled else torch.Generator(device=self.device).manual_seed(
            self.seed * 1_000_003 + engine.epoch - 1)
        keys = self.train_pairs[torch.randperm(self.train_pairs.numel(), device=self.device, generator=order)]
        keys = shard(keys, self.dist)
        users, pos = keys // ni, keys % ni
        many = getattr(self.model, "num_negatives", 1)  # SimpleX, UltraGCN: many negatives per positive, drawn per batch
        if hasattr(self.model, "set_history"):
            self.model.set_history(self.train[0].to(self.device), self.train[1].to(self.device))
        neg = self.sampler.sample(users, generator=g) if many == 1 else None  # all negatives of the epoch at once
        total, steps = torch.zeros((), device=self.device), 0
        for start in range(0, keys.numel(), cfg.batch_size):
            u, p = users[start : start + cfg.batch_size], pos[start : start + cfg.batch_size]
            n = (neg[start : start + cfg.batch_size] if neg is not None
                 else self.sampler.sample(u.repeat_interleave(many), generator=g).view(-1, many))
            loss = self._batch_loss(engine, u, p, n)
            engine.step(loss)
            total += loss.detach()
            steps += 1
        return float(total) / max(steps, 1)

    def _batch_loss(self, engine: Engine, u: Tensor, p: Tensor, n: Tensor) -> Tensor:
        # Propagation over the whole graph per batch, as in the paper's code;
        # it runs in the sparse kernels' precision, autocast covers the scoring.
        # n is [B] (one negative per positive, BPR) or [B, N] (the model's own loss).
        user_emb, item_emb = engine.train_model(self.train_graph)
        if isinstance(self.model, UltraGCN):
            return self._ultragcn_loss(engine, user_emb, item_emb, u, p, n)
        with engine.autocast():
            ue = user_emb.index_select(0, u)
            pos_scores = (ue * item_emb.index_select(0, p)).sum(1).float()
            neg_emb = item_emb.index_select(0, n.reshape(-1)).view(*n.shape, -1)
            neg_scores = (ue.view(u.numel(), *([1] * (n.dim() - 1)), -1) * neg_emb).sum(-1).float()
        user0, item0 = self.model.ego_embeddings()
        l2 = 0.5 * (user0.index_select(0, u).pow(2).sum() + item0.index_select(0, p).pow(2).sum()
                    + item0.index_select(0, n.reshape(-1)).pow(2).sum()) / u.numel()
        return getattr(self.model, "loss", bpr_loss)(pos_scores, neg_scores) + self.config.reg * l2

    def _ultragcn_loss(self, engine: Engine, user_emb: Tensor, item_emb: Tensor, u: Tensor, p: Tensor,
                       n: Tensor) -> Tensor:
        """UltraGCN: its β-weighted BCE over ``n`` ``[B, N]`` negatives, the item–item constraint on the
        positives' neighbours, and the same L2 as the other models (each negative row counted once per draw)."""
        with engine.autocast():
            ue = user_emb.index_select(0, u)
            pos_scores = (ue * item_emb.index_select(0, p)).sum(1).float()
            # one batched product instead of a [B, N, dim] temporary: many negatives per positive
            neg_emb = item_emb.index_select(0, n.reshape(-1)).view(*n.shape, -1)
            neg_scores = torch.bmm(neg_emb, ue.unsqueeze(2)).squeeze(2).float()
        loss = self.model.loss(u, p, n, pos_scores, neg_scores) + self.model.item_loss(ue.float(), p, item_emb.float())
        user0, item0 = self.model.ego_embeddings()
        draws = torch.bincount(n.reshape(-1), minlength=item0.size(0)).to(item0.dtype)
        l2 = 0.5 * (user0.index_select(0, u).pow(2).sum() + item0.index_select(0, p).pow(2).sum()
                    + (draws * item0.pow(2).sum(1)).sum()) / u.numel()
        return loss + self.config.reg * l2

    def embeddings(self, graph: CSR | None = None) -> tuple[Tensor, Tensor]:
        """Final ``(users, items)`` embeddings without gradients."""
        if isinstance(self.model, GFCF):
            raise ValueError("GF-CF has no embeddings: score users with task.model.scores(users) after evaluate()")
        with eval_mode(self.model):
            u, i = self.model(self.train_graph if graph is None else graph)
        return u.float(), i.float()

    def evaluate(self, split: str) -> dict[str, float]:
        """Rank all items for the users of ``split`` (``"val"`` or ``"test"``)."""
        if split not in ("val", "test"):
            raise ValueError(f"split must be 'val' or 'test', got {split!r}")
        known, target, exclude = ((self.train, self.val_dev, self.train_seen) if split == "val"
                                  else (self.seen, self.test_dev, self.all_seen))
        target, cold = _without_cold_users(target, exclude[0])
        return {**self._evaluate(split, known, target, exclude), "cold_users": cold}

    def _evaluate(self, split: str, known: Tensor, target: Tensor, exclude: tuple[Tensor, Tensor]) -> dict[str, float]:
        if isinstance(self.model, Popularity):
            self.model.fit(known.to(self.device))
        if isinstance(self.model, SimpleX):  # a user's vector aggregates the items known at this point
            self.model.set_history(known[0].to(self.device), known[1].to(self.device))
        if isinstance(self.model, GFCF):  # a filter of the known interactions, scored batch by batch
            self._fit_filter(split)
            cfg = self.config
            return evaluate_scores(self.model.batch_scorer(), self.dataset.num_users, self.dataset.num_items, target,
                                   exclude, cfg.ks, cfg.eval_memory_mb, self.model.score_batch_size)
        graph = self.train_graph if split == "val" else self.full_graph
        return self._rank(*self.embeddings(graph), target, exclude)

    def _fit_filter(self, split: str) -> None:
        if getattr(self, "_filter_of", None) != split:
            self.model.fit((self.train if split == "val" else self.seen).to(self.device))
            self._filter_of = split

    def validate(self, engine: Engine) -> dict[str, float]:
        return {f"val_{k}": v for k, v in self.evaluate("val").items() if "@" in k}

    def test(self, engine: Engine) -> dict[str, float]:
        return self.evaluate("test")

    def _rank(self, u: Tensor, i: Tensor, test: Tensor, exclude: tuple[Tensor, Tensor]) -> dict[str, float]:
        cfg, ctx = self.config, self.dist
        if not ctx.enabled:
            return evaluate_ranking(u, i, test, exclude, cfg.ks, cfg.eval_memory_mb)
        # Each process ranks the users u with u % world_size == rank; the sums are added up.
        mine = test[:, test[0] % ctx.world_size == ctx.rank]
        keys = [f"{name}@{k}" for k in cfg.ks for name in RANKING_METRICS]
        local = torch.zeros(len(keys) + 1, dtype=torch.float64, device=self.device)
        if mine.size(1):
            part = evaluate_ranking(u, i, mine, exclude, cfg.ks, cfg.eval_memory_mb)
            local[:-1] = torch.tensor([part[key] * part["num_users"] for key in keys], dtype=torch.float64)
            local[-1] = part["num_users"]
        total = all_reduce_sum(local, ctx)
        n = int(total[-1])
        out = {key: float(total[j]) / max(n, 1) for j, key in enumerate(keys)}
        out.update(num_users=n, skipped_users=self.dataset.num_users - n)
        return out

    # ----------------------------------------------------------- checkpoints
    def model_spec(self) -> dict[str, Any]:
        return self.spec

    def data_signature(self) -> dict[str, Any]:
        from gnnkit.digest import content_digest

        d = self.dataset
        return {"name": d.name, "num_users": d.num_users, "num_items": d.num_items,
                "digest": content_digest(d.train_interactions, d.val_interactions, d.test_interactions,
                                         d.user_ids, d.item_ids)}

    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    def generators(self) -> dict[str, torch.Generator]:
        return {"generator": self.generator}

    def _ids_and_held_out(self) -> dict[str, Any]:
        """The dataset's own user / item ids and each user's test items, so
        that ``gnnkit recommend`` answers by the dataset's ids and leaves out
        what the user has, for a checkpoint written from Python too."""
        d, out = self.dataset, {"user_ids": self.dataset.user_ids, "item_ids": self.dataset.item_ids}
        if d.test_interactions is not None:
            out["held_out_rowptr"], out["held_out_items"] = positives_csr(*d.test_interactions, d.num_users,
                                                                          d.num_items)
        return out

    def export(self) -> dict[str, Any]:
        """What ``gnnkit recommend`` reads: the final embeddings (of the tested
        weights) or, for GF-CF, the filter (``GFCF.export``), every user's
        known items, and the item titles."""
        d = self.dataset
        seen = {"seen_rowptr": self.all_seen[0].cpu(), "seen_items": self.all_seen[1].cpu(),
                "item_titles": d.item_titles, **self._ids_and_held_out()}
        if isinstance(self.model, GFCF):
            self._fit_filter("test")
            return {"gfcf": self.model.export(), **seen}
        u, i = self.embeddings(self.full_graph)
        return {"user_emb": u.cpu(), "item_emb": i.cpu(), **seen}
