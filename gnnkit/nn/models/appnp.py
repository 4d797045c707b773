"""APPNP (Klicpera et al., ICLR 2019): predict with an MLP, then propagate."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gnnkit.nn.conv import APPNP
from gnnkit.nn.inference import CarryInitial
from gnnkit.nn.models._input import check_input
from gnnkit.nn.models.mlp import MLP
from gnnkit.ops.sparse import CSR


class APPNPNet(nn.Module):
    r"""Personalised-PageRank propagation of an MLP's predictions, https://arxiv.org/abs/1810.05997.

    .. math::
        Z^{(0)} = \mathrm{MLP}(X),\qquad
        Z^{(k+1)} = (1 - \alpha)\, \hat D^{-1/2} \hat A \hat D^{-1/2} Z^{(k)} + \alpha Z^{(0)},\qquad
        \text{logits} = Z^{(K)}

    The MLP (ReLU between layers, dropout on every layer's input, the
    features included) is ``gnnkit.nn.models.MLP``; the propagation is the
    ``APPNP`` layer, ``K`` fused sparse products. ``layers[0]`` is the MLP's
    first linear layer (the paper puts its L2 penalty there).

    Args:
        in_channels: input features per node.
        hidden_channels: width of the MLP's hidden layers (paper: 64).
        out_channels: number of classes.
        num_layers: linear layers of the MLP (paper: 2).
        dropout: dropout on each MLP layer's input (paper: 0.5).
        K: propagation steps (paper: 10).
        alpha: teleport probability (paper: 0.1).
        edge_dropout: dropout on the propagation matrix at each step in
            training (the paper: 0.5; PyG's example: 0).
        cached: cache the normalised adjacency per graph (default ``True``).

    Shapes:
        x ``[N, in_channels]`` (dense or ``CSR``), edge_index ``[2, E]`` or
        ``CSR`` → ``[N, out_channels]``.
    """

    sparse_input = True  # the MLP's first layer takes CSR features

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2,
                 dropout: float = 0.5, K: int = 10, alpha: float = 0.1, edge_dropout: float = 0.0,
                 cached: bool = True) -> None:
        super().__init__()
        self.hparams = dict(in_channels=in_channels, hidden_channels=hidden_channels, out_channels=out_channels,
                            num_layers=num_layers, dropout=dropout, K=K, alpha=alpha, edge_dropout=edge_dropout,
                            cached=cached)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mlp = MLP(in_channels, hidden_channels, out_channels, num_layers, dropout)
        self.prop = APPNP(K, alpha, dropout=edge_dropout, cached=cached)

    @property
    def layers(self) -> nn.ModuleList:
        """The MLP's linear layers (``layers[0]``: the one the paper regularises)."""
        return self.mlp.layers

    def reset_parameters(self) -> None:
        self.mlp.reset_parameters()
        self.prop.reset_parameters()

    def inference_layers(self) -> list[tuple[object, Callable[[Tensor], Tensor] | None]]:
        """The MLP's layers, then the ``K`` propagation steps one by one on
        ``[Z | Z^{(0)}]`` (``gnnkit.nn.inference.CarryInitial``), for
        ``layerwise_inference``."""
        out = self.mlp.inference_layers()
        c, k = self.out_channels, self.prop.K
        if k == 0:
            return out
        out[-1] = (out[-1][0], lambda z: torch.cat([z, z], dim=1))  # Z^{(0)} twice: state and teleport target
        step = CarryInitial(self.prop, c, self.prop.step)
        out += [(step, None)] * (k - 1) + [(step, lambda t: t[:, :c])]
        return out

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_input(x, self.in_channels, "APPNPNet")
        return self.prop(self.mlp(x), edge_index, edge_weight)


__all__ = ["APPNPNet"]
