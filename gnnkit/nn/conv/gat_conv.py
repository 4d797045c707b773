"""GATConv (Veličković et al., ICLR 2018)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, Block, as_csr, check_features
from gnnkit.nn.features import feature_dropout, linear, num_rows
from gnnkit.nn.message_passing import MessagePassing, split_input
from gnnkit.ops.norm import softmax
from gnnkit.ops.sparse import CSR, build_csr, spmm


def _with_self_loops(csr: CSR) -> CSR:
    """The same graph with every loop removed and one loop per node added
    (bipartite: per node id that is both a source and a target, as PyG)."""
    row, col = csr.row(), csr.col.to(torch.int64)
    keep = row != col
    loops = torch.arange(min(csr.num_rows, csr.num_cols), device=csr.device)
    edge_index = torch.stack([torch.cat([col[keep], loops]), torch.cat([row[keep], loops])])
    return build_csr(edge_index, csr.num_rows, num_cols=csr.num_cols)


class GATConv(MessagePassing):
    r"""Graph attention, https://arxiv.org/abs/1710.10903.

    .. math::
        \alpha_{ij} = \operatorname{softmax}_{j \in N(i) \cup \{i\}}\Big(
            \operatorname{LeakyReLU}\big(a_s^\top W h_j + a_d^\top W h_i\big)\Big),\qquad
        h_i' = \big\Vert_{k=1}^{K} \sum_j \alpha^k_{ij} W^k h_j + b

    Heads are concatenated (``concat=True``) or averaged. Existing self-loops
    are replaced by one loop per node, as in the paper and PyG. Edge weights
    are ignored (attention decides the weights). As message passing, per
    head ``k``: ``message(x_j, α^k_ij) = α^k_ij x_j`` with ``x_j = W^k h_j``
    (``[E, C]``), summed, ``update`` (identity), then concat/mean and ``+ b``.
    With the default steps the aggregation is one sparse product per head
    with the attention as the matrix values, so no ``[E, heads, F]`` message
    tensor is ever built.

    Args:
        in_channels: input features per node, or ``(in_src, in_dst)`` for a
            bipartite graph (then ``W`` is ``lin_src`` for sources and
            ``lin_dst`` for targets, as in PyG).
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

    ``forward(x, edge_index, edge_weight=None, return_attention=False,
    return_attention_weights=None)``: with ``return_attention`` it also
    returns ``(csr, alpha)`` (the structure attended over and ``[nnz, heads]``
    coefficients in its order); with PyG's ``return_attention_weights=True``,
    ``(edge_index, alpha)`` with ``edge_index`` ``[2, nnz]`` (loops included).

    Shapes:
        x ``[N, in_channels]`` (dense, or a ``CSR`` of features) or bipartite
        ``([S, in_src], [T, in_dst])``, edge_index ``[2, E]`` (or a ``[T, S]``
        ``CSR``) → ``[N, heads * out_channels]`` (concat) or ``[N, out_channels]``
        (``T`` rows when bipartite).
    """

    def __init__(self, in_channels: int | tuple[int, int], out_channels: int, heads: int = 1, concat: bool = True,
                 dropout: float = 0.0, negative_slope: float = 0.2, add_self_loops: bool = True,
                 bias: bool = True, head_dropout: float = 0.0) -> None:
        super().__init__(aggr="sum")
        if heads < 1:
            raise ValueError(f"GATConv: heads must be >= 1, got {heads}")
        if not 0.0 <= head_dropout < 1.0:
            raise ValueError(f"GATConv: head_dropout must be in [0, 1), got {head_dropout}")
        self.head_dropout = head_dropout
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.dropout, self.negative_slope = concat, dropout, negative_slope
        self.add_self_loops = add_self_loops
        # Parameter names and shapes follow PyG so weights can be copied across.
        self.lin = self.lin_src = self.lin_dst = None
        if isinstance(in_channels, tuple):
            self.lin_src = nn.Linear(in_channels[0], heads * out_channels, bias=False)
            self.lin_dst = nn.Linear(in_channels[1], heads * out_channels, bias=False)
        else:
            self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
        width = heads * out_channels if concat else out_channels
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None
        self._structure = AdjacencyCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.lin, self.lin_src, self.lin_dst):
            if lin is not None:
                nn.init.xavier_uniform_(lin.weight)
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _transform(self, x: Tensor | CSR, lin: nn.Linear) -> Tensor:
        """``W^k x`` for every head, ``[N, heads, C]``; with ``head_dropout``
        in training, each head sees its own dropout of ``x``."""
        heads, c = self.heads, self.out_channels
        if not (self.training and self.head_dropout > 0):
            return linear(x, lin).view(num_rows(x), heads, c)
        weight = lin.weight.view(heads, c, -1)
        parts = []
        for k in range(heads):
            xk = feature_dropout(x, self.head_dropout, True)
            parts.append(spmm(xk, weight[k].t()) if isinstance(xk, CSR) else xk @ weight[k].t())
        return torch.stack(parts, dim=1)

    def prepare(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int | tuple[int, int],
                dtype: torch.dtype = torch.float32) -> Block:
        """The structure attended over (loops replaced by one per node with
        ``add_self_loops``), cached per graph and option; weights are ignored.
        ``num_nodes`` may be a ``(sources, targets)`` pair."""
        def build() -> Block:
            adj = as_csr(edge_index, None, *(num_nodes if isinstance(num_nodes, tuple) else (num_nodes,)))
            return Block(_with_self_loops(adj) if self.add_self_loops else adj)

        return self._structure.get(edge_index, None, num_nodes, build, (self.add_self_loops,))

    def transform(self, x: Tensor | CSR, lin: nn.Linear | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``(W h [N, H, C], a_s·W h [N, H], a_d·W h [N, H])``, with ``lin``
        as ``W`` (default ``self.lin``)."""
        if lin is None and self.lin is None:
            raise ValueError("GATConv built with (in_src, in_dst) has two transforms: call it with (x_src, x_dst)")
        h = self._transform(x, self.lin if lin is None else lin)
        return h, (h * self.att_src).sum(-1), (h * self.att_dst).sum(-1)

    def _attend(self, block: Block, src: tuple[Tensor, ...], dst: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
        """The output rows of ``block`` with the bias, and the attention ``[nnz, H]``."""
        adj = block.csr
        row, col = adj.row(), adj.col.to(torch.int64)
        logits = F.leaky_relu(src[1].index_select(0, col) + dst[2].index_select(0, row), self.negative_slope)
        alpha = softmax(logits, ptr=adj.rowptr)  # [E, H], normalised over each target's edges
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        h_src = src[0]
        if self.training and self.head_dropout > 0:
            h_src = F.dropout(h_src, p=self.head_dropout, training=True)
        out = torch.stack([self.propagate((h_src[:, k], dst[0][:, k]), adj.with_value(alpha[:, k]))
                           for k in range(self.heads)], dim=1)
        out = out.reshape(adj.num_rows, self.heads * self.out_channels) if self.concat else out.mean(dim=1)
        if self.bias is not None:
            out = out + self.bias
        return out, alpha

    def forward_block(self, block: Block, src: tuple[Tensor, ...], dst: tuple[Tensor, ...]) -> Tensor:
        return self._attend(block, src, dst)[0]

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None,
                return_attention: bool = False, return_attention_weights: bool | None = None):
        check_features(x, self.in_channels, "GATConv")
        x_src, x_dst, size = split_input(x) if isinstance(x, tuple) else (x, x, num_rows(x))
        src = self.transform(x_src, self.lin or self.lin_src)
        # bipartite: W is lin_src for the sources and lin_dst for the targets when built so
        dst = src if self.lin is not None and x_dst is x_src else self.transform(x_dst, self.lin or self.lin_dst)
        block = self.prepare(edge_index, None, size)
        out, alpha = self._attend(block, src, dst)
        if return_attention:
            return out, (block.csr, alpha)
        if return_attention_weights:  # PyG's spelling and return value
            return out, (torch.stack([block.csr.col.to(torch.int64), block.csr.row()]), alpha)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"
