"""Pure tensor functions: scatter/segment reductions, CSR products, normalisation."""
from gnnkit.ops.edges import add_self_loops, coalesce, degree, remove_self_loops, to_undirected
from gnnkit.ops.norm import gcn_norm, gcn_norm_csr, softmax
from gnnkit.ops.scatter import available_backends, get_backend, scatter, segment, set_backend
from gnnkit.ops.sparse import CSR, build_csr, sddmm, spmm

__all__ = [
    "CSR",
    "add_self_loops",
    "available_backends",
    "build_csr",
    "coalesce",
    "degree",
    "gcn_norm",
    "gcn_norm_csr",
    "get_backend",
    "remove_self_loops",
    "scatter",
    "sddmm",
    "segment",
    "set_backend",
    "softmax",
    "spmm",
    "to_undirected",
]
