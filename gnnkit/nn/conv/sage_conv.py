"""SAGEConv (Hamilton et al., NeurIPS 2017)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.adjacency import Block, check_channels, check_features
from gnnkit.nn.features import dense_features
from gnnkit.nn.message_passing import MessagePassing, split_input, weight_or_size
from gnnkit.ops.sparse import CSR


class SAGEConv(MessagePassing):
    r"""GraphSAGE, https://arxiv.org/abs/1706.02216.

    .. math::
        h_i' = W_1 \bigoplus_{j \in N(i)} e_{ij} h_j + b + W_2 h_i

    ``⊕`` is ``aggr``: the mean ``\frac{1}{|N(i)|}\sum`` by default, or sum,
    max, min. ``e_ij = 1`` without edge weights (then identical to PyG's
    ``SAGEConv``); isolated nodes aggregate to 0. As message passing:
    ``message(x_j, e_ij) = e_ij x_j`` on the input features, ``aggregate``,
    ``update`` (identity), then the formula's linear maps. With the default
    steps and a sum or mean, ``W_1`` is applied before the aggregation when
    ``out_channels < in_channels`` (it commutes with them). With
    ``project=True`` the neighbours' features are first mapped by
    :math:`h_j \mapsto \mathrm{ReLU}(W_p h_j + b_p)` (``lin``, PyG's
    ``project``); the root term reads the unprojected ``h_i``.

    Args:
        in_channels: input features per node, or ``(in_src, in_dst)`` for a
            bipartite graph.
        out_channels: output features per node.
        bias: learn ``b`` (default ``True``).
        root_weight: add the root term ``W_2 h_i`` (default ``True``).
        normalize: L2-normalise the output rows (default ``False``).
        aggr: ``"mean"`` (default), ``"sum"`` (``"add"``), ``"max"`` or ``"min"``.
        project: project the sources' features before the aggregation
            (default ``False``; PyG's option).

    Shapes:
        x ``[N, in_channels]`` or bipartite ``([S, in_src], [T, in_dst])`` or
        ``([S, in_src], None)`` (no root term), edge_index ``[2, E]`` (or a
        ``[T, S]`` ``CSR``), edge_weight ``[E]``, size ``(S, T)`` (optional,
        PyG's) → ``[N, out_channels]`` (``[T, out_channels]``).
    """

    def __init__(self, in_channels: int | tuple[int, int], out_channels: int, bias: bool = True,
                 root_weight: bool = True, normalize: bool = False, aggr: str = "mean",
                 project: bool = False) -> None:
        super().__init__(aggr=aggr)
        in_src, in_dst = check_channels(in_channels, out_channels, "SAGEConv")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.root_weight, self.normalize = root_weight, normalize
        self._aggr_as_given = aggr  # for repr, as PyG's ("add" stays "add")
        # Named (and registered) as in PyG so that state_dicts move between the two.
        self.lin = nn.Linear(in_src, in_src) if project else None  # project's map
        self.lin_l = nn.Linear(in_src, out_channels, bias=bias)
        self.lin_r = nn.Linear(in_dst, out_channels, bias=False) if root_weight else None

    def reset_parameters(self) -> None:
        if self.lin is not None:
            self.lin.reset_parameters()
        self.lin_l.reset_parameters()
        if self.lin_r is not None:
            self.lin_r.reset_parameters()

    def _transform_first(self) -> bool:
        # W_1 commutes with a weighted sum or mean only; a custom step sees the input features.
        return self._fused() and not self.overrides("update") and self.out_channels < self.lin_l.in_features

    def transform(self, x: Tensor) -> tuple[Tensor, ...]:
        """``(W_1 h, x)`` when ``W_1`` goes first, else ``(h, x)`` (``(x,)``
        without ``project``): ``h`` the features aggregated, ``x`` the root's."""
        h = F.relu(self.lin(x)) if self.lin is not None else x
        if self._transform_first():
            return F.linear(h, self.lin_l.weight), x
        return (h,) if h is x else (h, x)

    def forward_block(self, block: Block, src: tuple[Tensor, ...], dst: tuple[Tensor, ...]) -> Tensor:
        out = self.propagate((src[0], dst[0]), block.csr)
        if not self._transform_first():
            out = self.lin_l(out)
        elif self.lin_l.bias is not None:
            out = out + self.lin_l.bias
        if self.lin_r is not None and dst[-1] is not None:  # (x_src, None): no root term, as PyG
            root = dst[-1]  # the targets' input features
            if out.dtype == root.dtype == self.lin_r.weight.dtype and not torch.is_autocast_enabled(out.device.type):
                # Added in place into this layer's own fresh output (nothing saved it): one [T, F] less.
                out = out.addmm_(root, self.lin_r.weight.t())
            else:
                out = out + self.lin_r(root)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out

    def forward(self, x: Tensor | tuple[Tensor, Tensor | None], edge_index: Tensor | CSR,
                edge_weight: Tensor | None = None, size: tuple[int, int] | None = None) -> Tensor:
        x = dense_features(x)  # a sparse x (CSR or torch.sparse) is aggregated itself: densified
        check_features(x, self.in_channels, "SAGEConv")
        edge_weight, size = weight_or_size(edge_weight, size)  # PyG's conv(x, edge_index, (S, T))
        x_src, x_dst, num_nodes = split_input(x, size, edge_index)
        src = self.transform(x_src)
        dst = src if x_dst is x_src else (x_dst,)  # dst[0] is read only by update(), which W-first excludes
        return self.forward_block(self.prepare(edge_index, edge_weight, num_nodes, x_src.dtype), src, dst)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self._aggr_as_given})"
