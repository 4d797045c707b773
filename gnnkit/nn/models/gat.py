"""GAT (Veličković et al., ICLR 2018): multi-head ``GATConv`` layers."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.conv import GATConv
from gnnkit.nn.models._input import check_input, densify, feature_dropout
from gnnkit.nn.models.gcn import _check_sizes
from gnnkit.ops.sparse import CSR


class GAT(nn.Module):
    r"""Graph attention network, https://arxiv.org/abs/1710.10903.

    .. math::
        H^{(l+1)} = \mathrm{ELU}\Big(\big\Vert_{k=1}^{K} \mathrm{GAT}^k\big(\mathrm{dropout}(H^{(l)})\big)\Big),\qquad
        \text{logits} = \tfrac{1}{K_{out}}\textstyle\sum_{k=1}^{K_{out}} \mathrm{GAT}^k\big(\mathrm{dropout}(H^{(L-1)})\big)

    The paper's transductive model (Cora): 8 heads of 8 hidden units,
    concatenated, ELU; one output head (``out_heads=1``); dropout 0.6 on each
    layer's input and on the attention coefficients. Output heads are
    averaged. Sparse ``CSR`` features get dropout on their non-zeros, then are made dense.

    Args:
        in_channels: input features per node.
        hidden_channels: features per head in the hidden layers (paper: 8).
        out_channels: number of classes.
        heads: attention heads in the hidden layers (paper: 8).
        out_heads: attention heads in the output layer, averaged (paper: 1).
        num_layers: number of ``GATConv`` layers (default 2).
        dropout: dropout on each layer's input and on the attention (paper: 0.6).
        negative_slope: LeakyReLU slope of the attention (default 0.2).

    Shapes:
        x ``[N, in_channels]``, edge_index ``[2, E]`` or ``CSR`` → ``[N, out_channels]``.
    """

    sparse_input = True  # takes CSR features (dropout on the non-zeros, then dense)

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, heads: int = 8,
                 out_heads: int = 1, num_layers: int = 2, dropout: float = 0.6, negative_slope: float = 0.2) -> None:
        super().__init__()
        _check_sizes("GAT", in_channels, hidden_channels, out_channels, num_layers, dropout)
        for name, value in (("heads", heads), ("out_heads", out_heads)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"GAT: {name} must be a positive integer, got {value!r}")
        self.hparams = dict(in_channels=in_channels, hidden_channels=hidden_channels, out_channels=out_channels,
                            heads=heads, out_heads=out_heads, num_layers=num_layers, dropout=dropout,
                            negative_slope=negative_slope)
        self.in_channels, self.dropout = in_channels, dropout
        layers = []
        width = in_channels
        for _ in range(num_layers - 1):
            layers.append(GATConv(width, hidden_channels, heads=heads, concat=True, dropout=dropout,
                                  negative_slope=negative_slope))
            width = heads * hidden_channels
        layers.append(GATConv(width, out_channels, heads=out_heads, concat=False, dropout=dropout,
                              negative_slope=negative_slope))
        self.layers = nn.ModuleList(layers)

    def reset_parameters(self) -> None:
        for conv in self.layers:
            conv.reset_parameters()

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_input(x, self.in_channels, "GAT")
        # Dropout on sparse input touches only its non-zeros, then the layer gets a dense matrix.
        h = densify(feature_dropout(x, self.dropout, self.training))
        for k, conv in enumerate(self.layers):
            h = conv(h if k == 0 else feature_dropout(h, self.dropout, self.training), edge_index)
            if k < len(self.layers) - 1:
                h = F.elu(h)
        return h


__all__ = ["GAT"]
