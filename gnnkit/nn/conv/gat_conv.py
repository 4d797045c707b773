"""GATConv (Veličković et al., ICLR 2018)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, Block, as_csr, check_channels, check_features
from gnnkit.nn.features import feature_dropout, linear, num_rows
from gnnkit.nn.message_passing import MessagePassing, split_input
from gnnkit.ops.fused import attention_softmax, multi_head_spmm
from gnnkit.ops.scatter import scatter
from gnnkit.ops.sparse import CSR, build_csr, spmm


_FILL = {"add": "sum", "sum": "sum", "mean": "mean", "max": "max", "min": "min"}


@dataclass(frozen=True)
class _Attended:
    """The structure attended over and, per entry, where its edge features
    come from: ``edge_ids[k] < E`` is an input edge, ``E + i`` the added loop
    of node ``i``. ``kept`` / ``kept_row``: the input edges that stay (loops
    removed) and their targets, for ``fill_value``."""

    block: Block
    edge_ids: Tensor | None = None
    kept: Tensor | None = None
    kept_row: Tensor | None = None


def _with_self_loops(csr: CSR, edge_features: bool = True) -> _Attended:
    """The same graph with every loop removed and one loop per node added
    (bipartite: per node id that is both a source and a target, as PyG).
    The map back to the input edges (three edge-sized index tensors) is
    kept only for a layer that reads edge features."""
    row, col = csr.row(), csr.col.to(torch.int64)
    keep = row != col
    loops = torch.arange(min(csr.num_rows, csr.num_cols), device=csr.device)
    edge_index = torch.stack([torch.cat([col[keep], loops]), torch.cat([row[keep], loops])])
    out = build_csr(edge_index, csr.num_rows, num_cols=csr.num_cols)
    if not edge_features:
        return _Attended(Block(out))
    kept = csr.perm.to(torch.int64)[keep]  # input-edge ids of the kept entries
    nnz = csr.nnz
    ids = torch.cat([kept, nnz + loops]).index_select(0, out.perm.to(torch.int64))
    return _Attended(Block(out), ids, kept, row[keep])


class GATConv(MessagePassing):
    r"""Graph attention, https://arxiv.org/abs/1710.10903.

    .. math::
        \alpha_{ij} = \operatorname{softmax}_{j \in N(i) \cup \{i\}}\Big(
            \operatorname{LeakyReLU}\big(a_s^\top W h_j + a_d^\top W h_i\big)\Big),\qquad
        h_i' = \big\Vert_{k=1}^{K} \sum_j \alpha^k_{ij} W^k h_j + b

    Heads are concatenated (``concat=True``) or averaged (``concat=False``:
    :math:`h_i' = \frac1K \sum_k \sum_j \alpha^k_{ij} W^k h_j + b`). Existing
    self-loops are replaced by one loop per node, as in the paper and PyG.
    Edge weights are ignored (attention decides the weights). With edge
    features ``e_ij`` (``edge_dim``) the score gains a term
    :math:`a_e^\top W_e e_{ij}` inside the LeakyReLU, and an added loop's
    features come from ``fill_value``. With ``residual=True``,
    :math:`h_i' \mathrel{+}= W_r h_i` (after the concat or mean, before ``b``). As message passing, per
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
        edge_dim: width ``D`` of the edge features ``e_ij`` used in the
            attention score (``lin_edge`` is ``W_e``, ``att_edge`` is ``a_e``);
            default ``None``: no edge features.
        fill_value: the features of an added self-loop (with ``edge_dim``
            and ``add_self_loops``): ``"mean"`` (default), ``"add"``/``"sum"``,
            ``"max"`` or ``"min"`` of the node's incoming edges' features
            (loops excluded; 0 without in-edges), or a number / ``[D]``
            tensor used as is, as PyG.
        residual: add ``W_r h_i`` (``res``, no bias) to the output (default ``False``).

    ``forward(x, edge_index, edge_weight=None, return_attention=False,
    return_attention_weights=None, edge_attr=None)``: with ``edge_dim`` the
    edge features are ``edge_attr`` ``[E, D]`` (or ``[E]`` when ``D = 1``),
    or the third positional argument as in PyG's ``conv(x, edge_index,
    edge_attr)``. With ``return_attention`` it also
    returns ``(csr, alpha)`` (the structure attended over and ``[nnz, heads]``
    coefficients in its order); with PyG's ``return_attention_weights=True``,
    ``(edge_index, alpha)`` with ``edge_index`` ``[2, nnz]`` as PyG's: the
    input edges in their order (with ``add_self_loops``: loops dropped, then
    one loop per node appended), ``alpha[e]`` belonging to ``edge_index[:, e]``.

    Shapes:
        x ``[N, in_channels]`` (dense, or a ``CSR`` of features) or bipartite
        ``([S, in_src], [T, in_dst])``, edge_index ``[2, E]`` (or a ``[T, S]``
        ``CSR``) → ``[N, heads * out_channels]`` (concat) or ``[N, out_channels]``
        (``T`` rows when bipartite).
    """

    def __init__(self, in_channels: int | tuple[int, int], out_channels: int, heads: int = 1, concat: bool = True,
                 dropout: float = 0.0, negative_slope: float = 0.2, add_self_loops: bool = True,
                 bias: bool = True, head_dropout: float = 0.0, edge_dim: int | None = None,
                 fill_value: float | Tensor | str = "mean", residual: bool = False) -> None:
        super().__init__(aggr="sum")
        check_channels(in_channels, out_channels, "GATConv")
        if heads < 1:
            raise ValueError(f"GATConv: heads must be >= 1, got {heads}")
        if not 0.0 <= head_dropout < 1.0:
            raise ValueError(f"GATConv: head_dropout must be in [0, 1), got {head_dropout}")
        self.head_dropout = head_dropout
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.dropout, self.negative_slope = concat, dropout, negative_slope
        self.add_self_loops = add_self_loops
        if isinstance(fill_value, str) and fill_value not in _FILL:
            raise ValueError(f"GATConv: fill_value must be a number, a tensor or one of {sorted(_FILL)}, "
                             f"got {fill_value!r}")
        self.edge_dim, self.fill_value, self.residual = edge_dim, fill_value, residual
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
        self.lin_edge = None if edge_dim is None else nn.Linear(edge_dim, heads * out_channels, bias=False)
        self.att_edge = None if edge_dim is None else nn.Parameter(torch.empty(1, heads, out_channels))
        in_dst = in_channels[1] if isinstance(in_channels, tuple) else in_channels
        self.res = nn.Linear(in_dst, width, bias=False) if residual else None
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None
        self._structure = AdjacencyCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.lin, self.lin_src, self.lin_dst, self.lin_edge, self.res):
            if lin is not None:
                nn.init.xavier_uniform_(lin.weight)
        for att in (self.att_src, self.att_dst, self.att_edge):
            if att is not None:
                nn.init.xavier_uniform_(att)
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

    def _structure_of(self, edge_index: Tensor | CSR, num_nodes: int | tuple[int, int]) -> _Attended:
        """The structure attended over and its edge-feature map, cached per graph and option."""
        def build() -> _Attended:
            adj = as_csr(edge_index, None, *(num_nodes if isinstance(num_nodes, tuple) else (num_nodes,)))
            features = self.lin_edge is not None
            if self.add_self_loops:
                return _with_self_loops(adj, features)
            return _Attended(Block(adj), adj.perm.to(torch.int64) if features else None)

        return self._structure.get(edge_index, None, num_nodes, build, (self.add_self_loops, self.lin_edge is not None))

    def prepare(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int | tuple[int, int],
                dtype: torch.dtype = torch.float32) -> Block:
        """The structure attended over (loops replaced by one per node with
        ``add_self_loops``), cached per graph and option; weights are ignored.
        ``num_nodes`` may be a ``(sources, targets)`` pair."""
        return self._structure_of(edge_index, num_nodes).block

    def transform(self, x: Tensor | CSR, lin: nn.Linear | None = None, targets: bool = True) -> tuple[Tensor, ...]:
        """``(W h [N, H, C], a_s·W h [N, H], a_d·W h [N, H])``, with ``lin``
        as ``W`` (default ``self.lin``), and ``W_r h`` with ``residual`` when
        ``x`` holds targets (``targets=False``: bipartite sources)."""
        if lin is None and self.lin is None:
            raise ValueError("GATConv built with (in_src, in_dst) has two transforms: call it with (x_src, x_dst)")
        h = self._transform(x, self.lin if lin is None else lin)
        state = (h, (h * self.att_src).sum(-1), (h * self.att_dst).sum(-1))
        return state if self.res is None or not targets else state + (linear(x, self.res),)

    def _edge_logits(self, attended: _Attended, edge_attr: Tensor, num_edges: int) -> Tensor:
        """``a_e · W_e e_ij`` per attended entry ``[nnz, H]``; added loops get ``fill_value`` features."""
        if edge_attr.dim() == 1:
            edge_attr = edge_attr.unsqueeze(1)
        if edge_attr.shape != (num_edges, self.edge_dim):
            raise ValueError(f"GATConv: edge_attr must be [E, edge_dim] = [{num_edges}, {self.edge_dim}], got "
                             f"{tuple(edge_attr.shape)}")
        if self.add_self_loops:
            loops = int(attended.edge_ids.numel() - attended.kept.numel())
            edge_attr = torch.cat([edge_attr, self._loop_attr(edge_attr, attended, loops)])
        e = linear(edge_attr.index_select(0, attended.edge_ids), self.lin_edge)
        return (e.view(-1, self.heads, self.out_channels) * self.att_edge).sum(-1)

    def _loop_attr(self, edge_attr: Tensor, attended: _Attended, loops: int) -> Tensor:
        """The added loops' features, ``[loops, D]``, from ``fill_value``."""
        if isinstance(self.fill_value, str):
            kept = edge_attr.index_select(0, attended.kept)
            inside = attended.kept_row < loops  # bipartite: targets beyond the loops have none
            return scatter(kept[inside], attended.kept_row[inside], loops, reduce=_FILL[self.fill_value])
        fill = torch.as_tensor(self.fill_value, dtype=edge_attr.dtype, device=edge_attr.device)
        return fill.expand(loops, edge_attr.size(1))

    def _attend(self, block: Block, src: tuple[Tensor, ...], dst: tuple[Tensor, ...],
                edge_logits: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The output rows of ``block`` with the residual and the bias, and the attention ``[nnz, H]``."""
        adj = block.csr
        # [H, nnz]: each head's coefficients contiguous, the values of its own product
        alpha = attention_softmax(src[1], dst[2], adj, self.negative_slope, edge_logits)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        h_src = src[0]
        if self.training and self.head_dropout > 0:
            h_src = F.dropout(h_src, p=self.head_dropout, training=True)
        if self._fused() and not self.overrides("update"):
            # the default steps: all heads in one op, their gradients written in place
            out = multi_head_spmm(adj, alpha, h_src)
        else:
            # unbind, not [:, k]: its backward stacks the heads' gradients once instead of
            # one zero-filled full-size gradient per head
            per_head = zip(h_src.unbind(1), dst[0].unbind(1), alpha.unbind(0))
            out = torch.stack([self.propagate((hs, hd), adj.with_value(a)) for hs, hd, a in per_head], dim=1)
        out = out.reshape(adj.num_rows, self.heads * self.out_channels) if self.concat else out.mean(dim=1)
        if self.res is not None:
            out = out + dst[3]
        if self.bias is not None:
            out = out + self.bias
        return out, alpha.t()

    def forward_block(self, block: Block, src: tuple[Tensor, ...], dst: tuple[Tensor, ...]) -> Tensor:
        if self.lin_edge is not None:
            raise ValueError("GATConv with edge_dim reads edge features, which layer-wise inference does not "
                             "carry; run the model's full forward instead")
        return self._attend(block, src, dst)[0]

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None,
                return_attention: bool = False, return_attention_weights: bool | None = None,
                edge_attr: Tensor | None = None):
        check_features(x, self.in_channels, "GATConv")
        if self.lin_edge is not None and edge_attr is None:
            edge_attr = edge_weight  # PyG's call: conv(x, edge_index, edge_attr)
        elif edge_weight is not None:
            warnings.warn("GATConv does not use edge_weight: attention computes each edge's weight, so it is "
                          "ignored (as PyG's GATConv ignores edge_attr without edge_dim); build the layer with "
                          "edge_dim=1 to feed the weights to the attention", UserWarning, stacklevel=2)
        if self.lin_edge is not None and edge_attr is None:
            raise ValueError(f"GATConv was built with edge_dim={self.edge_dim}: pass edge_attr [E, {self.edge_dim}]")
        if isinstance(x, tuple) and len(x) == 2 and x[1] is None:
            raise ValueError("GATConv: x_dst is None, but the attention reads the targets' features; pass "
                             "(x_src, x_dst)")
        x_src, x_dst, size = split_input(x) if isinstance(x, tuple) else (x, x, num_rows(x))
        shared = self.lin is not None and x_dst is x_src
        src = self.transform(x_src, self.lin or self.lin_src, targets=shared)
        # bipartite: W is lin_src for the sources and lin_dst for the targets when built so
        dst = src if shared else self.transform(x_dst, self.lin or self.lin_dst)
        attended = self._structure_of(edge_index, size)
        edge_logits = None
        if self.lin_edge is not None:
            if isinstance(edge_index, Tensor) and edge_index.layout != torch.strided:
                raise ValueError("GATConv with edge_dim needs edge_index [2, E] (or a CSR): a torch.sparse "
                                 "adjacency has no edge order for edge_attr")
            num_edges = edge_index.nnz if isinstance(edge_index, CSR) else edge_index.size(1)
            edge_logits = self._edge_logits(attended, edge_attr, num_edges)
        out, alpha = self._attend(attended.block, src, dst, edge_logits)
        if return_attention or return_attention_weights:
            alpha = alpha.contiguous()  # [nnz, H] in its own memory (the layer computes it head-major)
        if return_attention:
            return out, (attended.block.csr, alpha)
        if return_attention_weights:  # PyG's spelling and return value, in PyG's edge order
            return out, self._in_input_order(edge_index, size, attended, alpha)
        return out

    def _in_input_order(self, edge_index: Tensor | CSR, size: int | tuple[int, int], attended: _Attended,
                        alpha: Tensor) -> tuple[Tensor, Tensor]:
        """``(edge_index, alpha)`` as PyG returns them: for an ``[2, E]``
        input, its edges in their order (loops dropped, then one loop per
        node appended, with ``add_self_loops``), ``alpha[e]`` the attention
        of ``edge_index[:, e]``; for a CSR or sparse adjacency, its order."""
        csr = attended.block.csr
        if not (isinstance(edge_index, Tensor) and edge_index.layout == torch.strided):
            return torch.stack([csr.col.to(torch.int64), csr.row()]), alpha
        ei = edge_index.to(torch.int64)
        ids = attended.edge_ids
        if ids is None:  # built without edge features: the map back to the input edges, now
            adj = as_csr(edge_index, None, *(size if isinstance(size, tuple) else (size,)))
            ids = _with_self_loops(adj).edge_ids if self.add_self_loops else adj.perm.to(torch.int64)
        if self.add_self_loops:
            keep = ei[0] != ei[1]
            rank = torch.cumsum(keep, 0) - 1  # input edge id -> its position among the kept edges
            kept = int(keep.sum())
            loops = torch.arange(csr.nnz - kept, device=ei.device)
            pos, is_edge = kept + ids - ei.size(1), ids < ei.size(1)  # entries E + i: the loop of node i
            pos[is_edge] = rank[ids[is_edge]]
            ei = torch.cat([ei[:, keep], loops.repeat(2, 1)], dim=1)
        else:
            pos = ids
        ordered = torch.empty_like(alpha)
        ordered[pos] = alpha
        return ei, ordered

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"
