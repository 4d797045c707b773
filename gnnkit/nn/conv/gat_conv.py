"""GATConv (Veličković et al., ICLR 2018)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, as_csr, check_features
from gnnkit.nn.features import feature_dropout, linear, num_rows
from gnnkit.nn.inference import blocks, gather, map_rows
from gnnkit.ops.norm import softmax
from gnnkit.ops.sparse import CSR, build_csr, spmm


def _with_self_loops(csr: CSR) -> CSR:
    """The same graph with every loop removed and one loop per node added."""
    row, col = csr.row(), csr.col.to(torch.int64)
    keep = row != col
    n = csr.num_rows
    loops = torch.arange(n, device=csr.device)
    edge_index = torch.stack([torch.cat([col[keep], loops]), torch.cat([row[keep], loops])])
    return build_csr(edge_index, n)


class GATConv(nn.Module):
    r"""Graph attention, https://arxiv.org/abs/1710.10903.

    .. math::
        \alpha_{ij} = \operatorname{softmax}_{j \in N(i) \cup \{i\}}\Big(
            \operatorname{LeakyReLU}\big(a_s^\top W h_j + a_d^\top W h_i\big)\Big),\qquad
        h_i' = \big\Vert_{k=1}^{K} \sum_j \alpha^k_{ij} W^k h_j + b

    Heads are concatenated (``concat=True``) or averaged. Existing self-loops
    are replaced by one loop per node, as in the paper and PyG. Edge weights
    are ignored (attention decides the weights). The aggregation runs one
    sparse product per head with the attention as the matrix values, so no
    ``[E, heads, F]`` message tensor is ever built.

    Args:
        in_channels: input features per node.
        out_channels: features per head.
        heads: number of attention heads ``K`` (default 1).
        concat: concatenate heads (default ``True``) or average them.
        dropout: dropout on the attention coefficients in training (default 0).
        head_dropout: the paper's reference implementation
            (github.com/PetarV-/GAT, ``layers.attn_head``): in training each
            head drops its own copy of the input before ``W^k`` and drops
            ``W^k h_j`` again before the aggregation, at this rate (the
            attention scores use the un-dropped ``W^k h``). Default 0: as PyG,
            where the caller drops the input once for all heads.
        negative_slope: LeakyReLU slope (default 0.2).
        add_self_loops: attend to the node itself (default ``True``).
        bias: learn ``b`` (default ``True``).

    Shapes:
        x ``[N, in_channels]`` (dense, or a ``CSR`` of features), edge_index ``[2, E]`` (or a ``CSR``) →
        ``[N, heads * out_channels]`` (concat) or ``[N, out_channels]``.
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, concat: bool = True,
                 dropout: float = 0.0, negative_slope: float = 0.2, add_self_loops: bool = True,
                 bias: bool = True, head_dropout: float = 0.0) -> None:
        super().__init__()
        if heads < 1:
            raise ValueError(f"GATConv: heads must be >= 1, got {heads}")
        if not 0.0 <= head_dropout < 1.0:
            raise ValueError(f"GATConv: head_dropout must be in [0, 1), got {head_dropout}")
        self.head_dropout = head_dropout
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.dropout, self.negative_slope = concat, dropout, negative_slope
        self.add_self_loops = add_self_loops
        # Parameter names and shapes follow PyG so weights can be copied across.
        self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
        width = heads * out_channels if concat else out_channels
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None
        self._structure = AdjacencyCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.lin.weight)
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _transform(self, x: Tensor | CSR, n: int) -> Tensor:
        """``W^k x`` for every head, ``[N, heads, C]``; with ``head_dropout``
        in training, each head sees its own dropout of ``x``."""
        heads, c = self.heads, self.out_channels
        if not (self.training and self.head_dropout > 0):
            return linear(x, self.lin).view(n, heads, c)
        weight = self.lin.weight.view(heads, c, -1)
        parts = []
        for k in range(heads):
            xk = feature_dropout(x, self.head_dropout, True)
            parts.append(spmm(xk, weight[k].t()) if isinstance(xk, CSR) else xk @ weight[k].t())
        return torch.stack(parts, dim=1)

    def _structure_of(self, edge_index: Tensor | CSR, n: int) -> CSR:
        def build() -> CSR:
            adj = as_csr(edge_index, None, n)
            return _with_self_loops(adj) if self.add_self_loops else adj

        return self._structure.get(edge_index, None, n, build)

    def _attend(self, adj: CSR, h_src: Tensor, score_src: Tensor, score_dst: Tensor) -> tuple[Tensor, Tensor]:
        """Attention over the rows of ``adj`` (targets) and its columns
        (sources, ``h_src`` ``[S, H, C]``): the output ``[R, ...]`` with the
        bias, and the attention ``[nnz, H]``."""
        heads, c = self.heads, self.out_channels
        row, col = adj.row(), adj.col.to(torch.int64)
        logits = F.leaky_relu(score_src.index_select(0, col) + score_dst.index_select(0, row), self.negative_slope)
        alpha = softmax(logits, ptr=adj.rowptr)  # [E, H], normalised over each target's edges
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        if self.training and self.head_dropout > 0:
            h_src = F.dropout(h_src, p=self.head_dropout, training=True)
        out = torch.stack([spmm(adj.with_value(alpha[:, k]), h_src[:, k]) for k in range(heads)], dim=1)
        out = out.reshape(adj.num_rows, heads * c) if self.concat else out.mean(dim=1)
        if self.bias is not None:
            out = out + self.bias
        return out, alpha

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None,
                return_attention: bool = False):
        check_features(x, self.in_channels, "GATConv")
        n = num_rows(x)
        adj = self._structure_of(edge_index, n)
        h = self._transform(x, n)
        out, alpha = self._attend(adj, h, (h * self.att_src).sum(-1), (h * self.att_dst).sum(-1))
        return (out, (adj, alpha)) if return_attention else out

    @torch.no_grad()
    def inference(self, x: Tensor, adj: CSR, batch_size: int, device: torch.device) -> Tensor:
        """This layer's output for all nodes, computed over blocks of
        ``batch_size`` targets on ``device`` (see ``gnnkit.nn.inference``)."""
        n, heads, c = x.size(0), self.heads, self.out_channels
        adj = self._structure_of(adj, n)
        h = map_rows(lambda part: linear(part, self.lin).view(-1, heads, c), x, batch_size, device)
        score_src = map_rows(lambda part: (part * self.att_src).sum(-1), h, batch_size, device)
        score_dst = map_rows(lambda part: (part * self.att_dst).sum(-1), h, batch_size, device)
        out = torch.empty(n, heads * c if self.concat else c, dtype=h.dtype, device=x.device)
        for start, end, block, src in blocks(adj, batch_size, device):
            part, _ = self._attend(block, gather(h, src, device), gather(score_src, src, device),
                                   score_dst[start:end].to(device))
            out[start:end] = part.to(x.device)
        return out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}"
