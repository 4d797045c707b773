"""GraphConv: the weighted-sum graph convolution with a root weight (Morris et al., as PyG)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.adjacency import Block, check_channels, check_features
from gnnkit.nn.features import dense_features
from gnnkit.nn.message_passing import MessagePassing, split_input
from gnnkit.ops.sparse import CSR


class GraphConv(MessagePassing):
    r"""The graph convolution of Morris et al. (AAAI 2019), https://arxiv.org/abs/1810.02244,
    as PyG's ``GraphConv``:

    .. math::
        h_i = \sigma\Big(W \bigoplus_{j \in N(i)} e_{ij} x_j + b + W_{\text{root}}\, x_i\Big)

    ``⊕`` is ``aggr`` (a sum by default); ``e_ij = 1`` when no edge weights
    are given; ``b`` is added to every node, isolated ones included. With
    ``root_weight=False`` the root term is dropped: the plain weighted-sum
    convolution :math:`h_i = \sigma(W \sum_j e_{ij} x_j + b)`. As message
    passing: ``message(x_j, e_ij) = e_ij x_j`` on the input features,
    ``aggregate`` with ``aggr``, ``update`` (identity), then the formula's
    linear maps and ``σ``. When the three steps are the defaults and the
    aggregation is a sum or mean, ``W`` is applied before the aggregation if
    that is cheaper (``out_channels < in_channels``); the result is the same.

    PyG's parameters map one to one: ``lin_rel.weight`` → ``lin.weight``,
    ``lin_rel.bias`` → ``bias``, ``lin_root.weight`` → ``lin_root.weight``;
    ``load_state_dict`` takes a PyG ``GraphConv``'s state dict as it is.

    Args:
        in_channels: input features per node, or ``(in_src, in_dst)`` for a
            bipartite graph (``in_dst`` is the root term's input).
        out_channels: output features per node.
        bias: learn the additive bias ``b`` (default ``True``).
        activation: ``σ``, a callable applied last (default ``None``: identity).
        aggr: ``"sum"`` (default; ``"add"`` accepted), ``"mean"``, ``"max"`` or ``"min"``.
        root_weight: add the root term :math:`W_{\text{root}} x_i` (default
            ``True``, as PyG; skipped for targets given without features, ``(x_src, None)``).

    Shapes:
        x ``[N, in_channels]`` or bipartite ``([S, in_src], [T, in_dst])`` or
        ``([S, in_src], None)``, edge_index ``[2, E]`` (or a ``[T, S]`` ``CSR``),
        edge_weight ``[E]``, size ``(S, T)`` (optional, PyG's) → ``[N, out_channels]``
        (``[T, out_channels]``).
    """

    def __init__(self, in_channels: int | tuple[int, int], out_channels: int, bias: bool = True,
                 activation: Callable[[Tensor], Tensor] | None = None, aggr: str = "sum",
                 root_weight: bool = True) -> None:
        super().__init__(aggr=aggr)
        in_src, in_dst = check_channels(in_channels, out_channels, "GraphConv")
        self.in_channels, self.out_channels, self.root_weight = in_channels, out_channels, root_weight
        self.lin = nn.Linear(in_src, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.lin_root = nn.Linear(in_dst, out_channels, bias=False) if root_weight else None
        self.activation = activation

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        for theirs, ours in (("lin_rel.weight", "lin.weight"), ("lin_rel.bias", "bias")):  # PyG's names
            if prefix + theirs in state_dict and prefix + ours not in state_dict:
                state_dict[prefix + ours] = state_dict.pop(prefix + theirs)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        if self.lin_root is not None:
            self.lin_root.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _transform_first(self) -> bool:
        # W commutes with a weighted sum or mean only; a custom step sees the input features.
        return self._fused() and not self.overrides("update") and self.out_channels < self.lin.in_features

    def transform(self, x: Tensor) -> tuple[Tensor, ...]:
        """``(W x, x)`` when ``W`` goes first, else ``(x,)``."""
        return (F.linear(x, self.lin.weight), x) if self._transform_first() else (x,)

    def forward_block(self, block: Block, src: tuple[Tensor, ...], dst: tuple[Tensor | None, ...]) -> Tensor:
        out = self.propagate((src[0], dst[0]), block.csr)
        if not self._transform_first():
            out = self.lin(out)
        if self.bias is not None:
            out = out + self.bias
        if self.lin_root is not None and dst[-1] is not None:
            out = out + self.lin_root(dst[-1])  # the targets' input features
        return out if self.activation is None else self.activation(out)

    def forward(self, x: Tensor | tuple[Tensor, Tensor | None], edge_index: Tensor | CSR,
                edge_weight: Tensor | None = None, size: tuple[int, int] | None = None) -> Tensor:
        x = dense_features(x)  # a sparse x (CSR or torch.sparse) is aggregated itself: densified
        check_features(x, self.in_channels, "GraphConv")
        x_src, x_dst, num_nodes = split_input(x, size, edge_index)
        src = self.transform(x_src)
        dst = src if x_dst is x_src else (x_dst,)  # dst[0] is read only by update(), which W-first excludes
        return self.forward_block(self.prepare(edge_index, edge_weight, num_nodes, x_src.dtype), src, dst)

    def __repr__(self) -> str:
        aggr = "" if self.aggr == "sum" else f", aggr={self.aggr!r}"
        root = "" if self.root_weight else ", root_weight=False"
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}{aggr}{root})"
