"""GCN2Conv: the GCNII layer (Chen et al., ICML 2020)."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, Block, check_channels
from gnnkit.nn.conv.gcn_conv import gcn_prepare
from gnnkit.nn.features import dense_features
from gnnkit.nn.message_passing import MessagePassing
from gnnkit.ops.sparse import CSR


class GCN2Conv(MessagePassing):
    r"""Graph convolution with initial residual and identity mapping, https://arxiv.org/abs/2007.02133.

    .. math::
        P = (1 - \alpha)\, \hat D^{-1/2} \hat A \hat D^{-1/2} H + \alpha H^{(0)},\qquad
        H' = (1 - \beta) P + \beta P W,\qquad
        \beta = \log\!\big(\tfrac{\theta}{\ell} + 1\big)

    with ``\hat A = A + I`` as in ``GCNConv``. With ``shared_weights=False``
    the two terms get their own weights:
    ``H' = (1-β)(1-α) \hat A H + β (1-α) (\hat A H) W_1 + (1-β) α H^{(0)} + β α H^{(0)} W_2``.
    ``β = 1`` when ``theta`` or ``layer`` is ``None``. No activation (the
    model applies ReLU). Parameter names follow PyG (``weight1``, ``weight2``),
    so weights can be copied across.

    Args:
        channels: features per node (input and output).
        alpha: strength ``α`` of the initial residual (paper: 0.1).
        theta: ``θ`` (the paper's ``λ``, 0.5 on Cora) of the identity mapping.
        layer: the layer's depth ``ℓ`` (1-based) in the model.
        shared_weights: one ``W`` for both terms (default ``True``, the paper).
        cached: keep the normalised adjacency between calls (default ``False``).
        add_self_loops: use ``A + I`` (default ``None``: the same as
            ``normalize``, PyG's convention, so ``normalize=False`` alone adds no loops).
        normalize: apply the symmetric normalisation (default ``True``).

    Shapes:
        x ``[N, channels]``, x_0 ``[N, channels]``, edge_index ``[2, E]`` (or a
        ``CSR``), edge_weight ``[E]`` → ``[N, channels]``.
    """

    def __init__(self, channels: int, alpha: float, theta: float | None = None, layer: int | None = None,
                 shared_weights: bool = True, cached: bool = False, add_self_loops: bool | None = None,
                 normalize: bool = True) -> None:
        super().__init__(aggr="sum")
        check_channels(channels, channels, "GCN2Conv")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"GCN2Conv: alpha must be in [0, 1], got {alpha}")
        if layer is not None and layer < 1:
            raise ValueError(f"GCN2Conv: layer is the 1-based depth, got {layer}")
        self.channels, self.alpha, self.theta, self.layer = channels, alpha, theta, layer
        self.beta = 1.0 if theta is None or layer is None else math.log(theta / layer + 1)
        # PyG's convention: without the normalisation no loops are added unless asked for
        add_self_loops = normalize if add_self_loops is None else add_self_loops
        self.cached, self.add_self_loops, self.normalize = cached, add_self_loops, normalize
        self.weight1 = nn.Parameter(torch.empty(channels, channels))
        self.weight2 = None if shared_weights else nn.Parameter(torch.empty(channels, channels))
        self._normalized = AdjacencyCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in (self.weight1, self.weight2):
            if w is not None:
                nn.init.xavier_uniform_(w)
        self._normalized.clear()

    def prepare(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int,
                dtype: torch.dtype = torch.float32) -> Block:
        """``D^{-1/2} A D^{-1/2}`` (loops removed) and the self-loop diagonal, in ``dtype``."""
        return gcn_prepare(self, edge_index, edge_weight, num_nodes, dtype)

    def transform(self, x: Tensor, x_0: Tensor) -> tuple[Tensor, Tensor]:
        """``(H, H^{(0)})``: nothing is computed per node before the propagation."""
        return x, x_0

    def _identity_map(self, p: Tensor, weight: Tensor) -> Tensor:
        """``(1 - β) P + β P W``."""
        return torch.addmm(p, p, weight, beta=1.0 - self.beta, alpha=self.beta)

    def forward_block(self, block: Block, src: tuple[Tensor, Tensor], dst: tuple[Tensor, Tensor]) -> Tensor:
        """Rows of ``block``'s targets from ``src = (H, H^{(0)})`` of its
        sources and ``dst`` of its targets."""
        h = self.propagate((src[0], dst[0]), block)
        if self.weight2 is None:
            # (1 - α) ÂH + α H⁰ as one lerp: one pass over [N, C] instead of three
            return self._identity_map(torch.lerp(h, dst[1], self.alpha), self.weight1)
        return (self._identity_map((1.0 - self.alpha) * h, self.weight1)
                + self._identity_map(self.alpha * dst[1], self.weight2))

    def forward(self, x: Tensor, x_0: Tensor, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        x, x_0 = dense_features((x, x_0))  # sparse features (CSR or torch.sparse) are propagated: densified
        for name, t in (("x", x), ("x_0", x_0)):
            if not isinstance(t, Tensor) or t.dim() != 2 or t.size(1) != self.channels:
                raise ValueError(f"GCN2Conv: {name} must be [num_nodes, {self.channels}], got "
                                 f"{tuple(getattr(t, 'shape', ()))}")
        if x_0.size(0) != x.size(0):
            raise ValueError(f"GCN2Conv: x_0 has {x_0.size(0)} rows but x has {x.size(0)}; pass the initial "
                             f"representation of the same nodes")
        state = self.transform(x, x_0)
        return self.forward_block(self.prepare(edge_index, edge_weight, x.size(0), x.dtype), state, state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, alpha={self.alpha}, beta={self.beta})"
