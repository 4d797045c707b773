"""GCN (Kipf & Welling, ICLR 2017): a stack of ``GCNConv`` layers."""
from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.conv import GCNConv
from gnnkit.nn.features import feature_dropout
from gnnkit.nn.models._input import check_input
from gnnkit.ops.sparse import CSR


class GCN(nn.Module):
    r"""Graph convolutional network, https://arxiv.org/abs/1609.02907.

    .. math::
        H^{(l+1)} = \sigma\big(\hat D^{-1/2} \hat A \hat D^{-1/2}\, \mathrm{dropout}(H^{(l)})\, W^{(l)}\big)

    with ReLU between layers and no activation after the last (logits).
    Dropout is applied to every layer's input, the features included, as in
    the paper. The first layer accepts sparse features (a ``CSR``, see
    ``gnnkit.nn.models._input.sparse_features``): ``X W`` then costs
    ``nnz(X) · hidden`` instead of ``N · F · hidden``.

    Args:
        in_channels: input features per node.
        hidden_channels: width of the hidden layers (paper: 16).
        out_channels: number of classes.
        num_layers: number of ``GCNConv`` layers (default 2).
        dropout: dropout probability on each layer's input (paper: 0.5).
        cached: cache the normalised adjacency per graph (default ``True``;
            the cache is keyed on the graph, so a new graph is never served a
            stale one).

    Shapes:
        x ``[N, in_channels]`` (dense or ``CSR``), edge_index ``[2, E]`` or
        ``CSR`` → ``[N, out_channels]``.
    """

    activation = staticmethod(F.relu)  # between layers
    sparse_input = True  # the first layer takes CSR features

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2,
                 dropout: float = 0.5, cached: bool = True) -> None:
        super().__init__()
        _check_sizes("GCN", in_channels, hidden_channels, out_channels, num_layers, dropout)
        self.hparams = dict(in_channels=in_channels, hidden_channels=hidden_channels, out_channels=out_channels,
                            num_layers=num_layers, dropout=dropout, cached=cached)
        self.in_channels, self.dropout = in_channels, dropout
        sizes = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.layers = nn.ModuleList(GCNConv(a, b, cached=cached) for a, b in zip(sizes[:-1], sizes[1:]))

    def reset_parameters(self) -> None:
        for conv in self.layers:
            conv.reset_parameters()

    def inference_layers(self) -> list[tuple[nn.Module, Callable[[Tensor], Tensor] | None]]:
        """``(layer, activation after it)`` in order, for ``gnnkit.nn.inference.layerwise_inference``
        (dropout is off in evaluation, so this is the whole eval forward)."""
        return [(layer, self.activation if k < len(self.layers) - 1 else None) for k, layer in enumerate(self.layers)]

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_input(x, self.in_channels, "GCN")
        h = x
        for k, conv in enumerate(self.layers):
            h = feature_dropout(h, self.dropout, self.training)
            h = conv(h, edge_index, edge_weight)
            if k < len(self.layers) - 1:
                h = self.activation(h)
        return h


def _check_sizes(model: str, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int,
                 dropout: float) -> None:
    for name, value in (("in_channels", in_channels), ("hidden_channels", hidden_channels),
                        ("out_channels", out_channels), ("num_layers", num_layers)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{model}: {name} must be a positive integer, got {value!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{model}: dropout must be in [0, 1), got {dropout}")


__all__ = ["GCN"]
