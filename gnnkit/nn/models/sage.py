"""GraphSAGE (Hamilton et al., NeurIPS 2017): a stack of mean-aggregating ``SAGEConv`` layers."""
from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.conv import SAGEConv
from gnnkit.nn.features import feature_dropout
from gnnkit.nn.models._input import check_input, densify
from gnnkit.nn.models.gcn import _check_sizes
from gnnkit.ops.sparse import CSR


class GraphSAGE(nn.Module):
    r"""GraphSAGE with mean aggregation, full-batch, https://arxiv.org/abs/1706.02216.

    .. math::
        h_i^{(l+1)} = \mathrm{ReLU}\Big(W_1 \tfrac{1}{|N(i)|}\textstyle\sum_{j\in N(i)} h_j^{(l)} + W_2 h_i^{(l)} + b\Big)

    Dropout on every layer's input, no activation after the last layer.
    Sparse ``CSR`` features get dropout on their non-zeros, then are made dense
    (``SAGEConv`` has no sparse-input path).

    Args:
        in_channels: input features per node.
        hidden_channels: width of the hidden layers.
        out_channels: number of classes.
        num_layers: number of ``SAGEConv`` layers (default 2).
        dropout: dropout probability on each layer's input (default 0.5).

    Shapes:
        x ``[N, in_channels]``, edge_index ``[2, E]`` or ``CSR`` → ``[N, out_channels]``.
    """

    activation = staticmethod(F.relu)  # between layers
    sparse_input = True  # takes CSR features (dropout on the non-zeros, then dense)

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2,
                 dropout: float = 0.5) -> None:
        super().__init__()
        _check_sizes("GraphSAGE", in_channels, hidden_channels, out_channels, num_layers, dropout)
        self.hparams = dict(in_channels=in_channels, hidden_channels=hidden_channels, out_channels=out_channels,
                            num_layers=num_layers, dropout=dropout)
        self.in_channels, self.dropout = in_channels, dropout
        sizes = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.layers = nn.ModuleList(SAGEConv(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def reset_parameters(self) -> None:
        for conv in self.layers:
            conv.reset_parameters()

    def inference_layers(self) -> list[tuple[nn.Module, Callable[[Tensor], Tensor] | None]]:
        """``(layer, activation after it)`` in order, for ``gnnkit.nn.inference.layerwise_inference``
        (dropout is off in evaluation, so this is the whole eval forward)."""
        return [(layer, self.activation if k < len(self.layers) - 1 else None) for k, layer in enumerate(self.layers)]

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_input(x, self.in_channels, "GraphSAGE")
        # Dropout on sparse input touches only its non-zeros, then the layer gets a dense matrix.
        h = densify(feature_dropout(x, self.dropout, self.training))
        for k, conv in enumerate(self.layers):
            h = conv(h if k == 0 else feature_dropout(h, self.dropout, self.training), edge_index, edge_weight)
            if k < len(self.layers) - 1:
                h = self.activation(h)
        return h


__all__ = ["GraphSAGE"]
