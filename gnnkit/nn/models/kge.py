"""Knowledge-graph embedding models: TransE, DistMult, ComplEx, RotatE.

Each model holds an entity table and a relation table and defines a score
``f(h, r, t)`` (higher = more plausible) in three shapes:

* ``score_hrt(h, r, t)`` → ``[B]``: given triples;
* ``score_tails(h, r)`` → ``[B, E]``: every entity as the tail (1-vs-all);
* ``score_heads(r, t)`` → ``[B, E]``: every entity as the head.

The all-entity forms are written as one matrix product or ``cdist`` where the
score allows it, so ranking all entities costs about as much as a linear layer.
``entity_representations()`` is the entity table, or the output of an encoder
(``gnnkit.nn.models.rgcn.RGCNEncoder``) run over the training graph; the score functions take it as
``entities=`` so that an evaluation computes it once.

``regularization(h, r, t)`` is the model's published penalty on the batch's
embeddings (zero when the paper uses none); ``post_step()`` applies its
published constraint after each optimiser step (TransE's unit-norm entities).
Complex embeddings are stored as ``[re | im]`` halves of a real tensor.

Losses for training them are in ``gnnkit.nn.models.kge_losses`` (and
importable from here, as the R-GCN encoder is).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


_REGULARIZERS = ("none", "l2", "n3")


class KGEModel(nn.Module):
    """Entity and relation embedding tables with a score function (base of the models below).

    Args:
        num_entities: rows of the entity table.
        num_relations: rows of the relation table.
        entity_dim, relation_dim: widths of the rows (twice the complex
            dimension for complex models).
        encoder: optional module mapping the entity table ``[E, entity_dim]``
            to the representations that are scored (e.g. ``RGCNEncoder``).
    """

    def __init__(self, num_entities: int, num_relations: int, entity_dim: int, relation_dim: int,
                 encoder: nn.Module | None = None) -> None:
        super().__init__()
        for what, n in (("num_entities", num_entities), ("num_relations", num_relations),
                        ("dim", entity_dim), ("relation dim", relation_dim)):
            if n < 1:
                raise ValueError(f"{type(self).__name__}: {what} must be >= 1, got {n}")
        self.num_entities, self.num_relations = num_entities, num_relations
        self.entity = nn.Embedding(num_entities, entity_dim)
        self.relation = nn.Embedding(num_relations, relation_dim)
        self.encoder = encoder

    # --------------------------------------------------------------- to override
    def interaction(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        """``f(h, r, t)`` on broadcastable ``[..., d]`` embeddings → ``[...]``."""
        raise NotImplementedError

    def all_tails(self, h: Tensor, r: Tensor, entities: Tensor) -> Tensor:
        """``[B, d]`` heads and relations against every entity as tail → ``[B, E]``."""
        return self.interaction(h.unsqueeze(1), r.unsqueeze(1), entities.unsqueeze(0))

    def all_heads(self, r: Tensor, t: Tensor, entities: Tensor) -> Tensor:
        """``[B, d]`` relations and tails against every entity as head → ``[B, E]``."""
        return self.interaction(entities.unsqueeze(0), r.unsqueeze(1), t.unsqueeze(1))

    def regularization(self, head: Tensor, relation: Tensor, tail: Tensor,
                       entities: Tensor | None = None) -> Tensor:
        """The penalty added to the loss for a batch of triples (default 0)."""
        return self.entity.weight.new_zeros(())

    def post_step(self) -> None:
        """Constraints applied after each optimiser step (default: none)."""

    # --------------------------------------------------------------- scoring
    def entity_representations(self) -> Tensor:
        """``[E, entity_dim]``: the entity table, through the encoder when there is one."""
        w = self.entity.weight
        return w if self.encoder is None else self.encoder(w)

    def relation_representations(self, relation: Tensor) -> Tensor:
        return self.relation(relation)

    def score_hrt(self, head: Tensor, relation: Tensor, tail: Tensor, entities: Tensor | None = None) -> Tensor:
        """Scores ``[B]`` of the triples ``(head[k], relation[k], tail[k])``."""
        ent = self.entity_representations() if entities is None else entities
        return self.interaction(ent[head], self.relation_representations(relation), ent[tail])

    def score_tails(self, head: Tensor, relation: Tensor, entities: Tensor | None = None) -> Tensor:
        """Scores ``[B, E]`` of ``(head[k], relation[k], e)`` for every entity ``e``."""
        ent = self.entity_representations() if entities is None else entities
        return self.all_tails(ent[head], self.relation_representations(relation), ent)

    def score_heads(self, relation: Tensor, tail: Tensor, entities: Tensor | None = None) -> Tensor:
        """Scores ``[B, E]`` of ``(e, relation[k], tail[k])`` for every entity ``e``."""
        ent = self.entity_representations() if entities is None else entities
        return self.all_heads(self.relation_representations(relation), ent[tail], ent)

    def forward(self, head: Tensor, relation: Tensor, tail: Tensor) -> Tensor:
        return self.score_hrt(head, relation, tail)


def _complex(x: Tensor) -> tuple[Tensor, Tensor]:
    return x.chunk(2, dim=-1)


def _check_regularizer(name: str, regularizer: str, weight: float) -> None:
    if regularizer not in _REGULARIZERS:
        raise ValueError(f"{name}: regularizer must be one of {_REGULARIZERS}, got {regularizer!r}")
    if weight < 0:
        raise ValueError(f"{name}: regularization weight must be >= 0, got {weight}")


def _penalty(regularizer: str, tensors: list[Tensor], complex_: bool) -> Tensor:
    """L2: mean over the batch of ``Σ ||x||²``; N3 (Lacroix et al., 2018): of ``Σ |x|³``
    with ``|x|`` the complex modulus per coordinate."""
    total = tensors[0].new_zeros(())
    for x in tensors:
        if regularizer == "l2":
            total = total + x.pow(2).sum(-1).mean()
        else:
            if complex_:
                re, im = _complex(x)
                mod = torch.sqrt(re.pow(2) + im.pow(2) + 1e-12)
            else:
                mod = x.abs()
            total = total + mod.pow(3).sum(-1).mean()
    return total


class TransE(KGEModel):
    r"""TransE (Bordes et al., NeurIPS 2013), https://papers.nips.cc/paper/5071.

    .. math:: f(h, r, t) = -\lVert \mathbf e_h + \mathbf r - \mathbf e_t \rVert_p

    As published: embeddings start uniform in ``±6/√d``, relation rows are
    L2-normalised once at the start, and entity rows are renormalised to unit
    L2 norm after every step (``post_step``).

    Args:
        num_entities: rows of the entity table.
        num_relations: rows of the relation table.
        dim: embedding dimension (default 50).
        p: the norm, 1 (default) or 2.
        normalize_entities: keep entity rows on the unit sphere (default ``True``).
    """

    def __init__(self, num_entities: int, num_relations: int, dim: int = 50, p: int = 1,
                 normalize_entities: bool = True, encoder: nn.Module | None = None) -> None:
        super().__init__(num_entities, num_relations, dim, dim, encoder)
        if p not in (1, 2):
            raise ValueError(f"TransE: p must be 1 or 2, got {p}")
        self.dim, self.p, self.normalize_entities = dim, p, normalize_entities
        bound = 6 / math.sqrt(dim)
        nn.init.uniform_(self.entity.weight, -bound, bound)
        nn.init.uniform_(self.relation.weight, -bound, bound)
        with torch.no_grad():
            self.relation.weight.copy_(F.normalize(self.relation.weight, dim=-1))
        self.post_step()

    def interaction(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        return -torch.linalg.vector_norm(h + r - t, ord=self.p, dim=-1)

    def all_tails(self, h: Tensor, r: Tensor, entities: Tensor) -> Tensor:
        return -torch.cdist(h + r, entities, p=self.p)

    def all_heads(self, r: Tensor, t: Tensor, entities: Tensor) -> Tensor:
        # ||e + r - t|| = ||e - (t - r)||
        return -torch.cdist(t - r, entities, p=self.p)

    @torch.no_grad()
    def post_step(self) -> None:
        if self.normalize_entities:
            self.entity.weight.copy_(F.normalize(self.entity.weight, dim=-1))


class DistMult(KGEModel):
    r"""DistMult (Yang et al., ICLR 2015), https://arxiv.org/abs/1412.6575.

    .. math:: f(h, r, t) = \textstyle\sum_k e_{h,k}\, r_k\, e_{t,k}

    Symmetric in ``h`` and ``t``. The paper renormalises entity rows to unit
    length after each step (``normalize_entities=True``) and puts an L2 penalty
    on the batch's embeddings.

    Args:
        num_entities: rows of the entity table.
        num_relations: rows of the relation table.
        dim: embedding dimension (default 256).
        regularizer: ``"none"``, ``"l2"`` (default, as published) or ``"n3"``.
        regularization: penalty weight (default 0).
        normalize_entities: unit-norm entity rows (default ``False``: with
            1-vs-all training the scale carries the confidence).
    """

    def __init__(self, num_entities: int, num_relations: int, dim: int = 256, regularizer: str = "l2",
                 regularization: float = 0.0, normalize_entities: bool = False,
                 encoder: nn.Module | None = None) -> None:
        super().__init__(num_entities, num_relations, dim, dim, encoder)
        _check_regularizer("DistMult", regularizer, regularization)
        self.dim, self.regularizer, self.reg_weight = dim, regularizer, regularization
        self.normalize_entities = normalize_entities
        nn.init.xavier_uniform_(self.entity.weight)
        nn.init.xavier_uniform_(self.relation.weight)
        self.post_step()

    def interaction(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        return (h * r * t).sum(-1)

    def all_tails(self, h: Tensor, r: Tensor, entities: Tensor) -> Tensor:
        return (h * r) @ entities.t()

    def all_heads(self, r: Tensor, t: Tensor, entities: Tensor) -> Tensor:
        return (r * t) @ entities.t()

    def regularization(self, head: Tensor, relation: Tensor, tail: Tensor,
                       entities: Tensor | None = None) -> Tensor:
        if self.reg_weight == 0 or self.regularizer == "none":
            return super().regularization(head, relation, tail)
        ent = self.entity_representations() if entities is None else entities
        return self.reg_weight * _penalty(self.regularizer, [ent[head], self.relation(relation), ent[tail]], False)

    @torch.no_grad()
    def post_step(self) -> None:
        if self.normalize_entities:
            self.entity.weight.copy_(F.normalize(self.entity.weight, dim=-1))


class ComplEx(KGEModel):
    r"""ComplEx (Trouillon et al., ICML 2016), https://arxiv.org/abs/1606.06357.

    .. math:: f(h, r, t) = \operatorname{Re}\Big(\textstyle\sum_k e_{h,k}\, r_k\, \overline{e_{t,k}}\Big)

    with complex ``e``, ``r`` of dimension ``dim``. The paper regularises the
    batch's embeddings with L2; Lacroix et al. (ICML 2018,
    https://arxiv.org/abs/1806.07297) showed the N3 penalty (cubed moduli)
    with 1-vs-all training does better.

    Args:
        num_entities: rows of the entity table.
        num_relations: rows of the relation table.
        dim: complex dimension (default 256; 512 reals per row).
        regularizer: ``"none"``, ``"l2"`` or ``"n3"`` (default).
        regularization: penalty weight (default 0).
        init_scale: embeddings start normal with this std (default 0.1).
    """

    def __init__(self, num_entities: int, num_relations: int, dim: int = 256, regularizer: str = "n3",
                 regularization: float = 0.0, init_scale: float = 0.1, encoder: nn.Module | None = None) -> None:
        super().__init__(num_entities, num_relations, 2 * dim, 2 * dim, encoder)
        _check_regularizer("ComplEx", regularizer, regularization)
        self.dim, self.regularizer, self.reg_weight = dim, regularizer, regularization
        nn.init.normal_(self.entity.weight, std=init_scale)
        nn.init.normal_(self.relation.weight, std=init_scale)

    def interaction(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        (h_re, h_im), (r_re, r_im), (t_re, t_im) = _complex(h), _complex(r), _complex(t)
        return (h_re * r_re * t_re + h_im * r_re * t_im + h_re * r_im * t_im - h_im * r_im * t_re).sum(-1)

    def all_tails(self, h: Tensor, r: Tensor, entities: Tensor) -> Tensor:
        # Re(<h r, conj t>) = (h r)_re · t_re + (h r)_im · t_im
        (h_re, h_im), (r_re, r_im) = _complex(h), _complex(r)
        q = torch.cat([h_re * r_re - h_im * r_im, h_re * r_im + h_im * r_re], dim=-1)
        return q @ entities.t()

    def all_heads(self, r: Tensor, t: Tensor, entities: Tensor) -> Tensor:
        # Re(<h, w>) with w = r conj(t): h_re · w_re - h_im · w_im
        (r_re, r_im), (t_re, t_im) = _complex(r), _complex(t)
        w_re, w_im = r_re * t_re + r_im * t_im, r_im * t_re - r_re * t_im
        return torch.cat([w_re, -w_im], dim=-1) @ entities.t()

    def regularization(self, head: Tensor, relation: Tensor, tail: Tensor,
                       entities: Tensor | None = None) -> Tensor:
        if self.reg_weight == 0 or self.regularizer == "none":
            return super().regularization(head, relation, tail)
        ent = self.entity_representations() if entities is None else entities
        return self.reg_weight * _penalty(self.regularizer, [ent[head], self.relation(relation), ent[tail]], True)


class RotatE(KGEModel):
    r"""RotatE (Sun et al., ICLR 2019), https://arxiv.org/abs/1902.10197.

    .. math:: f(h, r, t) = -\lVert \mathbf e_h \circ \mathbf r - \mathbf e_t \rVert,
              \qquad \mathbf r = e^{i\boldsymbol\theta_r},\ |r_k| = 1

    Each relation rotates the complex head embedding coordinate-wise. The
    relation is stored as its phases ``θ_r`` (uniform in ``[-π, π)`` at the
    start), so ``|r_k| = 1`` holds exactly without a projection step. The norm
    is ``p=2``, the Euclidean norm of the complex difference (PyKEEN's
    choice; ranks all entities with one ``cdist``), or ``p=1``, the sum of
    complex moduli (the paper's code). The margin ``γ`` of the paper lives in
    the loss (``self_adversarial_loss``), not the score.

    Args:
        num_entities: rows of the entity table.
        num_relations: rows of the relation table.
        dim: complex dimension (default 256; 512 reals per entity row).
        p: 2 (default) or 1, see above.
        init_scale: entity coordinates start uniform in ``±init_scale``
            (default ``None``: ``1/√dim``).
        regularizer: penalty on the batch's entity embeddings: ``"none"``
            (default, as published), ``"l2"`` or ``"n3"`` (cubed moduli).
        regularization: penalty weight (default 0).
    """

    def __init__(self, num_entities: int, num_relations: int, dim: int = 256, p: int = 2,
                 init_scale: float | None = None, regularizer: str = "none", regularization: float = 0.0,
                 encoder: nn.Module | None = None) -> None:
        super().__init__(num_entities, num_relations, 2 * dim, dim, encoder)
        if p not in (1, 2):
            raise ValueError(f"RotatE: p must be 1 or 2, got {p}")
        _check_regularizer("RotatE", regularizer, regularization)
        self.dim, self.p, self.regularizer, self.reg_weight = dim, p, regularizer, regularization
        bound = 1 / math.sqrt(dim) if init_scale is None else init_scale
        nn.init.uniform_(self.entity.weight, -bound, bound)
        nn.init.uniform_(self.relation.weight, -math.pi, math.pi)

    def relation_representations(self, relation: Tensor) -> Tensor:
        phase = self.relation(relation)
        return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)

    @staticmethod
    def rotate(x: Tensor, r: Tensor, conjugate: bool = False) -> Tensor:
        """``x ∘ r`` (or ``x ∘ conj(r)``) on ``[re | im]`` tensors."""
        (x_re, x_im), (r_re, r_im) = _complex(x), _complex(r)
        if conjugate:
            r_im = -r_im
        return torch.cat([x_re * r_re - x_im * r_im, x_re * r_im + x_im * r_re], dim=-1)

    def _distance(self, diff: Tensor) -> Tensor:
        if self.p == 2:
            return torch.linalg.vector_norm(diff, dim=-1)
        re, im = _complex(diff)
        return torch.sqrt(re.pow(2) + im.pow(2) + 1e-12).sum(-1)

    def interaction(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        return -self._distance(self.rotate(h, r) - t)

    def _all(self, query: Tensor, entities: Tensor) -> Tensor:
        if self.p == 2:  # Euclidean distance of the [re | im] vectors = complex 2-norm
            return -torch.cdist(query, entities)
        # sum of moduli has no matrix-product form: bound the [B, chunk, d] temporary
        chunk = max(1, (1 << 24) // max(1, query.size(0) * query.size(1)))
        return torch.cat([-self._distance(query.unsqueeze(1) - entities[s:s + chunk].unsqueeze(0))
                          for s in range(0, entities.size(0), chunk)], dim=1)

    def all_tails(self, h: Tensor, r: Tensor, entities: Tensor) -> Tensor:
        return self._all(self.rotate(h, r), entities)

    def regularization(self, head: Tensor, relation: Tensor, tail: Tensor,
                       entities: Tensor | None = None) -> Tensor:
        if self.reg_weight == 0 or self.regularizer == "none":
            return super().regularization(head, relation, tail)
        ent = self.entity_representations() if entities is None else entities
        return self.reg_weight * _penalty(self.regularizer, [ent[head], ent[tail]], True)

    def all_heads(self, r: Tensor, t: Tensor, entities: Tensor) -> Tensor:
        # |h ∘ r - t| = |h - t ∘ conj(r)| because |r_k| = 1
        return self._all(self.rotate(t, r, conjugate=True), entities)


# The encoder and the losses have their own modules; these names stay importable from here.
from gnnkit.nn.models.kge_losses import lcwa_loss, margin_ranking_loss, self_adversarial_loss  # noqa: E402
from gnnkit.nn.models.rgcn import RGCNEncoder  # noqa: E402

__all__ = ["KGEModel", "TransE", "DistMult", "ComplEx", "RotatE", "RGCNEncoder", "lcwa_loss",
           "self_adversarial_loss", "margin_ranking_loss"]
