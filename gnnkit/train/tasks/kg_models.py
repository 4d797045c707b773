"""What a knowledge-graph run trains: each model's recipe (``MODEL_DEFAULTS``)
and the model itself (``build_model``); the task that trains it is
``gnnkit.train.tasks.kg``."""
from __future__ import annotations

from typing import Any

from gnnkit.datasets.knowledge_graph import KnowledgeGraph
from gnnkit.nn.models.kge import ComplEx, DistMult, KGEModel, RotatE, TransE
from gnnkit.nn.models.rgcn import RGCNEncoder

MODEL_KINDS = ("rotate", "complex", "distmult", "transe", "rgcn")

#: Hyper-parameters of each model when not given. One recipe for every
#: dataset (1-vs-all cross-entropy per training triple, inverse triples,
#: label smoothing 0.1, Adam lr 0.01, batch 1024);
#: the bilinear models get the N3 penalty of Lacroix et al. (2018).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "rotate": {"dim": 512},
    "complex": {"dim": 512, "regularizer": "n3", "regularization": 0.01},
    "distmult": {"dim": 512, "regularizer": "n3", "regularization": 0.01},
    "transe": {"dim": 512, "p": 1},
    "rgcn": {"dim": 128, "num_layers": 2, "num_bases": 4, "regularizer": "n3", "regularization": 0.01},
}
_OPTIONS = {
    "rotate": {"dim", "p", "init_scale", "regularizer", "regularization"},
    "complex": {"dim", "regularizer", "regularization", "init_scale"},
    "distmult": {"dim", "regularizer", "regularization", "normalize_entities"},
    "transe": {"dim", "p", "normalize_entities"},
    "rgcn": {"dim", "num_layers", "num_bases", "num_blocks", "dropout", "regularizer", "regularization"},
}


def build_model(kind: str, kg: KnowledgeGraph, **hparams: Any) -> KGEModel:
    """A model of ``kind`` sized for ``kg`` (inverse relations included when
    ``kg.inverse``); hyper-parameters not given take ``MODEL_DEFAULTS[kind]``.
    ``"rgcn"`` is an R-GCN encoder over ``kg``'s training graph (both
    directions) under a DistMult decoder, as in Schlichtkrull et al. (2018)."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model {kind!r}: choose one of {', '.join(MODEL_KINDS)}")
    unknown = set(hparams) - _OPTIONS[kind]
    if unknown:
        raise ValueError(f"model {kind!r} takes {sorted(_OPTIONS[kind])}, not {sorted(unknown)}")
    hp = {**MODEL_DEFAULTS[kind], **hparams}
    e, r = kg.num_entities, kg.num_relations
    if kind == "rotate":
        return RotatE(e, r, **hp)
    if kind == "complex":
        return ComplEx(e, r, **hp)
    if kind == "distmult":
        return DistMult(e, r, **hp)
    if kind == "transe":
        return TransE(e, r, **hp)
    graph = kg.with_inverse()  # messages flow both ways, each direction its own relation
    edge_index, edge_type = graph.graph()
    encoder = RGCNEncoder(edge_index, edge_type, graph.num_relations, hp["dim"], hp["num_layers"],
                          num_bases=hp.get("num_bases"), num_blocks=hp.get("num_blocks"),
                          dropout=hp.get("dropout", 0.0))
    return DistMult(e, r, hp["dim"], regularizer=hp["regularizer"], regularization=hp["regularization"],
                    encoder=encoder)


__all__ = ["MODEL_DEFAULTS", "MODEL_KINDS", "build_model"]
