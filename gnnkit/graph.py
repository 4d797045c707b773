"""``Graph``: a thin, validated container for one graph.

Edges are ``[2, E]`` with row 0 the source ``j`` and row 1 the target ``i``:
messages flow ``j → i``, and the aggregation at ``i`` runs over ``i``'s
incoming edges. Fields are read by name; the graph is checked once, when it is
made, so the layers and trainers downstream can trust it.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from gnnkit.ops import edges as _edges
from gnnkit.ops.sparse import CSR, build_csr

if TYPE_CHECKING:  # pragma: no cover
    import networkx
    import scipy.sparse

# The graph utilities live in gnnkit.ops; re-exported here for convenience.
add_self_loops = _edges.add_self_loops
remove_self_loops = _edges.remove_self_loops
to_undirected = _edges.to_undirected
coalesce = _edges.coalesce
degree = _edges.degree

_MASKS = ("train_mask", "val_mask", "test_mask")
_TENSOR_FIELDS = ("x", "edge_index", "edge_weight", "y", *_MASKS)


@dataclass(frozen=True, eq=False)
class Graph:
    """One graph: node features, edges, labels and split masks.

    Every tensor field also accepts what ``torch.as_tensor`` converts (a
    numpy array, a list), keeping its dtype.

    Args:
        x: ``[N, F]`` node features, or ``None`` when the graph has none.
        edge_index: ``[2, E]`` integer edges, row 0 source ``j``, row 1 target ``i``.
        edge_weight: optional ``[E]`` edge weights ``e_ij``.
        y: optional ``[N]`` integer labels (or ``[N, C]`` targets).
        train_mask: optional ``[N]`` boolean mask of the training nodes.
        val_mask: optional ``[N]`` boolean mask of the validation nodes.
        test_mask: optional ``[N]`` boolean mask of the test nodes.
        num_nodes: number of nodes; inferred from ``x``, then ``y``, then
            ``edge_index.max() + 1`` when not given.

    Raises:
        ValueError: naming the field, the offending value and what was expected.
    """

    x: Tensor | None = None
    edge_index: Tensor = None  # type: ignore[assignment]
    edge_weight: Tensor | None = None
    y: Tensor | None = None
    train_mask: Tensor | None = None
    val_mask: Tensor | None = None
    test_mask: Tensor | None = None
    num_nodes: int | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in _TENSOR_FIELDS:  # numpy arrays, lists ...: converted the way torch users expect
            value = getattr(self, name)
            if value is not None and not isinstance(value, Tensor):
                object.__setattr__(self, name, _as_tensor(name, value))
            elif value is not None and value.device.type == "meta":
                raise ValueError(f"{name} is on the meta device (shapes only, no values), so the graph cannot be "
                                 f"checked or used; create it with real tensors (e.g. device='cpu')")
        ei = self.edge_index
        if ei is None:
            ei = torch.empty(2, 0, dtype=torch.long)
        if not isinstance(ei, Tensor):
            raise ValueError(f"edge_index must be a torch.Tensor of shape [2, E], got {type(ei).__name__}")
        if ei.dtype.is_floating_point or ei.dtype == torch.bool or ei.dtype.is_complex:
            raise ValueError(f"edge_index must be an integer tensor, got dtype {ei.dtype}; convert it with .long()")
        if ei.dim() != 2 or ei.size(0) != 2:
            hint = " (it looks transposed: pass edge_index.t())" if ei.dim() == 2 and ei.size(1) == 2 else ""
            raise ValueError(f"edge_index must have shape [2, E], got {tuple(ei.shape)}{hint}")
        ei = ei.long()
        object.__setattr__(self, "edge_index", ei)

        n = self.num_nodes
        if n is None:
            if self.x is not None:
                n = self.x.size(0)
            elif self.y is not None:
                n = self.y.size(0)
            else:
                n = int(ei.max()) + 1 if ei.numel() else 0
        n = _node_count(n)
        if n < 0:
            raise ValueError(f"num_nodes must be >= 0, got {n}")
        object.__setattr__(self, "num_nodes", n)

        if ei.numel():
            bad = (ei < 0) | (ei >= n)
            if bool(bad.any()):
                r, pos = (int(v) for v in bad.nonzero()[0])
                raise ValueError(
                    f"edge_index[{r}, {pos}] = {int(ei[r, pos])} is out of range: node ids must satisfy "
                    f"0 <= id < num_nodes = {n}. Fix the edge list or pass the right num_nodes."
                )
        self._check_fields(ei, n)

    def _check_fields(self, ei: Tensor, n: int) -> None:
        """Check every field against the edge list and the node count."""
        if self.x is not None:
            if isinstance(self.x, Tensor) and self.x.layout != torch.strided:
                raise ValueError(f"x is a torch sparse tensor ({self.x.layout}); Graph keeps dense features: pass "
                                 f"x.to_dense()")
            if not isinstance(self.x, Tensor) or self.x.dim() != 2:
                raise ValueError(f"x must be a [num_nodes, F] tensor, got {_describe(self.x)}")
            if self.x.dtype.is_complex:
                raise ValueError(f"x must be real, got dtype {self.x.dtype}")
            if self.x.size(0) != n:
                raise ValueError(f"x has {self.x.size(0)} rows but the graph has num_nodes = {n}; expected one row per node")
            _check_finite("x", self.x)
        if self.edge_weight is not None:
            w = self.edge_weight
            if not isinstance(w, Tensor) or w.dim() != 1 or w.numel() != ei.size(1):
                raise ValueError(f"edge_weight must have shape [E] = [{ei.size(1)}], got {_describe(w)}")
            if not w.dtype.is_floating_point:
                object.__setattr__(self, "edge_weight", w.float())
            _check_finite("edge_weight", self.edge_weight)
        if self.y is not None:
            if not isinstance(self.y, Tensor) or self.y.size(0) != n:
                raise ValueError(f"y must have one entry per node ({n}), got {_describe(self.y)}")
        for name in _MASKS:
            mask = getattr(self, name)
            if mask is None:
                continue
            if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.shape != (n,):
                raise ValueError(
                    f"{name} must be a boolean tensor of shape [{n}], got {_describe(mask)}; "
                    f"build it with torch.zeros({n}, dtype=torch.bool)"
                )

    # ------------------------------------------------------------------ views
    @property
    def num_edges(self) -> int:
        return self.edge_index.size(1)

    @property
    def num_features(self) -> int:
        return 0 if self.x is None else self.x.size(1)

    @property
    def num_classes(self) -> int:
        """Number of classes in ``y`` (``max + 1``; 0 without labels)."""
        if self.y is None or self.y.numel() == 0:
            return 0
        return int(self.y.max()) + 1 if self.y.dim() == 1 else self.y.size(1)

    @property
    def device(self) -> torch.device:
        return self.edge_index.device

    def csr(self) -> CSR:
        """Target-major adjacency ``A[i, j] = e_ij`` (cached): ``spmm(g.csr(), x)``
        is the aggregation ``Σ_j e_ij x_j``."""
        return self._cached("csr", lambda: build_csr(self.edge_index, self.num_nodes, self.edge_weight))

    def csc(self) -> CSR:
        """Source-major view (the transpose ``Aᵀ``, cached), for backward passes
        and out-neighbour queries."""
        return self._cached("csc", lambda: self.csr().t())

    def _cached(self, key: str, build):
        # Keyed on the tensors' version counters: an in-place edit rebuilds.
        version = (self.edge_index._version, None if self.edge_weight is None else self.edge_weight._version)
        hit = self._cache.get(key)
        if hit is None or hit[0] != version:
            hit = (version, build())
            self._cache[key] = hit
        return hit[1]

    def replace(self, **changes: Any) -> Graph:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to(self, device: torch.device | str) -> Graph:
        """The graph with every tensor on ``device``."""
        moved = {
            f.name: (getattr(self, f.name).to(device) if isinstance(getattr(self, f.name), Tensor) else getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.init
        }
        return Graph(**moved)

    def __repr__(self) -> str:
        parts = [f"num_nodes={self.num_nodes}", f"num_edges={self.num_edges}"]
        for name in ("x", "edge_weight", "y", *_MASKS):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={list(value.shape)}")
        return f"Graph({', '.join(parts)})"

    # ------------------------------------------------------------ conversions
    @classmethod
    def from_networkx(cls, g: networkx.Graph, x: Tensor | None = None, y: Tensor | None = None,
                      weight: str | None = None) -> Graph:
        """From a networkx graph. Nodes are numbered in ``g.nodes`` order; an
        undirected graph gives both directions of every edge. ``weight`` names
        an edge attribute to use as ``edge_weight``."""
        index = {node: k for k, node in enumerate(g.nodes)}
        src, dst, w = [], [], []
        for u, v, data in g.edges(data=True):
            src.append(index[u])
            dst.append(index[v])
            if weight is not None:
                if weight not in data:
                    raise ValueError(f"edge ({u!r}, {v!r}) has no attribute {weight!r}; pass weight=None or set it on every edge")
                w.append(float(data[weight]))
        ei = torch.tensor([src, dst], dtype=torch.long).reshape(2, -1)
        ew = torch.tensor(w, dtype=torch.float32) if weight is not None else None
        if not g.is_directed():
            loops = ei[0] == ei[1]
            ei = torch.cat([ei, ei[:, ~loops].flip(0)], dim=1)
            if ew is not None:
                ew = torch.cat([ew, ew[~loops]])
        return cls(x=x, edge_index=ei, edge_weight=ew, y=y, num_nodes=g.number_of_nodes())

    def to_networkx(self, directed: bool = True) -> networkx.DiGraph:
        """To a networkx ``DiGraph`` (or ``Graph`` with ``directed=False``), with
        edge attribute ``weight`` when the graph has weights."""
        import networkx as nx

        g = nx.DiGraph() if directed else nx.Graph()
        g.add_nodes_from(range(self.num_nodes))
        ei = self.edge_index.cpu().tolist()
        if self.edge_weight is None:
            g.add_edges_from(zip(ei[0], ei[1]))
        else:
            g.add_weighted_edges_from(zip(ei[0], ei[1], self.edge_weight.cpu().tolist()))
        return g

    @classmethod
    def from_scipy(cls, matrix: scipy.sparse.spmatrix, **fields: Any) -> Graph:
        """From a square scipy sparse adjacency ``M[j, i]`` = weight of edge ``j → i``."""
        coo = matrix.tocoo()
        if coo.shape[0] != coo.shape[1]:
            raise ValueError(f"adjacency must be square, got shape {coo.shape}")
        ei = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        w = torch.from_numpy(coo.data.astype(np.float32))
        fields.setdefault("num_nodes", coo.shape[0])
        return cls(edge_index=ei, edge_weight=w, **fields)

    def to_scipy(self) -> scipy.sparse.coo_matrix:
        """To a scipy COO adjacency with ``M[j, i]`` = weight of edge ``j → i``."""
        import scipy.sparse as sp

        ei = self.edge_index.cpu().numpy()
        w = np.ones(ei.shape[1], dtype=np.float32) if self.edge_weight is None else self.edge_weight.detach().cpu().numpy()
        return sp.coo_matrix((w, (ei[0], ei[1])), shape=(self.num_nodes, self.num_nodes))

    @classmethod
    def from_pyg(cls, data: Any) -> Graph:
        """From a ``torch_geometric.data.Data`` (x, edge_index, edge_weight or
        1-D edge_attr, y, masks)."""
        weight = getattr(data, "edge_weight", None)
        attr = getattr(data, "edge_attr", None)
        if weight is None and attr is not None and attr.dim() == 1:
            weight = attr
        return cls(
            x=getattr(data, "x", None),
            edge_index=data.edge_index,
            edge_weight=weight,
            y=getattr(data, "y", None),
            train_mask=getattr(data, "train_mask", None),
            val_mask=getattr(data, "val_mask", None),
            test_mask=getattr(data, "test_mask", None),
            num_nodes=data.num_nodes,
        )

    def to_pyg(self) -> Any:
        """To a ``torch_geometric.data.Data``; needs ``pip install gnnkit[pyg]``."""
        try:
            from torch_geometric.data import Data
        except ImportError as err:
            raise ImportError("Graph.to_pyg needs torch_geometric: pip install gnnkit[pyg]") from err
        fields = {"x": self.x, "edge_index": self.edge_index, "edge_weight": self.edge_weight, "y": self.y}
        fields.update({name: getattr(self, name) for name in _MASKS})
        return Data(num_nodes=self.num_nodes, **{k: v for k, v in fields.items() if v is not None})

    @classmethod
    def from_edge_list(cls, edges: Any, *, num_nodes: int | None = None, undirected: bool = False,
                       relabel: bool = False, self_loops: bool = True, comments: str = "#%") -> Graph:
        """From an edge table: rows ``(src, dst)`` or ``(src, dst, weight)``.

        Duplicate edges are merged (weights summed). Reading files is
        ``gnnkit.datasets.read_edge_list``'s job (it checks them line by
        line); a path here still works but is deprecated.

        Args:
            edges: ``[E, 2]`` or ``[E, 3]`` table: a tensor, numpy array,
                list of rows or pandas DataFrame.
            num_nodes: node count (default: largest id + 1, or the number of
                distinct ids with ``relabel``).
            undirected: add the reverse of every edge (default ``False``).
            relabel: map the distinct ids, in increasing order, to ``0..n-1``.
            self_loops: keep ``i → i`` edges (default) or drop them.
            comments: comment characters, for the deprecated path form only.
        """
        if isinstance(edges, (str, os.PathLike)):
            warnings.warn("Graph.from_edge_list(path) is deprecated: read files with gnnkit.datasets.read_edge_list(path); "
                          "Graph.from_edge_list takes an edge table", DeprecationWarning, stacklevel=2)
            with open(edges) as f:  # the plain "src dst [weight]" rows; whitespace or commas
                edges = np.loadtxt((line.replace(",", " ") for line in f), comments=list(comments), ndmin=2)
        ids, weight = _edge_table(edges)
        if relabel:
            ids = np.unique(ids, return_inverse=True)[1].reshape(ids.shape)
        elif ids.size and ids.min() < 0:
            raise ValueError(f"edge table: node id {int(ids.min())} is negative; ids must be >= 0 (or pass relabel=True)")
        n = (int(ids.max()) + 1 if ids.size else 0) if num_nodes is None else int(num_nodes)
        ei = torch.from_numpy(np.ascontiguousarray(ids.T))
        w = None if weight is None else torch.from_numpy(weight)
        if not self_loops:
            ei, w = _edges.remove_self_loops(ei, w)
        ei, w = (_edges.to_undirected if undirected else _edges.coalesce)(ei, w, num_nodes=n)
        return cls(edge_index=ei, edge_weight=w, num_nodes=n)


def _edge_table(edges: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``(ids [E, 2] int64, weight [E] float32 or None)`` of an edge table."""
    if hasattr(edges, "to_numpy") and hasattr(edges, "columns"):  # a pandas DataFrame, without importing pandas
        table = edges.to_numpy()
    else:
        table = edges.detach().cpu().numpy() if isinstance(edges, Tensor) else np.asarray(edges)
    if table.ndim != 2 or table.shape[1] not in (2, 3):
        raise ValueError(f"edge table has shape {table.shape}; expected [E, 2] (src, dst) or [E, 3] (src, dst, weight)")
    ids = table[:, :2]
    if not np.issubdtype(ids.dtype, np.integer):
        as_int = ids.astype(np.float64).astype(np.int64)
        if not np.array_equal(as_int, ids.astype(np.float64)):
            raise ValueError("edge table: node ids must be integers; map names to 0..n-1 first")
        ids = as_int
    weight = table[:, 2].astype(np.float32) if table.shape[1] == 3 else None
    return ids.astype(np.int64), weight


