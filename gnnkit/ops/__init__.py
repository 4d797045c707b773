"""Pure tensor functions: scatter/segment reductions, CSR products, normalisation."""
from gnnkit.ops.csr import CSR, build_csr
from gnnkit.ops.edges import add_self_loops, coalesce, degree, remove_self_loops, symmetrize, to_undirected
from gnnkit.ops.fused import attention_softmax, multi_head_spmm, symmetric_scaled_spmm
from gnnkit.ops.norm import gcn_norm, gcn_norm_csr, gcn_norm_factors, softmax
from gnnkit.ops.pairs import pair_dot
from gnnkit.ops.scatter import available_backends, get_backend, scatter, segment, set_backend
from gnnkit.ops.sparse import get_spmm_backend, sddmm, set_spmm_backend, spmm

__all__ = [
    "CSR",
    "add_self_loops",
    "attention_softmax",
    "available_backends",
    "build_csr",
    "coalesce",
    "degree",
    "gcn_norm",
    "gcn_norm_csr",
    "gcn_norm_factors",
    "get_backend",
    "get_spmm_backend",
    "multi_head_spmm",
    "pair_dot",
    "remove_self_loops",
    "scatter",
    "sddmm",
    "segment",
    "set_backend",
    "set_spmm_backend",
    "softmax",
    "spmm",
    "symmetric_scaled_spmm",
    "symmetrize",
    "to_undirected",
]
