"""The R-GCN entity encoder (Schlichtkrull et al., ESWC 2018) for knowledge-graph completion."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.conv.rgcn_conv import RGCNConv


class RGCNEncoder(nn.Module):
    r"""R-GCN entity encoder (Schlichtkrull et al., 2018) for link prediction.

    ``H^{(0)}`` is the entity table; each layer is an ``RGCNConv`` over the
    training graph, with ReLU and dropout between layers:

    .. math:: H^{(l+1)} = \sigma\big(\mathrm{RGCNConv}(H^{(l)})\big)

    The paper scores the result with DistMult; any ``KGEModel`` takes it as
    ``encoder=``. The graph should hold both directions of every triple as
    separate relations (``KnowledgeGraph.with_inverse().graph()``), as in the
    paper.

    Args:
        edge_index: ``[2, T]`` training edges (row 0 heads).
        edge_type: ``[T]`` relation of each edge.
        num_relations: number of edge types.
        dim: width of every layer (= the entity table's width).
        num_layers: number of ``RGCNConv`` layers (default 2).
        num_bases: basis decomposition with this many bases (default ``None``).
        num_blocks: block-diagonal decomposition (default ``None``).
        dropout: dropout on each layer's input (default 0).
    """

    def __init__(self, edge_index: Tensor, edge_type: Tensor, num_relations: int, dim: int, num_layers: int = 2,
                 num_bases: int | None = None, num_blocks: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"RGCNEncoder: num_layers must be >= 1, got {num_layers}")
        self.register_buffer("edge_index", edge_index.long(), persistent=False)
        self.register_buffer("edge_type", edge_type.long(), persistent=False)
        self.dropout = dropout
        self.convs = nn.ModuleList(RGCNConv(dim, dim, num_relations, num_bases=num_bases, num_blocks=num_blocks)
                                   for _ in range(num_layers))

    def forward(self, x: Tensor) -> Tensor:
        for k, conv in enumerate(self.convs):
            x = F.dropout(x, self.dropout, self.training)
            x = conv(x, self.edge_index, self.edge_type)
            if k < len(self.convs) - 1:
                x = F.relu(x)
        return x


# ---------------------------------------------------------------------------
# Losses. Scores are logits: higher means more plausible.
