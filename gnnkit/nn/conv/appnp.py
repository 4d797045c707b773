"""APPNP propagation (Klicpera et al., ICLR 2019)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gnnkit.nn.adjacency import AdjacencyCache, Block
from gnnkit.nn.conv.gcn_conv import gcn_prepare
from gnnkit.nn.features import dense_features
from gnnkit.nn.message_passing import MessagePassing
from gnnkit.ops.sparse import CSR


class APPNP(MessagePassing):
    r"""Approximate personalised-PageRank propagation, https://arxiv.org/abs/1810.05997.

    .. math::
        H^{(0)} = X,\qquad
        H^{(k+1)} = (1 - \alpha)\, \hat D^{-1/2} \hat A \hat D^{-1/2} H^{(k)} + \alpha X,\qquad
        \text{out} = H^{(K)}

    with ``\hat A = A + I`` as in ``GCNConv`` (an existing self-loop keeps its
    weight). No parameters: the prediction network runs before it (the
    ``gnnkit.nn.models.APPNPNet`` model). Each step is one fused sparse
    product plus the self-loop diagonal; the normalised adjacency is built
    once per call (once per graph with ``cached=True``).

    Args:
        K: number of propagation steps (paper: 10).
        alpha: teleport probability ``α`` (paper: 0.1).
        dropout: in training, dropout on the normalised adjacency's entries
            (self-loops included), drawn anew at every step, as the paper and
            PyG's ``APPNP(dropout=...)`` (default 0).
        cached: keep the normalised adjacency between calls, keyed on the
            graph, the dtype and the options (default ``False``).
        add_self_loops: use ``A + I`` (default ``None``: the same as
            ``normalize``, PyG's convention, so ``normalize=False`` alone adds no loops).
        normalize: apply the symmetric normalisation (default ``True``).

    Shapes:
        x ``[N, F]``, edge_index ``[2, E]`` (or a ``CSR``), edge_weight ``[E]`` → ``[N, F]``.
    """

    def __init__(self, K: int, alpha: float, dropout: float = 0.0, cached: bool = False,
                 add_self_loops: bool | None = None, normalize: bool = True) -> None:
        super().__init__(aggr="sum")
        if isinstance(K, bool) or not isinstance(K, int) or K < 0:
            raise ValueError(f"APPNP: K must be a non-negative integer, got {K!r}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"APPNP: alpha must be in [0, 1], got {alpha}")
        if not 0.0 <= dropout <= 1.0:  # 1 drops every edge: the output is alpha * x, as PyG's
            raise ValueError(f"APPNP: dropout must be in [0, 1], got {dropout}")
        self.K, self.alpha, self.dropout = K, alpha, dropout
        # PyG's convention: without the normalisation no loops are added unless asked for
        add_self_loops = normalize if add_self_loops is None else add_self_loops
        self.cached, self.add_self_loops, self.normalize = cached, add_self_loops, normalize
        self._normalized = AdjacencyCache()

    def reset_parameters(self) -> None:
        self._normalized.clear()

    def prepare(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int,
                dtype: torch.dtype = torch.float32) -> Block:
        """``D^{-1/2} A D^{-1/2}`` (loops removed) and the self-loop diagonal, in ``dtype``."""
        return gcn_prepare(self, edge_index, edge_weight, num_nodes, dtype)

    def transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(H^{(0)}, X)``: the propagated state and the teleport target, both ``x``."""
        return x, x

    def step(self, block: Block, src: tuple[Tensor, Tensor], dst: tuple[Tensor, Tensor]) -> Tensor:
        """One step for ``block``'s targets: ``(1 - α) Â H + α X`` from ``src = (H, X)``
        of its sources and ``dst = (H, X)`` of its targets."""
        if self.training and self.dropout > 0:
            # Dropping a normalised weight t_i a_ij s_j drops a_ij: the scalings stay apart.
            csr, loop = block.csr, block.loop
            value = csr.value if csr.value is not None else src[0].new_ones(csr.nnz)
            block = Block(csr.with_value(F.dropout(value, self.dropout, True)),
                          None if loop is None else F.dropout(loop, self.dropout, True),
                          block.src_scale, block.dst_scale)
        out = self.propagate((src[0], dst[0]), block)
        return (1.0 - self.alpha) * out + self.alpha * dst[1]

    def forward_block(self, block: Block, src: tuple[Tensor, Tensor], dst: tuple[Tensor, Tensor]) -> Tensor:
        """All ``K`` steps; every step reads every node, so ``block`` must be
        the whole graph (layer-wise inference runs ``step`` per block instead)."""
        if block.csr.num_rows != block.csr.num_cols:
            raise ValueError("APPNP.forward_block runs all K steps and needs the whole graph; for blocks of target "
                             "nodes run one step at a time (gnnkit.nn.models.APPNPNet.inference_layers)")
        h, x0 = src
        for _ in range(self.K):
            h = self.step(block, (h, x0), (h, x0))
        return h

    def forward(self, x: Tensor, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        x = dense_features(x)  # a sparse x (CSR or torch.sparse) is propagated itself: densified
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise ValueError(f"APPNP: x must be a dense [num_nodes, F] tensor, got {getattr(x, 'shape', type(x))}")
        state = self.transform(x)
        return self.forward_block(self.prepare(edge_index, edge_weight, x.size(0), x.dtype), state, state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(K={self.K}, alpha={self.alpha})"
