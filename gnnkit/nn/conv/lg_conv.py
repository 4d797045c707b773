"""LGConv: LightGCN's propagation (He et al., SIGIR 2020)."""
from __future__ import annotations

from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, as_csr
from gnnkit.ops.norm import gcn_norm_csr
from gnnkit.ops.sparse import CSR, spmm


class LGConv(nn.Module):
    r"""LightGCN propagation, https://arxiv.org/abs/2002.02126.

    .. math::
        e_i' = \sum_{j \in N(i)} \frac{1}{\sqrt{|N(i)|}\sqrt{|N(j)|}} e_j

    No weights, no self-loops, no non-linearity. With ``edge_weight`` the
    degrees are weighted degrees (``A_ij = e_ij``). The normalised adjacency is
    cached per graph (keyed on the identity and version of ``edge_index`` and
    ``edge_weight``), so it is computed once, not per batch.

    Shapes:
        x ``[N, F]``, edge_index ``[2, E]`` (or a ``CSR``), edge_weight ``[E]`` → ``[N, F]``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._normalized = AdjacencyCache()

    def forward(self, x: Tensor, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        if x.dim() != 2:
            raise ValueError(f"LGConv: x must be [num_nodes, F], got {tuple(x.shape)}")
        n = x.size(0)
        adj, _ = self._normalized.get(
            edge_index, edge_weight, n, lambda: gcn_norm_csr(as_csr(edge_index, edge_weight, n), add_self_loops=False)
        )
        return spmm(adj, x)
