"""GAT (Veličković et al., ICLR 2018): multi-head ``GATConv`` layers."""
from __future__ import annotations

import warnings
from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.conv import GATConv
from gnnkit.nn.features import feature_dropout
from gnnkit.nn.models._input import check_input
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
    averaged. Sparse ``CSR`` features get dropout on their non-zeros and go
    through the first layer as a sparse product.

    ``dropout_scheme="reference"`` (default) drops the input the way the
    authors' code does (github.com/PetarV-/GAT, ``layers.attn_head``): each
    head draws its own mask on the layer input and drops its transformed
    features ``W^k h`` again before the aggregation. ``"shared"`` is PyG's
    example: one mask on the layer input for all heads.

    Args:
        in_channels: input features per node.
        hidden_channels: features per head in the hidden layers (paper: 8).
        out_channels: number of classes.
        heads: attention heads in the hidden layers (paper: 8).
        out_heads: attention heads in the output layer, averaged (paper: 1).
        num_layers: number of ``GATConv`` layers (default 2).
        dropout: dropout on each layer's input and on the attention (paper: 0.6).
        negative_slope: LeakyReLU slope of the attention (default 0.2).
        dropout_scheme: ``"reference"`` (per-head input dropout and dropout on
            ``W^k h``, as the paper's code) or ``"shared"`` (one input mask, as PyG).

    Shapes:
        x ``[N, in_channels]``, edge_index ``[2, E]`` or ``CSR`` → ``[N, out_channels]``.
    """

    activation = staticmethod(F.elu)  # between layers
    sparse_input = True  # takes CSR features (dropout on the non-zeros, then dense)

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, heads: int = 8,
                 out_heads: int = 1, num_layers: int = 2, dropout: float = 0.6, negative_slope: float = 0.2,
                 dropout_scheme: str = "reference") -> None:
        super().__init__()
        _check_sizes("GAT", in_channels, hidden_channels, out_channels, num_layers, dropout)
        if dropout_scheme not in _SCHEMES:
            raise ValueError(f"GAT: dropout_scheme must be one of {_SCHEMES}, got {dropout_scheme!r}")
        for name, value in (("heads", heads), ("out_heads", out_heads)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"GAT: {name} must be a positive integer, got {value!r}")
        self.hparams = dict(in_channels=in_channels, hidden_channels=hidden_channels, out_channels=out_channels,
                            heads=heads, out_heads=out_heads, num_layers=num_layers, dropout=dropout,
                            negative_slope=negative_slope, dropout_scheme=dropout_scheme)
        self.in_channels, self.dropout, self.dropout_scheme = in_channels, dropout, dropout_scheme
        head_dropout = dropout if dropout_scheme == "reference" else 0.0
        layers = []
        width = in_channels
        for _ in range(num_layers - 1):
            layers.append(GATConv(width, hidden_channels, heads=heads, concat=True, dropout=dropout,
                                  negative_slope=negative_slope, head_dropout=head_dropout))
            width = heads * hidden_channels
        layers.append(GATConv(width, out_channels, heads=out_heads, concat=False, dropout=dropout,
                              negative_slope=negative_slope, head_dropout=head_dropout))
        self.layers = nn.ModuleList(layers)

    def reset_parameters(self) -> None:
        for conv in self.layers:
            conv.reset_parameters()

    def inference_layers(self) -> list[tuple[nn.Module, Callable[[Tensor], Tensor] | None]]:
        """``(layer, activation after it)`` in order, for ``gnnkit.nn.inference.layerwise_inference``
        (dropout is off in evaluation, so this is the whole eval forward)."""
        return [(layer, self.activation if k < len(self.layers) - 1 else None) for k, layer in enumerate(self.layers)]

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        """``edge_weight`` is accepted for a uniform model signature and not used
        (attention computes each edge's weight, as in PyG's GAT); giving one warns."""
        check_input(x, self.in_channels, "GAT")
        if edge_weight is not None:
            warnings.warn("GAT does not use edge weights: attention computes each edge's weight, so edge_weight is "
                          "ignored (as in PyG's GAT); use GCN or GraphSAGE to weight the edges", UserWarning,
                          stacklevel=2)
        # "reference": each layer drops its input per head; "shared": one mask here
        # (on a CSR only its non-zeros). Either way a CSR stays sparse into layer 1.
        shared = self.dropout_scheme == "shared"
        h = x
        for k, conv in enumerate(self.layers):
            h = conv(feature_dropout(h, self.dropout, self.training and shared), edge_index)
            if k < len(self.layers) - 1:
                h = self.activation(h)
        return h


_SCHEMES = ("reference", "shared")

__all__ = ["GAT"]
