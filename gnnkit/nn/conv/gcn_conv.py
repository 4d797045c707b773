"""GCNConv (Kipf & Welling, ICLR 2017)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, check_features
from gnnkit.nn.features import linear, num_rows
from gnnkit.nn.inference import blocks, gather, map_rows
from gnnkit.nn.message_passing import MessagePassing
from gnnkit.ops.norm import gcn_norm_csr
from gnnkit.ops.sparse import CSR, spmm


class GCNConv(MessagePassing):
    r"""Graph convolution of Kipf & Welling, https://arxiv.org/abs/1609.02907.

    .. math::
        H' = \hat D^{-1/2} \hat A \hat D^{-1/2} H W + b,\qquad
        \hat A = A + I,\ \hat D_{ii} = \textstyle\sum_j \hat A_{ij}

    With edge weights, ``A_ij = e_ij``; a node that already has a self-loop
    keeps its weight instead of getting a new loop of weight 1 (PyG's
    convention). The self-loop term is applied as a diagonal, so no loop
    entries are inserted into the sparse matrix.

    Args:
        in_channels: input features per node.
        out_channels: output features per node.
        bias: learn an additive bias (default ``True``).
        cached: keep the normalised adjacency between calls (default
            ``False``). The cache is keyed on the identity and version of
            ``edge_index`` / ``edge_weight`` and on the number of nodes, so a
            different graph always gets its own normalisation.
        add_self_loops: use ``A + I`` (default ``True``).
        normalize: apply the symmetric normalisation (default ``True``); when
            ``False`` the layer computes ``A H W + b``.

    Shapes:
        x ``[N, in_channels]`` (dense, or a ``CSR`` from
        ``gnnkit.nn.features.sparse_features``), edge_index ``[2, E]`` (or a
        ``CSR``), edge_weight ``[E]`` → ``[N, out_channels]``.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, cached: bool = False,
                 add_self_loops: bool = True, normalize: bool = True) -> None:
        super().__init__(aggr="sum")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.cached, self.add_self_loops, self.normalize = cached, add_self_loops, normalize
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self._normalized = AdjacencyCache()
        nn.init.xavier_uniform_(self.lin.weight)

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.lin.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        self._normalized.clear()

    def normalized_adjacency(self, edge_index: Tensor | CSR, edge_weight: Tensor | None,
                             num_nodes: int) -> tuple[CSR, Tensor | None]:
        """``(D^{-1/2} A D^{-1/2}`` as a CSR, the self-loop diagonal``)``."""
        def build():
            adj = self.adjacency(edge_index, edge_weight, num_nodes)
            if not self.normalize:
                diag = torch.ones(num_nodes, device=adj.device) if self.add_self_loops else None
                return adj, diag
            return gcn_norm_csr(adj, add_self_loops=self.add_self_loops)

        if self.cached:
            return self._normalized.get(edge_index, edge_weight, num_nodes, build)
        return build()

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_features(x, self.in_channels, "GCNConv")
        adj, diag = self.normalized_adjacency(edge_index, edge_weight, num_rows(x))
        h = linear(x, self.lin)  # x may be sparse features (a CSR): then X W is a sparse product
        out = spmm(adj, h)
        if diag is not None:
            out = out + diag.to(h.dtype).unsqueeze(1) * h
        if self.bias is not None:
            out = out + self.bias
        return out

    @torch.no_grad()
    def inference(self, x: Tensor, adj: CSR, batch_size: int, device: torch.device) -> Tensor:
        """This layer's output for all nodes, computed over blocks of
        ``batch_size`` targets on ``device`` (see ``gnnkit.nn.inference``);
        the normalisation uses the whole graph's degrees."""
        norm, diag = self.normalized_adjacency(adj, None, x.size(0))
        h = map_rows(lambda part: linear(part, self.lin), x, batch_size, device)
        out = torch.empty(x.size(0), self.out_channels, dtype=h.dtype, device=x.device)
        for start, end, block, src in blocks(norm, batch_size, device):
            part = spmm(block, gather(h, src, device))
            if diag is not None:
                part = part + diag[start:end].to(device, h.dtype).unsqueeze(1) * h[start:end].to(device)
            if self.bias is not None:
                part = part + self.bias
            out[start:end] = part.to(x.device)
        return out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"
