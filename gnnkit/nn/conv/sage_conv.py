"""SAGEConv with mean aggregation (Hamilton et al., NeurIPS 2017)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.adjacency import check_features
from gnnkit.nn.message_passing import MessagePassing
from gnnkit.nn.inference import blocks, gather, map_rows
from gnnkit.ops.sparse import CSR, spmm


class SAGEConv(MessagePassing):
    r"""GraphSAGE with mean aggregation, https://arxiv.org/abs/1706.02216.

    .. math::
        h_i' = W_1 \cdot \frac{1}{|N(i)|}\sum_{j \in N(i)} e_{ij} h_j + b + W_2 h_i

    ``e_ij = 1`` without edge weights (then identical to PyG's ``SAGEConv``);
    isolated nodes aggregate to 0. ``W_1`` is applied before the aggregation
    when ``out_channels < in_channels`` (a mean commutes with a linear map).

    Args:
        in_channels: input features per node.
        out_channels: output features per node.
        bias: learn ``b`` (default ``True``).
        root_weight: add the root term ``W_2 h_i`` (default ``True``).
        normalize: L2-normalise the output rows (default ``False``).

    Shapes:
        x ``[N, in_channels]``, edge_index ``[2, E]`` (or a ``CSR``),
        edge_weight ``[E]`` → ``[N, out_channels]``.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, root_weight: bool = True,
                 normalize: bool = False) -> None:
        super().__init__(aggr="mean")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.root_weight, self.normalize = root_weight, normalize
        # Named as in PyG so that state_dicts move between the two.
        self.lin_l = nn.Linear(in_channels, out_channels, bias=bias)
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False) if root_weight else None

    def forward(self, x: Tensor, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_features(x, self.in_channels, "SAGEConv")
        if self.out_channels < self.in_channels:
            out = self.propagate(F.linear(x, self.lin_l.weight), edge_index, edge_weight)
            if self.lin_l.bias is not None:
                out = out + self.lin_l.bias
        else:
            out = self.lin_l(self.propagate(x, edge_index, edge_weight))
        if self.lin_r is not None:
            out = out + self.lin_r(x)
        if self.normalize:
            out = F.normalize(out, p=2.0, dim=-1)
        return out

    @torch.no_grad()
    def inference(self, x: Tensor, adj: CSR, batch_size: int, device: torch.device) -> Tensor:
        """This layer's output for all nodes, computed over blocks of
        ``batch_size`` targets on ``device`` (see ``gnnkit.nn.inference``);
        the mean divides by each target's in-degree in the whole graph."""
        adj = self.adjacency(adj, None, x.size(0))
        inv_deg = adj.degree().clamp(min=1).to(x.dtype).reciprocal().index_select(0, adj.row())
        mean = adj.with_value(inv_deg if adj.value is None else adj.value * inv_deg)
        # As in forward: W first when it shrinks the features, so the product moves fewer columns.
        shrink = self.out_channels < self.in_channels
        src_x = map_rows(lambda part: F.linear(part, self.lin_l.weight), x, batch_size, device) if shrink else x
        out = None
        for start, end, block, src in blocks(mean, batch_size, device):
            part = spmm(block, gather(src_x, src, device))
            if not shrink:
                part = self.lin_l(part)
            elif self.lin_l.bias is not None:
                part = part + self.lin_l.bias
            if self.lin_r is not None:
                part = part + self.lin_r(x[start:end].to(device))
            if self.normalize:
                part = F.normalize(part, p=2.0, dim=-1)
            if out is None:
                out = torch.empty(x.size(0), part.size(1), dtype=part.dtype, device=x.device)
            out[start:end] = part.to(x.device)
        return out if out is not None else torch.empty(0, self.out_channels, device=x.device)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, aggr='mean'"
