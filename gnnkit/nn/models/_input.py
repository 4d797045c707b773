"""Node features as a dense tensor or as a sparse ``CSR``, for a model's first layer.

Bag-of-words features (Cora: 1.3 % non-zero, CiteSeer: 0.9 %) waste most of a
dense ``x @ W``. A model's first layer accepts either a dense ``[N, F]``
tensor or a ``gnnkit.ops.CSR`` of shape ``[N, F]`` (``sparse_features``) and
computes ``x @ W`` with the sparse product, whose backward ``xᵀ @ grad``
runs through the CSR's cached transpose.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.ops.sparse import CSR, build_csr, spmm

Features = "Tensor | CSR"


def sparse_features(x: Tensor) -> CSR:
    """The non-zeros of a dense ``[N, F]`` matrix as a ``CSR`` (row = node)."""
    if x.dim() != 2:
        raise ValueError(f"sparse_features: x must be [num_nodes, F], got shape {tuple(x.shape)}")
    node, feat = x.nonzero(as_tuple=True)
    return build_csr(torch.stack([feat, node]), x.size(0), x[node, feat], num_cols=x.size(1))


def num_rows(x: Tensor | CSR) -> int:
    return x.num_rows if isinstance(x, CSR) else x.size(0)


def densify(x: Tensor | CSR) -> Tensor:
    """A dense tensor for layers that have no sparse-input path."""
    return x.to_dense() if isinstance(x, CSR) else x


def feature_dropout(x: Tensor | CSR, p: float, training: bool) -> Tensor | CSR:
    """Dropout on the feature values; on a CSR only the stored non-zeros are
    dropped (what dense dropout does to a sparse matrix, at nnz cost)."""
    if not training or p == 0.0:
        return x
    if isinstance(x, CSR):
        value = x.value if x.value is not None else torch.ones(x.nnz, device=x.device)
        return x.with_value(F.dropout(value, p, training=True))
    return F.dropout(x, p, training=True)


def linear(x: Tensor | CSR, lin: nn.Linear) -> Tensor:
    """``x @ lin.weightᵀ (+ lin.bias)`` for dense or CSR ``x``."""
    if isinstance(x, CSR):
        if x.num_cols != lin.in_features:
            raise ValueError(f"features have {x.num_cols} columns but the layer expects {lin.in_features}")
        out = spmm(x, lin.weight.t())
        if torch.is_autocast_enabled(out.device.type):  # match what nn.Linear gives under autocast
            out = out.to(torch.get_autocast_dtype(out.device.type))
        return out if lin.bias is None else out + lin.bias
    return lin(x)


def check_input(x, in_channels: int, model: str) -> None:
    if x is None:
        raise ValueError(
            f"{model}: the graph has no node features (x is None); prepare it with "
            f"gnnkit.train.node.prepare_graph(graph, NodeTrainConfig(features='auto')) or use features='embedding'"
        )
    width = x.num_cols if isinstance(x, CSR) else (x.size(1) if isinstance(x, Tensor) and x.dim() == 2 else None)
    if width != in_channels:
        raise ValueError(f"{model}: x has {width} features per node but the model was built with in_channels={in_channels}")


class LearnedFeatures(nn.Module):
    """A learnable ``dim``-vector per node as the input of ``model``, for
    graphs without node features (transductive only: the embedding is tied
    to the node ids it was trained on).

    Args:
        num_nodes: number of nodes of the graph.
        dim: embedding width.
        model: a model taking ``[N, dim]`` features.

    Shapes:
        x (ignored, may be ``None``), edge_index → ``model``'s output.
    """

    def __init__(self, num_nodes: int, dim: int, model: nn.Module) -> None:
        super().__init__()
        self.num_nodes, self.dim = num_nodes, dim
        self.embedding = nn.Embedding(num_nodes, dim)
        self.model = model
        nn.init.normal_(self.embedding.weight, std=dim ** -0.5)

    def forward(self, x, edge_index, edge_weight: Tensor | None = None) -> Tensor:
        return self.model(self.embedding.weight, edge_index, edge_weight)
