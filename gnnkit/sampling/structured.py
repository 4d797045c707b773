"""PyG's ``structured_negative_sampling``: one corrupted tail per edge."""
from __future__ import annotations

import torch
from torch import Tensor

from gnnkit.ops.edges import check_edge_list
from gnnkit.sampling.negative import bipartite_negative_sampling


def structured_negative_sampling(edge_index: Tensor, num_nodes: int | None = None,
                                 contains_neg_self_loops: bool = True, *,
                                 generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``(i, j, k)`` for every edge ``(i, j)``: a node ``k`` with ``(i, k)``
    not an edge, uniform over such nodes (PyG's function, with an exact test).

    Args:
        edge_index: ``[2, E]`` edges ``i → j``.
        num_nodes: number of nodes (default the largest id + 1).
        contains_neg_self_loops: whether ``k = i`` may be drawn (default ``True``, as PyG).
        generator: torch generator for reproducible draws.

    Raises:
        ValueError: a source linked to every allowed node has no negative.
    """
    check_edge_list(edge_index, None, "structured_negative_sampling")
    top = int(edge_index.max()) + 1 if edge_index.numel() else 0
    num_nodes = top if num_nodes is None else num_nodes
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < top:
        raise ValueError(f"structured_negative_sampling: num_nodes must be an int covering every id (> "
                         f"{top - 1}), got {num_nodes!r}")
    i, j = edge_index[0].long(), edge_index[1].long()
    if i.numel() == 0:
        return i, j, torch.empty_like(i)
    exclude = edge_index.long()
    if not contains_neg_self_loops:
        loops = torch.arange(num_nodes, device=edge_index.device).repeat(2, 1)
        exclude = torch.cat([exclude, loops], dim=1)
    k = bipartite_negative_sampling(edge_index.long(), num_nodes, num_nodes, src=i, exclude=exclude,
                                    generator=generator)[1]
    return i, j, k
