"""Node features as a dense tensor or as a sparse ``CSR``, for a model's first layer.

Bag-of-words features (Cora: 1.3 % non-zero, CiteSeer: 0.9 %) waste most of a
dense ``x @ W``. A model's first layer accepts either a dense ``[N, F]``
tensor or a ``gnnkit.ops.CSR`` of shape ``[N, F]`` (``sparse_features``) and
computes ``x @ W`` with the sparse product, whose backward ``xᵀ @ grad``
runs through the CSR's cached transpose.
"""
from __future__ import annotations

from torch import Tensor, nn

from gnnkit.ops.sparse import CSR

Features = "Tensor | CSR"


def densify(x: Tensor | CSR) -> Tensor:
    """A dense tensor for layers that have no sparse-input path."""
    return x.to_dense() if isinstance(x, CSR) else x


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
