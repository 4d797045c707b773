"""Pure tensor functions: scatter/segment reductions, CSR products, normalisation."""
from gnnkit.ops.edges import add_self_loops, coalesce, degree, remove_self_loops, to_undirected
from gnnkit.ops.norm import attention_softmax, gcn_norm, gcn_norm_csr, gcn_norm_factors, softmax
from gnnkit.ops.scatter import available_backends, get_backend, scatter, segment, set_backend
from gnnkit.ops.sparse import (CSR, build_csr, get_spmm_backend, multi_head_spmm, sddmm, set_spmm_backend, spmm,
                               symmetric_scaled_spmm)

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
    "remove_self_loops",
    "scatter",
    "sddmm",
    "segment",
    "set_backend",
    "set_spmm_backend",
    "softmax",
    "spmm",
    "symmetric_scaled_spmm",
    "to_undirected",
]
