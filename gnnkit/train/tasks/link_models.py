"""What a link-prediction run trains: each model's recipe (``MODEL_DEFAULTS``),
the first layer's input (``link_features``) and the model itself
(``build_model``); the task that trains it is ``gnnkit.train.tasks.link``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from gnnkit.nn.features import sparse_features
from gnnkit.nn.models import GCN, GAE, VGAE, GraphSAGE, LinkPredictor
from gnnkit.nn.models._input import LearnedFeatures
from gnnkit.nn.models.gae import SparseProjection
from gnnkit.ops.sparse import CSR, build_csr
from gnnkit.sampling import LinkSplit
from gnnkit.train.node_features import row_normalize, structural_features
from gnnkit.train.runtime import seed_everything

if TYPE_CHECKING:
    from gnnkit.train.tasks.link import LinkConfig

MODEL_KINDS = ("gae", "vgae", "gcn", "sage")
FEATURE_MODES = ("auto", "given", "embedding", "structural")

#: The recipe of each model when not given. GAE / VGAE keep the model of
#: Kipf & Welling (2016) — a GCN layer, a GCN layer to the embedding, the
#: inner-product decoder, Adam — but train differently: 400 epochs (paper:
#: 200) on 2 sampled negatives per edge drawn afresh each epoch (paper: all
#: N² pairs), dropout (paper: none), and the best validation epoch kept
#: (paper: the last). GAE keeps the paper's 32 → 16 and learning rate 0.01
#: on row-normalised features (paper: raw); VGAE is widened to 64 → 32,
#: reads the raw binary features and learns at 0.005 (paper: 0.01). These
#: were picked in trials on Cora and CiteSeer (3 seeds, then 10 for the
#: negatives and VGAE's learning rate); docs/tutorials/link-prediction.md
#: lists the differences and the 10-seed results.
#: ``feature_norm``: ``"row"`` divides each feature row by the sum of its absolute values (its sum for
#: non-negative features).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "gae": dict(hidden=32, out=16, dropout=0.5, lr=0.01, epochs=400, neg_ratio=2.0, feature_norm="row",
                decoder="dot"),
    "vgae": dict(hidden=64, out=32, dropout=0.7, lr=0.005, epochs=400, neg_ratio=2.0, feature_norm="none",
                 decoder="dot"),
    "gcn": dict(hidden=64, out=32, dropout=0.5, lr=0.01, epochs=400, neg_ratio=1.0, feature_norm="row",
                decoder="dot"),
    "sage": dict(hidden=64, out=32, dropout=0.5, lr=0.01, epochs=400, neg_ratio=1.0, feature_norm="row",
                 decoder="dot"),
}


# --------------------------------------------------------------------- features
@dataclass(frozen=True)
class LinkFeatures:
    """The first layer's input, and what it is.

    Attributes:
        x: ``[N, F]`` dense features, a sparse ``CSR`` of them, or ``None``
            (the model holds a learnable embedding).
        kind: ``"given"``, ``"embedding"`` or ``"structural"``.
        description: one line for the output (e.g. "given: 1433 sparse features, row-normalised").
    """

    x: Tensor | CSR | None
    kind: str
    description: str

    @property
    def width(self) -> int:
        if self.x is None:
            return 0
        return self.x.num_cols if isinstance(self.x, CSR) else self.x.size(1)


def link_features(split: LinkSplit, model: str, config: LinkConfig, sparse: bool | None = None,
                  x: Tensor | CSR | None = None) -> LinkFeatures:
    """The input features of a link model on ``split``.

    Args:
        split: the edge split (its ``graph`` holds the node features).
        model: one of ``MODEL_KINDS`` (``sage`` cannot read a sparse identity).
        config: ``LinkConfig`` (``features``, ``feature_norm``).
        sparse: store the features as a ``CSR`` (``None``: when under 10 %
            non-zero); ``False`` (mini-batches) also makes ``features="auto"``
            on a graph without features structural, not an embedding.
        x: node features to use instead of ``split.graph.x``, e.g. a ``CSR``
            from ``gnnkit.datasets.formats.musae.read_musae_features`` for a
            graph whose features would not fit densely; a ``CSR`` stays
            sparse (row-normalised on its values), so memory follows its
            non-zeros.
    """
    graph, mode = split.graph, config.features
    given = graph.x if x is None else x
    if mode == "auto":  # an embedding cannot be dense-gathered per mini-batch: structural features then
        mode = "given" if given is not None else ("structural" if sparse is False else "embedding")
    if mode == "given" and isinstance(given, CSR):
        if given.num_rows != graph.num_nodes:
            raise ValueError(f"the sparse features have {given.num_rows} rows but the graph has {graph.num_nodes} "
                             f"nodes; pass one row per node")
        what = f"given: {given.num_cols} sparse features ({given.nnz} non-zeros)"
        if config.feature_norm == "row":
            value = given.value.float() if given.value is not None else torch.ones(given.nnz, device=given.device)
            # (as row_normalize: by the sum of absolute values, which is the sum for non-negative features)
            sums = torch.zeros(given.num_rows, device=value.device).index_add_(0, given.row(), value.abs())
            given = given.with_value(value / sums.clamp(min=1e-12).index_select(0, given.row()))
            what += ", row-normalised"
        return LinkFeatures(given.to(graph.device), "given", what)
    if mode == "given":
        if given is None:
            raise ValueError("features='given' but the graph has no node features; use features='auto', "
                             "'embedding' or 'structural'")
        x, what = given.float(), f"given: {given.size(1)} features"
    elif mode == "structural":
        # Computed on the training graph: degrees etc. must not count held-out edges.
        x = structural_features(graph.edge_index, graph.num_nodes, seed=0).to(graph.device)
        what = f"structural: {x.size(1)} columns from the training graph (degree, clustering, PageRank, FastRP)"
    else:
        n = graph.num_nodes
        if model == "sage":
            return LinkFeatures(None, "embedding", f"embedding: a learnable {config.embedding_dim}-vector per node")
        ids = torch.arange(n, device=graph.device)
        x = build_csr(torch.stack([ids, ids]), n, torch.ones(n, device=graph.device), num_cols=n)
        return LinkFeatures(x, "embedding", "embedding: a learnable vector per node (identity features into the "
                                            "first layer)")
    if config.feature_norm == "row" and mode == "given":  # structural columns are standardised already
        x, what = row_normalize(x), what + ", row-normalised"
    if sparse is None:
        sparse = float((x != 0).float().mean()) < 0.1
    if sparse:
        x, what = sparse_features(x), what + " (sparse)"
    return LinkFeatures(x, mode, what)


# ----------------------------------------------------------------------- models
def build_model(kind: str, features: LinkFeatures, num_nodes: int, seed: int = 0, hidden: int | None = None,
                out: int | None = None, dropout: float | None = None, decoder: str | None = None,
                embedding_dim: int = 64) -> nn.Module:
    """A freshly initialised link model (seeded with ``seed``).

    Args:
        kind: ``"gae"``, ``"vgae"``, ``"gcn"`` (``LinkPredictor`` over ``GCN``)
            or ``"sage"`` (``LinkPredictor`` over ``GraphSAGE``; sparse
            features go through a ``SparseProjection`` to the hidden width first).
        features: from ``link_features`` (its width sizes the first layer).
        num_nodes: number of nodes (for a learnable embedding).
        seed: seeds the initial weights.
        hidden: width of the first layer (default ``MODEL_DEFAULTS``).
        out: embedding width (default ``MODEL_DEFAULTS``).
        dropout: dropout on each layer's input (default ``MODEL_DEFAULTS``).
        decoder: ``"dot"``, ``"hadamard"`` or ``"mlp"`` for ``gcn`` / ``sage``
            (GAE and VGAE decode with the inner product).
        embedding_dim: width of ``sage``'s learnable embedding when the
            features are ``None``.
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown link model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    d = MODEL_DEFAULTS[kind]
    hidden = d["hidden"] if hidden is None else hidden
    out = d["out"] if out is None else out
    dropout = d["dropout"] if dropout is None else dropout
    decoder = d["decoder"] if decoder is None else decoder
    if kind in ("gae", "vgae") and decoder != "dot":
        raise ValueError(f"{kind} decodes with the inner product (decoder 'dot'); use --model gcn or sage for "
                         f"the {decoder!r} decoder")
    seed_everything(seed)
    if kind in ("gae", "vgae"):
        return (GAE if kind == "gae" else VGAE)(features.width, hidden, out, dropout)
    if features.x is None:
        encoder = LearnedFeatures(num_nodes, embedding_dim, GraphSAGE(embedding_dim, hidden, out, 2, dropout))
    elif kind == "sage" and isinstance(features.x, CSR):
        # SAGEConv reads dense input: sparse features are projected to the hidden width first (CSR × W).
        encoder = SparseProjection(features.width, hidden, GraphSAGE(hidden, hidden, out, 2, dropout))
    elif kind == "sage":
        encoder = GraphSAGE(features.width, hidden, out, 2, dropout)
    else:
        encoder = GCN(features.width, hidden, out, 2, dropout)
    return LinkPredictor(encoder, out, decoder)


# ------------------------------------------------------------------------- task


__all__ = ["FEATURE_MODES", "MODEL_DEFAULTS", "MODEL_KINDS", "LinkFeatures", "build_model", "link_features"]
