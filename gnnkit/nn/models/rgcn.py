"""R-GCN models (Schlichtkrull et al., ESWC 2018): the entity encoder for
knowledge-graph completion and the entity (node) classifier."""
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


class RGCN(nn.Module):
    r"""R-GCN for entity classification (Schlichtkrull et al., 2018, §3 and
    §5): ``RGCNConv`` layers with ReLU and dropout between them, the last one
    giving class logits,

    .. math:: H^{(l+1)} = \sigma\big(W_0^{(l)} H^{(l)}_i + \textstyle\sum_r
              \sum_{j \in N_r(i)} \tfrac{1}{c_{i,r}} W_r^{(l)} H^{(l)}_j\big).

    Entities without features (the paper's setting: one-hot inputs) get a
    learnable ``hidden_channels``-vector each (``in_channels=None`` and
    ``num_nodes``): the paper's first layer on one-hot inputs is a table of
    rows per relation; here one shared table feeds a first layer with its
    own per-relation weights, which has far fewer parameters on large graphs.

    Args:
        in_channels: node features per node, or ``None`` for featureless entities.
        hidden_channels: width of the hidden layers (paper: 16).
        out_channels: number of classes.
        num_relations: number of edge types (both directions of a triple as
            separate relations, as the paper does).
        num_layers: ``RGCNConv`` layers (default 2, as the paper).
        num_nodes: entities, when ``in_channels`` is ``None``.
        num_bases: basis decomposition (default ``None``: full matrices).
        num_blocks: block-diagonal decomposition (default ``None``); a layer
            whose widths it does not divide (typically the output layer)
            keeps full matrices.
        dropout: dropout on each layer's input (default 0).

    Shapes:
        x ``[N, in_channels]`` or ``None``, edge_index ``[2, E]`` (row 0
        sources), edge_type ``[E]`` → ``[N, out_channels]`` logits.
    """

    def __init__(self, in_channels: int | None, hidden_channels: int, out_channels: int, num_relations: int,
                 num_layers: int = 2, num_nodes: int | None = None, num_bases: int | None = None,
                 num_blocks: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"RGCN: num_layers must be >= 1, got {num_layers}")
        if in_channels is None and (num_nodes is None or num_nodes < 1):
            raise ValueError("RGCN: featureless entities (in_channels=None) need num_nodes, the number of entities")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"RGCN: dropout must be in [0, 1), got {dropout}")
        self.embedding = nn.Embedding(num_nodes, hidden_channels) if in_channels is None else None
        widths = [hidden_channels if in_channels is None else in_channels]
        widths += [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(
            RGCNConv(a, b, num_relations, num_bases=num_bases,
                     num_blocks=num_blocks if a % (num_blocks or 1) == 0 and b % (num_blocks or 1) == 0 else None)
            for a, b in zip(widths[:-1], widths[1:]))
        self.dropout = dropout

    def forward(self, x: Tensor | None, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        if self.embedding is not None:
            if x is not None:
                raise ValueError("RGCN was built for featureless entities (in_channels=None): pass x=None")
            x = self.embedding.weight
        elif x is None:
            raise ValueError("RGCN was built for node features: pass x [N, in_channels], or build it with "
                             "in_channels=None and num_nodes for featureless entities")
        for k, conv in enumerate(self.convs):
            if k:
                x = F.relu(x)
            x = conv(F.dropout(x, self.dropout, self.training), edge_index, edge_type)
        return x