def _as_tensor(name: str, value: Any) -> Tensor:
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be a tensor or something torch.as_tensor converts (a numpy array, a list), "
                         f"got a {type(value).__name__}: {err}") from err


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _check_finite(name: str, t: Tensor) -> None:
    if t.dtype.is_floating_point:
        finite = torch.isfinite(t)
        if not bool(finite.all()):
            pos = tuple(int(v) for v in (~finite).nonzero()[0])
            raise ValueError(
                f"{name} has a non-finite value {t[pos].item()} at index {pos}; "
                f"replace NaN/inf (e.g. torch.nan_to_num) before building the Graph"
            )

def _node_count(n: Any) -> int:
    """``num_nodes`` as an int: a whole number (Python, numpy or a 0-d torch
    integer), not a bool, a string (``"1_0"``) or 3.5 (which ``int`` would
    make 3), and below 2**63."""
    if isinstance(n, Tensor):
        n = n.item() if n.numel() == 1 and not n.dtype.is_complex and n.dtype != torch.bool else n
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, float, np.integer, np.floating)):
        raise ValueError(f"num_nodes must be a whole number, got {n!r} ({type(n).__name__})")
    if isinstance(n, (float, np.floating)) and not float(n).is_integer():  # 3.5, nan, inf
        raise ValueError(f"num_nodes must be a whole number, got {n!r}")
    if not -2**63 < int(n) < 2**63:
        raise ValueError(f"num_nodes must be below 2**63, got {n!r}")
    return int(n)
