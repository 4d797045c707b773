"""GCNII (Chen et al., ICML 2020): deep GCN with initial residual and identity mapping."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.conv import GCN2Conv
from gnnkit.nn.features import dropout, linear
from gnnkit.nn.inference import CarryInitial, carry
from gnnkit.nn.models._input import check_input
from gnnkit.nn.models.gcn import _check_sizes
from gnnkit.ops.sparse import CSR


class GCNII(nn.Module):
    r"""GCNII, https://arxiv.org/abs/2007.02133 (the reference code's and PyG's ``examples/gcn2_cora.py`` layout).

    .. math::
        H^{(0)} = \mathrm{ReLU}\big(\mathrm{dropout}(X) W_{in} + b_{in}\big),\qquad
        H^{(\ell)} = \mathrm{ReLU}\big(\mathrm{GCN2Conv}_\ell(\mathrm{dropout}(H^{(\ell-1)}), H^{(0)})\big),\qquad
        \text{logits} = \mathrm{dropout}(H^{(L)}) W_{out} + b_{out}

    with ``GCN2Conv_ℓ`` using ``β_ℓ = log(θ/ℓ + 1)``. ``layers[0]`` holds the
    ``L`` convolutions and ``layers[1]`` the two linear layers, so the
    trainer's ``weight_decay_layers="first"`` regularises the convolutions
    only (the reference code decays the two groups separately).

    Args:
        in_channels: input features per node.
        hidden_channels: width of every layer (paper: 64).
        out_channels: number of classes.
        num_layers: number of ``GCN2Conv`` layers ``L`` (paper, Cora: 64).
        dropout: dropout on every layer's input (paper: 0.6).
        alpha: initial-residual strength (paper: 0.1).
        theta: the paper's ``λ`` (Cora: 0.5).
        shared_weights: one weight per convolution (default ``True``, the paper).
        cached: cache the normalised adjacency per graph (default ``True``).

    Shapes:
        x ``[N, in_channels]`` (dense or ``CSR``), edge_index ``[2, E]`` or
        ``CSR`` → ``[N, out_channels]``.
    """

    sparse_input = True  # the input layer takes CSR features

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 64,
                 dropout: float = 0.6, alpha: float = 0.1, theta: float = 0.5, shared_weights: bool = True,
                 cached: bool = True) -> None:
        super().__init__()
        _check_sizes("GCNII", in_channels, hidden_channels, out_channels, num_layers, dropout)
        self.hparams = dict(in_channels=in_channels, hidden_channels=hidden_channels, out_channels=out_channels,
                            num_layers=num_layers, dropout=dropout, alpha=alpha, theta=theta,
                            shared_weights=shared_weights, cached=cached)
        self.in_channels, self.hidden_channels, self.dropout = in_channels, hidden_channels, dropout
        convs = nn.ModuleList(GCN2Conv(hidden_channels, alpha, theta, layer=k + 1, shared_weights=shared_weights,
                                       cached=cached) for k in range(num_layers))
        lins = nn.ModuleList([nn.Linear(in_channels, hidden_channels), nn.Linear(hidden_channels, out_channels)])
        self.layers = nn.ModuleList([convs, lins])
        self._init_convs()

    def _init_convs(self) -> None:
        # The authors' code (chennnM/GCNII, GraphConvolution.reset_parameters) draws the
        # convolutions' weights from U(-1/sqrt(C), 1/sqrt(C)), narrower than Glorot's
        # U(-sqrt(3/C), sqrt(3/C)) for C x C: 64 layers stay close to the identity map.
        bound = 1.0 / self.hidden_channels ** 0.5
        for conv in self.convs:
            for w in (conv.weight1, conv.weight2):
                if w is not None:
                    nn.init.uniform_(w, -bound, bound)

    @property
    def convs(self) -> nn.ModuleList:
        return self.layers[0]

    @property
    def lins(self) -> nn.ModuleList:
        return self.layers[1]

    def reset_parameters(self) -> None:
        for module in list(self.convs) + list(self.lins):
            module.reset_parameters()
        self._init_convs()

    def inference_layers(self) -> list[tuple[object, Callable[[Tensor], Tensor] | None]]:
        """Input layer, the convolutions on ``[H | H^{(0)}]``
        (``gnnkit.nn.inference.CarryInitial``), output layer, for ``layerwise_inference``."""
        c = self.hidden_channels
        first = lambda h: torch.cat([F.relu(h), F.relu(h)], dim=1)  # noqa: E731  H = H^{(0)}
        out: list = [(self.lins[0], first)]
        out += [(CarryInitial(conv, c), carry(F.relu, c)) for conv in self.convs]
        out[-1] = (out[-1][0], lambda t: F.relu(t[:, :c]))
        return out + [(self.lins[1], None)]

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_input(x, self.in_channels, "GCNII")
        # (gnnkit's dropout: 2L + 2 dropouts an epoch, and F.dropout's bernoulli_ is slow on the CPU)
        x0 = h = F.relu(linear(dropout(x, self.dropout, self.training), self.lins[0]))
        # every convolution uses the same normalised graph: prepare it once, not L times
        block = self.convs[0].prepare(edge_index, edge_weight, x0.size(0), x0.dtype)
        for conv in self.convs:
            state = conv.transform(dropout(h, self.dropout, self.training), x0)
            h = F.relu(conv.forward_block(block, state, state))
        return self.lins[1](dropout(h, self.dropout, self.training))


__all__ = ["GCNII"]
