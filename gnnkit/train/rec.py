"""Training and evaluating recommenders: BPR, negative sampling, full ranking.

``RecommendationTrainer(model, dataset, config).fit()`` trains a ``LightGCN``
or ``MF`` with the BPR loss (Rendle et al. 2009) as in the LightGCN paper
(He et al. 2020, https://arxiv.org/abs/2002.02126): one (user, positive,
negative) triple per training interaction and epoch, Adam, L2 on the batch's
layer-0 embeddings. Validation recall@20 drives early stopping; the best
weights are restored at the end and the test split is ranked once.

Evaluation ranks *all* items for every test user, with the user's training
items masked out, in user batches whose score matrix fits a memory budget.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from gnnkit.datasets.interactions import InteractionDataset, bipartite_edge_index, positives_csr
from gnnkit.distributed import DistContext, all_reduce_sum, init_distributed, shard, shutdown
from gnnkit.nn.models.lightgcn import LightGCN
from gnnkit.nn.models.mf import MF, Popularity
from gnnkit.ops.sparse import CSR, build_csr
from gnnkit.train.checkpoint import load_checkpoint, save_checkpoint
from gnnkit.train.metrics import RANKING_METRICS
from gnnkit.train.sampling import NegativeSampler
from gnnkit.train.utils import CSVLogger, autocast, eval_mode, grad_scaler, resolve_device

MODEL_KINDS = ("lightgcn", "mf", "pop")


@dataclass
class RecTrainConfig:
    """Settings of a recommendation run (defaults: the LightGCN paper's).

    Args:
        epochs: most training epochs (default 1000).
        lr: Adam learning rate (default 1e-3).
        batch_size: BPR triples per step (default 2048).
        reg: L2 weight on the batch's layer-0 embeddings (default 1e-4).
        eval_every: epochs between validation rankings (default 1).
        patience: validation rankings without a better ``monitor`` before
            stopping (default 10).
        monitor: validation metric for early stopping (default ``"recall@20"``).
        ks: cut-offs of the reported metrics (default ``(10, 20)``).
        val_fraction: share of each user's training items held out for
            validation when the dataset has no validation split (default 0.1).
        eval_memory_mb: most memory a batch of scores may take (default 256).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` ... (default ``"auto"``).
        amp: ``None``, ``"bf16"`` or ``"fp16"`` autocast for training.
        seed: seeds the validation split, shuffling and negatives (default 0).
        checkpoint: file to save to after every validation and to resume from.
        resume: continue from ``checkpoint`` if it exists (default ``True``).
        csv: file for one row of metrics per validation.
        progress: show a progress bar (default ``False``).
        max_seconds: stop training after this much wall time (``None``: no limit).
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

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_every", "patience"):
            if getattr(self, name) < (0 if name == "epochs" else 1):
                raise ValueError(f"RecTrainConfig.{name} must be positive, got {getattr(self, name)}")
        if self.lr <= 0 or self.reg < 0:
            raise ValueError(f"lr must be > 0 and reg >= 0, got lr={self.lr}, reg={self.reg}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        self.ks = tuple(int(k) for k in self.ks)
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks must be positive cut-offs, got {self.ks}")
        name, _, k = self.monitor.partition("@")
        if name not in RANKING_METRICS or not k.isdigit() or int(k) not in self.ks:
            raise ValueError(f"monitor must be METRIC@K with METRIC in {sorted(RANKING_METRICS)} and K in ks={self.ks}, "
                             f"got {self.monitor!r}")


# --------------------------------------------------------------------------- models


def build_model(kind: str, num_users: int, num_items: int, embedding_dim: int = 64, num_layers: int = 3) -> nn.Module:
    """``"lightgcn"``, ``"mf"`` or ``"pop"`` with the given sizes."""
    if kind == "lightgcn":
        return LightGCN(num_users, num_items, embedding_dim, num_layers)
    if kind == "mf":
        return MF(num_users, num_items, embedding_dim)
    if kind == "pop":
        return Popularity(num_users, num_items)
    raise ValueError(f"unknown model {kind!r}: choose one of {', '.join(MODEL_KINDS)}")


def model_spec(model: nn.Module) -> dict[str, Any]:
    """What ``build_model`` needs to rebuild ``model`` (stored in checkpoints)."""
    kinds = {LightGCN: "lightgcn", MF: "mf", Popularity: "pop"}
    if type(model) not in kinds:
        raise ValueError(f"unsupported model {type(model).__name__}: use LightGCN, MF or Popularity")
    return {"kind": kinds[type(model)], "num_users": model.num_users, "num_items": model.num_items,
            "embedding_dim": getattr(model, "embedding_dim", 1), "num_layers": getattr(model, "num_layers", 0)}


# --------------------------------------------------------------------------- data helpers


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


# --------------------------------------------------------------------------- ranking


def _flat_ranges(starts: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """``(segment id, position)`` for the concatenated ranges ``[s, s + c)``."""
    seg = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    offsets = torch.cumsum(counts, 0) - counts
    return seg, torch.arange(seg.numel(), device=counts.device) - offsets[seg] + starts[seg]


def top_k(user_emb: Tensor, item_emb: Tensor, users: Tensor, k: int,
          exclude: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """``[len(users), k]`` the ``k`` best-scored items per user (dot product),
    best first, items in ``exclude`` (``(rowptr, items)`` per user) never
    returned ahead of an unexcluded one."""
    num_items = item_emb.size(0)
    if not 1 <= k <= num_items:
        raise ValueError(f"k = {k} must be between 1 and the number of items ({num_items})")
    scores = user_emb.index_select(0, users).float() @ item_emb.float().t()
    if exclude is not None:
        rowptr, items = exclude
        starts, ends = rowptr[users], rowptr[users + 1]
        seg, pos = _flat_ranges(starts, ends - starts)
        scores[seg, items[pos]] = -math.inf
    return scores.topk(k, dim=1).indices


def evaluate_ranking(user_emb: Tensor, item_emb: Tensor, test: Tensor, exclude: tuple[Tensor, Tensor] | None,
                     ks: tuple[int, ...] = (10, 20), memory_mb: float = 256.0) -> dict[str, float]:
    """Full-ranking recall/ndcg/precision/hit@K over the users in ``test``.

    Every user with at least one test interaction ranks all items (those in
    ``exclude`` masked); users without test items are skipped and counted in
    ``skipped_users``. Users are scored in batches of at most ``memory_mb``
    of scores.

    Args:
        user_emb: ``[U, d]`` final user embeddings.
        item_emb: ``[I, d]`` final item embeddings.
        test: ``[2, n]`` (user row, item row) test interactions.
        exclude: ``(rowptr, items)`` per-user items to mask (training positives).
        ks: cut-offs.

    Returns:
        ``{"recall@10": ..., "ndcg@10": ..., "precision@10": ..., "hit@10": ..., ...,
        "num_users": evaluated, "skipped_users": without test items}``.
    """
    num_users, num_items = user_emb.size(0), item_emb.size(0)
    if test.numel() == 0 or test.size(-1) == 0:
        raise ValueError("the test split is empty: there is nothing to rank against; check the dataset's split")
    if max(ks) > num_items:
        raise ValueError(f"K = {max(ks)} is larger than the number of items ({num_items}); use a smaller --k / ks")
    dev = user_emb.device
    test_keys = torch.unique(test[0].long().to(dev) * num_items + test[1].long().to(dev))
    test_users, num_relevant = torch.unique(test_keys // num_items, return_counts=True)
    kmax = max(ks)
    batch = max(1, int(memory_mb * 2**20 // (num_items * 4 * 2)))  # scores + topk workspace
    sums = {f"{name}@{k}": 0.0 for k in ks for name in RANKING_METRICS}
    for start in range(0, test_users.numel(), batch):
        users = test_users[start : start + batch]
        ranked = top_k(user_emb, item_emb, users, kmax, exclude)
        q = users.unsqueeze(1) * num_items + ranked
        pos = torch.searchsorted(test_keys, q).clamp_(max=test_keys.numel() - 1)
        hits = test_keys[pos] == q
        for k in ks:
            for name, fn in RANKING_METRICS.items():
                sums[f"{name}@{k}"] += float(fn(hits, num_relevant[start : start + batch], k).sum())
    n = test_users.numel()
    out = {key: value / n for key, value in sums.items()}
    out.update(num_users=n, skipped_users=num_users - n)
    return out


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    r"""Bayesian personalised ranking, ``mean(-log σ(s_pos - s_neg))``."""
    return F.softplus(neg_scores - pos_scores).mean()


# --------------------------------------------------------------------------- trainer


class RecommendationTrainer:
    """Trains a ``LightGCN``/``MF`` with BPR on an ``InteractionDataset``
    (a ``Popularity`` model is just counted), validating by full ranking.

    Args:
        model: ``LightGCN``, ``MF`` or ``Popularity`` sized for the dataset.
        dataset: the interactions; without ``val_interactions`` a validation
            split of ``config.val_fraction`` is carved from train.
        config: ``RecTrainConfig`` (defaults if ``None``).
    """

    def __init__(self, model: nn.Module, dataset: InteractionDataset, config: RecTrainConfig | None = None) -> None:
        self.config = cfg = config or RecTrainConfig()
        self.spec = model_spec(model)
        if (model.num_users, model.num_items) != (dataset.num_users, dataset.num_items):
            raise ValueError(f"the model is sized for {model.num_users} users x {model.num_items} items but the dataset "
                             f"has {dataset.num_users} x {dataset.num_items}; build it from the dataset's sizes")
        if dataset.test_interactions.size(1) == 0:
            raise ValueError(f"dataset {dataset.name or ''} has an empty test split: nothing to evaluate on")
        if max(cfg.ks) > dataset.num_items:
            raise ValueError(f"K = {max(cfg.ks)} is larger than the number of items ({dataset.num_items})")
        self.dataset, self.device = dataset, resolve_device(cfg.device)
        self.model = model.to(self.device)
        nu, ni = dataset.num_users, dataset.num_items
        full_train = dataset.train_interactions
        if dataset.val_interactions is not None and dataset.val_interactions.size(1):
            train, val = full_train, dataset.val_interactions
            seen = torch.cat([full_train, val], dim=1)
        else:
            train, val = split_validation(full_train, ni, cfg.val_fraction, cfg.seed)
            seen = full_train
        if val.size(1) == 0:
            raise ValueError("no validation interactions: every user has too few training items for "
                             f"val_fraction={cfg.val_fraction}; raise it or give the dataset a validation split")
        dev = self.device
        self.train_pairs = torch.unique(train[0] * ni + train[1]).to(dev)  # sorted keys
        self.val = val.to(dev)
        self.test = dataset.test_interactions.to(dev)
        self.train_graph = bipartite_csr(train[0], train[1], nu, ni).to(dev)
        self.full_graph = bipartite_csr(seen[0], seen[1], nu, ni).to(dev)
        self.train_interactions, self.seen_interactions = train.to(dev), seen.to(dev)
        self.train_seen = positives_csr(train[0], train[1], nu, ni)
        self.train_seen = (self.train_seen[0].to(dev), self.train_seen[1].to(dev))
        all_seen = positives_csr(seen[0], seen[1], nu, ni)
        self.all_seen = (all_seen[0].to(dev), all_seen[1].to(dev))
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.sampler = NegativeSampler(train[0], train[1], nu, ni).to(dev) if self.trainable else None
        # The fused Adam kernel is ~7x faster than the per-op one on a 70k x 64 table.
        self.optimizer = torch.optim.Adam(self.trainable, lr=cfg.lr, fused=True) if self.trainable else None
        self.scaler = grad_scaler(dev, cfg.amp)
        # Under torchrun each process trains on its share of the BPR triples
        # (DistributedDataParallel all-reduces the gradients) and ranks its
        # share of the users; a single process otherwise.
        self.dist = init_distributed(dev) if self.trainable else DistContext()
        self.train_model: nn.Module = self.model
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.train_model = DistributedDataParallel(self.model, device_ids=[dev.index] if dev.type == "cuda" else None)
        self.generator = torch.Generator(device=dev).manual_seed(cfg.seed + 7919 * self.dist.rank)
        self.epoch, self.history = 0, []
        self.best_value, self.best_epoch, self.bad_evals, self.stopped = -math.inf, 0, 0, False
        self.best_state: dict[str, Tensor] | None = None

    def close(self) -> None:
        """Under ``torchrun``: drop the ``DistributedDataParallel`` wrapper and
        leave the process group (after every rank got here). A no-op otherwise."""
        self.train_model = self.model
        shutdown(self.dist)

    # ------------------------------------------------------------------ pieces

    def embeddings(self, graph: CSR | None = None) -> tuple[Tensor, Tensor]:
        """Final ``(users, items)`` embeddings without gradients."""
        with eval_mode(self.model):
            u, i = self.model(self.train_graph if graph is None else graph)
        return u.float(), i.float()

    def evaluate(self, split: str = "test") -> dict[str, float]:
        """Rank all items for the users of ``split`` (``"val"`` or ``"test"``).

        Validation uses the training graph and masks the training items;
        test propagates over all known interactions (train and validation)
        and masks them all, as ``gnnkit recommend`` does.
        """
        pop = isinstance(self.model, Popularity)
        if split == "val":
            if pop:
                self.model.fit(self.train_interactions)
            u, i = self.embeddings(self.train_graph)
            return self._rank(u, i, self.val, self.train_seen)
        if split == "test":
            if pop:
                self.model.fit(self.seen_interactions)
            u, i = self.embeddings(self.full_graph)
            return self._rank(u, i, self.test, self.all_seen)
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")

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

    def train_epoch(self) -> float:
        """One pass: one (user, positive, negative) triple per training
        interaction, in shuffled batches. Returns the mean loss."""
        cfg, model, g = self.config, self.model, self.generator
        ni = self.dataset.num_items
        # Every process draws the same order (seeded by seed and epoch) and takes its own share of it.
        order = g if not self.dist.enabled else torch.Generator(device=self.device).manual_seed(
            cfg.seed * 1_000_003 + self.epoch)
        keys = self.train_pairs[torch.randperm(self.train_pairs.numel(), device=self.device, generator=order)]
        keys = shard(keys, self.dist)
        users, pos = keys // ni, keys % ni
        neg = self.sampler.sample(users, generator=g)  # all negatives of the epoch at once
        model.train()
        total, steps = torch.zeros((), device=self.device), 0
        for start in range(0, keys.numel(), cfg.batch_size):
            u, p, n = (t[start : start + cfg.batch_size] for t in (users, pos, neg))
            # Propagation over the whole graph per batch, as in the paper's code;
            # it runs in the sparse kernels' precision, autocast covers the scoring.
            user_emb, item_emb = self.train_model(self.train_graph)  # DDP all-reduces in backward
            with autocast(self.device, cfg.amp):
                ue = user_emb.index_select(0, u)
                pos_scores = (ue * item_emb.index_select(0, p)).sum(1).float()
                neg_scores = (ue * item_emb.index_select(0, n)).sum(1).float()
            user0, item0 = model.ego_embeddings()
            l2 = 0.5 * (user0.index_select(0, u).pow(2).sum() + item0.index_select(0, p).pow(2).sum()
                        + item0.index_select(0, n).pow(2).sum()) / u.numel()
            loss = bpr_loss(pos_scores, neg_scores) + cfg.reg * l2
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += loss.detach()
            steps += 1
        return float(total) / max(steps, 1)

    # ------------------------------------------------------------------ state

    def state_dict(self, weights: dict[str, Tensor] | None = None) -> dict[str, Any]:
        """Everything needed to resume; ``weights`` overrides the model's
        current parameters (used to keep the last trained ones, not the best)."""
        weights = self.model.state_dict() if weights is None else weights
        return {
            "model": self.spec,
            "dataset": {"name": self.dataset.name, "num_users": self.dataset.num_users,
                        "num_items": self.dataset.num_items},
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self.config).items()},
            "state_dict": {k: v.detach().cpu() for k, v in weights.items()},
            "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "epoch": self.epoch,
            "history": self.history,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "bad_evals": self.bad_evals,
            "stopped": self.stopped,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("model") != self.spec:
            raise ValueError(f"the checkpoint holds model {state.get('model')} but this run trains {self.spec}; "
                             f"use another --checkpoint path or the same model settings")
        self.model.load_state_dict(state["state_dict"])
        if self.optimizer is not None and state["optimizer"] is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.epoch, self.history = int(state["epoch"]), list(state["history"])
        self.best_value, self.best_epoch = float(state["best_value"]), int(state["best_epoch"])
        self.bad_evals, self.stopped, self.best_state = int(state["bad_evals"]), bool(state["stopped"]), state["best_state"]

    def save(self, path: str | Path, final: bool = False, weights: dict[str, Tensor] | None = None) -> None:
        """Write the training state; with ``final`` also the exported
        embeddings (of the model as it is now), seen items and titles that
        ``gnnkit recommend`` reads."""
        state = self.state_dict(weights)
        if final:
            u, i = self.embeddings(self.full_graph)
            state["export"] = {"user_emb": u.cpu(), "item_emb": i.cpu(),
                               "seen_rowptr": self.all_seen[0].cpu(), "seen_items": self.all_seen[1].cpu(),
                               "item_titles": self.dataset.item_titles}
        save_checkpoint(path, state)

    # ------------------------------------------------------------------ loop

    def fit(self) -> dict[str, Any]:
        """Train with early stopping, restore the best weights, rank the test
        split. Returns the test metrics plus ``epochs_run``, ``best_epoch``,
        ``seconds``, ``seconds_per_epoch``, ``history``."""
        cfg = self.config
        if cfg.checkpoint and cfg.resume and Path(cfg.checkpoint).exists():
            self.load_state_dict(load_checkpoint(cfg.checkpoint, map_location=self.device))
        main = self.dist.is_main  # only rank 0 prints and writes files
        logger = CSVLogger(cfg.csv if main else None, resume=self.epoch > 0)
        start, train_seconds, epochs_now = time.perf_counter(), 0.0, 0
        todo = range(self.epoch, cfg.epochs) if self.trainable and not self.stopped else range(0)
        bar = tqdm(todo, desc=f"{self.spec['kind']} {self.dataset.name}", disable=not cfg.progress or not main)
        for _ in bar:
            t0 = time.perf_counter()
            loss = self.train_epoch()
            epoch_seconds = time.perf_counter() - t0
            train_seconds += epoch_seconds
            epochs_now += 1
            self.epoch += 1
            row: dict[str, Any] = {"epoch": self.epoch, "loss": loss, "epoch_seconds": epoch_seconds}
            out_of_time = cfg.max_seconds is not None and time.perf_counter() - start >= cfg.max_seconds
            if self.epoch % cfg.eval_every == 0 or self.epoch == cfg.epochs or out_of_time:
                t0 = time.perf_counter()
                val = self.evaluate("val")
                row["eval_seconds"] = time.perf_counter() - t0
                row.update({f"val_{k}": v for k, v in val.items() if "@" in k})
                if val[cfg.monitor] > self.best_value:
                    self.best_value, self.best_epoch, self.bad_evals = val[cfg.monitor], self.epoch, 0
                    self.best_state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
                else:
                    self.bad_evals += 1
                    self.stopped = self.bad_evals >= cfg.patience
                bar.set_postfix(loss=f"{loss:.4f}", **{cfg.monitor: f"{val[cfg.monitor]:.4f}"})
                self.history.append(row)
                logger.log(row)
                if cfg.checkpoint and main:
                    self.save(cfg.checkpoint)
            else:
                self.history.append(row)
            if self.stopped or out_of_time:
                break
        last = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        t0 = time.perf_counter()
        result = self.evaluate("test")
        result["eval_seconds"] = time.perf_counter() - t0
        if cfg.checkpoint and main:
            self.save(cfg.checkpoint, final=True, weights=last)
        result.update(
            epochs_run=self.epoch, best_epoch=self.best_epoch, stopped_early=self.stopped,
            seconds=time.perf_counter() - start,
            seconds_per_epoch=train_seconds / epochs_now if epochs_now else 0.0,
            history=self.history,
        )
        return result
