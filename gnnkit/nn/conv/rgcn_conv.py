"""RGCNConv (Schlichtkrull et al., ESWC 2018): graph convolution with one weight per relation."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gnnkit.nn.adjacency import AdjacencyCache, check_channels
from gnnkit.ops.scatter import scatter
from gnnkit.ops.sparse import CSR, build_csr, spmm


class RGCNConv(nn.Module):
    r"""Relational graph convolution, https://arxiv.org/abs/1703.06103.

    .. math::
        h_i' = W_0 h_i + \sum_{r} \sum_{j \in N_r(i)} \frac{1}{c_{i,r}} W_r h_j + b

    where ``N_r(i)`` are the sources of the edges ``j --r--> i`` and
    ``c_{i,r} = |N_r(i)|`` (``aggr="mean"``, the paper's choice) or 1
    (``aggr="sum"``). To keep the parameter count from growing with the number
    of relations, ``W_r`` may be decomposed (paper, eq. 3 and 4):

    * *basis*: ``W_r = Σ_b a_{rb} V_b`` over ``num_bases`` shared matrices;
    * *block-diagonal*: ``W_r = diag(Q_{r1}, …, Q_{rB})`` with ``num_blocks``
      blocks of shape ``in/B × out/B``.

    When the graph has at least as many edges as nodes × relations, every
    ``W_r h_j`` is computed at once (``[N · R, out]``) and aggregated by one
    sparse product over entries ``(i, j·R + r)`` of weight ``1/c_{i,r}``,
    built once per graph; otherwise messages are computed per relation on
    the edges of that relation, then normalised and summed into the targets
    with ``gnnkit.ops.scatter``. Parameters are laid out as in PyG's
    ``RGCNConv`` (``weight``, ``comp``, ``root``, ``bias``), so weights copy over.

    Args:
        in_channels: input features per node.
        out_channels: output features per node.
        num_relations: number of edge types ``R``.
        num_bases: use the basis decomposition with this many bases
            (default ``None``: a full matrix per relation).
        num_blocks: use the block-diagonal decomposition with this many blocks;
            must divide both channel counts. Not together with ``num_bases``.
        aggr: ``"mean"`` (default, ``c_{i,r} = |N_r(i)|``) or ``"sum"``.
        root_weight: add the self-connection ``W_0 h_i`` (default ``True``).
        bias: learn the additive bias ``b`` (default ``True``).

    Featureless entities (the paper's one-hot inputs), as PyG: ``x`` may be
    an integer tensor ``[N]`` of ids in ``0..in_channels-1`` (node ``i``'s
    input is the one-hot vector of ``x[i]``, so ``W_r h_j`` is row ``x[j]`` of
    ``W_r``, read without building the one-hot matrix), or ``None`` for
    ``x = arange(in_channels)`` (one id per node, ``N = in_channels``). Not
    with ``num_blocks``.

    Shapes:
        x ``[N, in_channels]`` (or ids ``[N]``, or ``None``), edge_index ``[2, E]``
        (row 0 sources), edge_type ``[E]`` with values in ``0..R-1`` → ``[N, out_channels]``.
    """

    def __init__(self, in_channels: int, out_channels: int, num_relations: int, num_bases: int | None = None,
                 num_blocks: int | None = None, aggr: str = "mean", root_weight: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        if isinstance(in_channels, (tuple, list)):
            raise ValueError(f"RGCNConv: in_channels={tuple(in_channels)}: bipartite input (in_src, in_dst) is not "
                             f"supported; give one feature count and x for every node")
        check_channels(in_channels, out_channels, "RGCNConv")
        if num_relations < 1:
            raise ValueError(f"RGCNConv: num_relations must be >= 1, got {num_relations}")
        if num_bases is not None and num_blocks is not None:
            raise ValueError("RGCNConv: pass num_bases (basis decomposition) or num_blocks (block-diagonal), not both")
        if aggr not in ("mean", "sum"):
            raise ValueError(f"RGCNConv: aggr must be 'mean' or 'sum', got {aggr!r}")
        if num_blocks is not None and (num_blocks < 1 or in_channels % num_blocks or out_channels % num_blocks):
            raise ValueError(f"RGCNConv: num_blocks={num_blocks} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}; choose a common divisor")
        if num_bases is not None and num_bases < 1:
            raise ValueError(f"RGCNConv: num_bases must be >= 1, got {num_bases}")
        self.in_channels, self.out_channels, self.num_relations = in_channels, out_channels, num_relations
        self.num_bases, self.num_blocks, self.aggr = num_bases, num_blocks, aggr
        if num_bases is not None:
            self.weight = nn.Parameter(torch.empty(num_bases, in_channels, out_channels))
            self.comp = nn.Parameter(torch.empty(num_relations, num_bases))
        elif num_blocks is not None:
            self.weight = nn.Parameter(torch.empty(num_relations, num_blocks, in_channels // num_blocks,
                                                   out_channels // num_blocks))
            self.register_parameter("comp", None)
        else:
            self.weight = nn.Parameter(torch.empty(num_relations, in_channels, out_channels))
            self.register_parameter("comp", None)
        self._adjacency = AdjacencyCache()  # the relation-expanded CSR of the last graph (transform-first path)
        self.root = nn.Parameter(torch.empty(in_channels, out_channels)) if root_weight else None
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Glorot-uniform over one relation's (in, out) matrix, as the paper's code (0 x 0: nothing to draw).
        bound = math.sqrt(6.0 / max(self.in_channels + self.out_channels, 1))
        nn.init.uniform_(self.weight, -bound, bound)
        if self.comp is not None:
            nn.init.uniform_(self.comp, -math.sqrt(6.0 / (self.num_relations + self.num_bases)),
                             math.sqrt(6.0 / (self.num_relations + self.num_bases)))
        if self.root is not None:
            nn.init.uniform_(self.root, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def relation_weight(self, relation: int) -> Tensor:
        """``W_r``: ``[in, out]`` (basis or full), or ``[B, in/B, out/B]`` blocks."""
        if self.num_bases is not None:
            return torch.einsum("b,bio->io", self.comp[relation], self.weight)
        return self.weight[relation]

    def forward(self, x: Tensor | None, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        if x is None:  # featureless: node i is entity i
            x = torch.arange(self.in_channels, device=edge_index.device)
        n = x.size(0)
        _check_inputs(x, edge_index, edge_type, self.in_channels, self.num_relations)
        if not x.is_floating_point() and self.num_blocks is not None:
            raise ValueError("RGCNConv: integer ids as x (featureless nodes) do not work with num_blocks; use "
                             "num_bases, or pass an nn.Embedding's weight as x")
        if n * self.num_relations <= edge_index.size(1):
            out = self._transform_first(x, edge_index, edge_type)
        else:
            out = self._per_relation(x, edge_index, edge_type)
        if self.root is not None:
            out = out + (x @ self.root if x.is_floating_point() else self.root.index_select(0, x.long()))
        if self.bias is not None:
            out = out + self.bias
        return out

    def _transform_first(self, x: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        """Dense graphs (more edges than nodes × relations): every ``W_r h_j``
        at once as ``[N · R, out]``, then one sparse product whose entry
        ``(i, j·R + r)`` is ``1/c_{i,r}`` — no per-edge message, no loop over
        relations."""
        n, r = x.size(0), self.num_relations
        dtype = torch.promote_types(x.dtype, torch.float32) if x.is_floating_point() else self.weight.dtype
        adj = self._adjacency.get(edge_index, edge_type, n,
                                  lambda: self._relation_csr(edge_index, edge_type, n, dtype), (self.aggr, dtype))
        if self.num_blocks is None:
            w = self.weight if self.num_bases is None else torch.einsum("rb,bio->rio", self.comp, self.weight)
            if not x.is_floating_point():  # one-hot ids: W_r h_j is row x_j of W_r
                return spmm(adj, w.index_select(1, x.long()).transpose(0, 1).reshape(n * r, self.out_channels))
            h = (x @ w.permute(1, 0, 2).reshape(self.in_channels, r * self.out_channels))
        else:
            blocks = x.reshape(n, self.num_blocks, self.in_channels // self.num_blocks)  # n = 0 too
            h = torch.einsum("nbi,rbio->nrbo", blocks, self.weight)
        return spmm(adj, h.reshape(n * r, self.out_channels))

    def _relation_csr(self, edge_index: Tensor, edge_type: Tensor, n: int, dtype: torch.dtype) -> CSR:
        src, dst, rel = edge_index[0].long(), edge_index[1].long(), edge_type.long()
        value = None
        if self.aggr == "mean":  # 1 / c_{i,r}: in-degree of target i over relation r alone
            _, inverse, per_key = torch.unique(dst * self.num_relations + rel, return_inverse=True,
                                               return_counts=True)
            value = per_key.index_select(0, inverse).to(dtype).reciprocal()
        return build_csr(torch.stack([src * self.num_relations + rel, dst]), n, value,
                         num_cols=n * self.num_relations)

    def _per_relation(self, x: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        """Sparse graphs: one dense product per relation on that relation's edges."""
        n = x.size(0)
        src, dst = edge_index[0].long(), edge_index[1].long()
        edge_type = edge_type.long()
        # group the edges by relation: one dense product per relation
        order = torch.argsort(edge_type, stable=True)
        src, dst, edge_type = src[order], dst[order], edge_type[order]
        counts = torch.bincount(edge_type, minlength=self.num_relations).tolist()
        messages, start = [], 0
        for r, count in enumerate(counts):
            if count == 0:
                continue
            x_j = x.index_select(0, src[start:start + count])
            messages.append(self._transform(x_j, r))
            start += count
        out = torch.zeros(n, self.out_channels, dtype=messages[0].dtype if messages else self.weight.dtype,
                          device=edge_index.device)
        if messages:
            msg = torch.cat(messages)
            if self.aggr == "mean":  # 1 / c_{i,r}: in-degree of target i over relation r alone
                key = dst * self.num_relations + edge_type
                _, inverse, per_key = torch.unique(key, return_inverse=True, return_counts=True)
                msg = msg / per_key.index_select(0, inverse).to(msg.dtype).unsqueeze(1)
            out = scatter(msg, dst, n, reduce="sum")
        return out

    def _transform(self, x_j: Tensor, relation: int) -> Tensor:
        w = self.relation_weight(relation)
        if not x_j.is_floating_point():  # one-hot ids: rows of W_r
            return w.index_select(0, x_j.long())
        if self.num_blocks is None:
            return x_j @ w
        blocks = x_j.reshape(x_j.size(0), self.num_blocks, self.in_channels // self.num_blocks)
        return torch.einsum("ebi,bio->ebo", blocks, w).reshape(x_j.size(0), self.out_channels)

    def extra_repr(self) -> str:
        decomposition = (f", num_bases={self.num_bases}" if self.num_bases else
                         f", num_blocks={self.num_blocks}" if self.num_blocks else "")
        return f"{self.in_channels}, {self.out_channels}, num_relations={self.num_relations}{decomposition}"


def _check_inputs(x: Tensor, edge_index: Tensor, edge_type: Tensor, in_channels: int, num_relations: int) -> None:
    if not x.is_floating_point():
        if x.dim() != 1 or x.dtype == torch.bool:
            raise ValueError(f"RGCNConv: integer x must be node ids [N], got {tuple(x.shape)} of {x.dtype}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= in_channels):
            raise ValueError(f"RGCNConv: x holds ids in 0..{in_channels - 1} (one-hot inputs of width "
                             f"in_channels={in_channels}), got {int(x.min())}..{int(x.max())}")
    elif x.dim() != 2 or x.size(1) != in_channels:
        raise ValueError(f"RGCNConv: x must be [N, {in_channels}], got {tuple(x.shape)}; for featureless entities "
                         f"pass an nn.Embedding's weight as x")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"RGCNConv: edge_index must be [2, E], got {tuple(edge_index.shape)}")
    if edge_type.shape != (edge_index.size(1),):
        raise ValueError(f"RGCNConv: edge_type must be [E] = [{edge_index.size(1)}], one relation per edge, got "
                         f"{tuple(edge_type.shape)}")
    if edge_type.numel():
        lo, hi = int(edge_type.min()), int(edge_type.max())
        if lo < 0 or hi >= num_relations:
            raise ValueError(f"RGCNConv: relation id {lo if lo < 0 else hi} is out of range; expected "
                             f"0 <= edge_type < num_relations = {num_relations}")
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= x.size(0):
            raise ValueError(f"RGCNConv: edge_index refers to node {lo if lo < 0 else hi} but x has {x.size(0)} rows")
