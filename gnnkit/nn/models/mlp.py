"""MLP: the no-graph baseline for node classification."""
from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.features import linear
from gnnkit.nn.features import feature_dropout
from gnnkit.nn.models._input import check_input
from gnnkit.nn.models.gcn import _check_sizes
from gnnkit.ops.sparse import CSR


class MLP(nn.Module):
    r"""Multi-layer perceptron on the node features alone; the graph is ignored.

    .. math::
        H^{(l+1)} = \mathrm{ReLU}\big(\mathrm{dropout}(H^{(l)})\, W^{(l)} + b^{(l)}\big)

    (no activation after the last layer). It takes the same call as the graph
    models, so trainers and benchmarks can swap it in as the baseline that
    tells how much the edges add. The first layer accepts sparse ``CSR``
    features.

    Args:
        in_channels: input features per node.
        hidden_channels: width of the hidden layers.
        out_channels: number of classes.
        num_layers: number of linear layers (default 2).
        dropout: dropout probability on each layer's input (default 0.5).

    Shapes:
        x ``[N, in_channels]`` (dense or ``CSR``) → ``[N, out_channels]``.
    """

    activation = staticmethod(F.relu)  # between layers
    sparse_input = True  # the first layer takes CSR features

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2,
                 dropout: float = 0.5) -> None:
        super().__init__()
        _check_sizes("MLP", in_channels, hidden_channels, out_channels, num_layers, dropout)
        self.hparams = dict(in_channels=in_channels, hidden_channels=hidden_channels, out_channels=out_channels,
                            num_layers=num_layers, dropout=dropout)
        self.in_channels, self.dropout = in_channels, dropout
        sizes = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def reset_parameters(self) -> None:
        for lin in self.layers:
            lin.reset_parameters()

    def inference_layers(self) -> list[tuple[nn.Module, Callable[[Tensor], Tensor] | None]]:
        """``(layer, activation after it)`` in order, for ``gnnkit.nn.inference.layerwise_inference``
        (dropout is off in evaluation, so this is the whole eval forward)."""
        return [(layer, self.activation if k < len(self.layers) - 1 else None) for k, layer in enumerate(self.layers)]

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR | None = None,
                edge_weight: Tensor | None = None) -> Tensor:
        check_input(x, self.in_channels, "MLP")
        h = x
        for k, lin in enumerate(self.layers):
            h = linear(feature_dropout(h, self.dropout, self.training), lin)
            if k < len(self.layers) - 1:
                h = self.activation(h)
        return h


__all__ = ["MLP"]
