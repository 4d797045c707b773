"""LGConv: LightGCN's propagation (He et al., SIGIR 2020)."""
from __future__ import annotations

import torch
from torch import Tensor

from gnnkit.nn.adjacency import AdjacencyCache, Block, as_csr, check_float
from gnnkit.nn.features import dense_features
from gnnkit.nn.message_passing import MessagePassing
from gnnkit.ops.norm import gcn_norm_factors
from gnnkit.ops.sparse import CSR


class LGConv(MessagePassing):
    r"""LightGCN propagation, https://arxiv.org/abs/2002.02126.

    .. math::
        e_i' = \sum_{j \in N(i)} \frac{1}{\sqrt{|N(i)|}\sqrt{|N(j)|}} e_j

    No weights, no self-loops, no non-linearity. With ``edge_weight`` the
    degrees are weighted degrees (``A_ij = e_ij``); with ``normalize=False``
    the propagation is the plain (weighted) sum :math:`\sum_j A_{ij} e_j`. As message passing:
    ``message(x_j, â_ij) = â_ij x_j`` with the normalised weights, summed.
    The normalised adjacency is cached per graph (keyed on the identity and
    version of ``edge_index`` and ``edge_weight``, and the dtype), so it is
    computed once, not per batch.

    Args:
        normalize: apply the symmetric normalisation (default ``True``).

    Shapes:
        x ``[N, F]``, edge_index ``[2, E]`` (or a ``CSR``), edge_weight ``[E]`` → ``[N, F]``.
    """

    def __init__(self, normalize: bool = True) -> None:
        super().__init__(aggr="sum")
        self.normalize = normalize
        self._normalized = AdjacencyCache()

    def prepare(self, edge_index: Tensor | CSR, edge_weight: Tensor | None, num_nodes: int,
                dtype: torch.dtype = torch.float32) -> Block:
        """``D^{-1/2} A D^{-1/2}`` (``A`` with ``normalize=False``), computed in
        ``dtype`` (at least float32), cached per graph."""
        dtype = torch.promote_types(dtype, torch.float32)
        if not self.normalize:
            return Block(self.adjacency(edge_index, edge_weight, num_nodes))

        def build() -> Block:
            # Separable: d^{-1/2} scales the rows, the edge values stay as given (none: unweighted).
            adj, _, dinv = gcn_norm_factors(as_csr(edge_index, edge_weight, num_nodes), add_self_loops=False,
                                            dtype=dtype)
            return Block(adj, None, dinv, dinv)

        return self._normalized.get(edge_index, edge_weight, num_nodes, build, (dtype,))

    def transform(self, x: Tensor) -> tuple[Tensor]:
        return (x,)

    def forward_block(self, block: Block, src: tuple[Tensor], dst: tuple[Tensor]) -> Tensor:
        return self.propagate((src[0], dst[0]), block)

    def forward(self, x: Tensor, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        x = dense_features(x)  # a sparse x (CSR or torch.sparse) is propagated itself: densified
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise ValueError(f"LGConv: x must be [num_nodes, F], got {tuple(getattr(x, 'shape', ()))}")
        check_float(x, "LGConv")  # integer features came back as truncated integers
        state = self.transform(x)
        return self.forward_block(self.prepare(edge_index, edge_weight, x.size(0), x.dtype), state, state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()" if self.normalize else f"{type(self).__name__}(normalize=False)"
