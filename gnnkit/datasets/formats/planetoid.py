"""Planetoid citation graphs (Cora, CiteSeer, PubMed) as a ``Graph``.

Files (Yang et al., 2016, https://github.com/kimiyoung/planetoid):
``ind.<prefix>.{x,tx,allx,y,ty,ally,graph,test.index}``. All but
``test.index`` are Python 2 pickles; they are read with a restricted unpickler
that admits only the numpy / scipy.sparse / container types these files need.

Conventions follow torch_geometric's ``read_planetoid_data`` exactly:
``x = [allx; tx]`` with test rows moved to their ``test.index`` positions, test
ids missing from ``test.index`` (CiteSeer's isolated nodes) padded with zero
rows and label 0, edges from the ``graph`` adjacency dict symmetrised and
deduplicated without self-loops, masks = the public split (train: the first
``len(y)`` nodes, val: the next 500, test: ``test.index``). Features are not
normalised here.
"""
from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path

import numpy as np
import torch

from gnnkit.datasets.formats._text import read_bytes, rows, tokenize
from gnnkit.graph import Graph
from gnnkit.ops.edges import remove_self_loops, to_undirected

PLANETOID_FILES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")

# (module, name) pairs the Planetoid pickles need, as written by Python 2 and
# by Python 3 with numpy 1.x / 2.x and scipy before / after 1.8.
_SAFE_GLOBALS = frozenset(
    [(m, "_reconstruct") for m in ("numpy.core.multiarray", "numpy._core.multiarray")]
    + [(m, "scalar") for m in ("numpy.core.multiarray", "numpy._core.multiarray")]
    + [(m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")]
    + [("numpy", "ndarray"), ("numpy", "dtype")]
    + [(m, c) for m in ("scipy.sparse.csr", "scipy.sparse._csr") for c in ("csr_matrix", "csr_array")]
    + [(m, c) for m in ("scipy.sparse.csc", "scipy.sparse._csc") for c in ("csc_matrix", "csc_array")]
    + [(m, c) for m in ("scipy.sparse.coo", "scipy.sparse._coo") for c in ("coo_matrix", "coo_array")]
    + [("collections", "defaultdict"), ("collections", "OrderedDict")]
    + [(m, c) for m in ("builtins", "__builtin__") for c in ("list", "dict", "set", "tuple", "int", "float")]
)


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it (bytes stored as latin-1 text), and nothing else."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise ValueError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}): only latin-1 text is "
                         f"expected in a Planetoid file")
    return text.encode("latin-1")


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` (old protocols' way to build a plain class instance), for object bases only."""
    if base is not object or state is not None:
        raise ValueError("refusing copyreg._reconstructor with a base other than object")
    return object.__new__(cls)


_HELPERS = {("_codecs", "encode"): _latin1_bytes,
            ("copy_reg", "_reconstructor"): _reconstructor, ("copyreg", "_reconstructor"): _reconstructor,
            ("__builtin__", "object"): object, ("builtins", "object"): object}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only ``_SAFE_GLOBALS``; anything else (a
    function, ``os.system``, an arbitrary class) is refused before it runs."""

    def __init__(self, file, source: str):
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str):
        if (module, name) in _HELPERS:  # what Python 3 pickles of protocol 0-2 need, narrowed to safe uses
            return _HELPERS[module, name]
        if (module, name) not in _SAFE_GLOBALS:
            raise ValueError(
                f"refusing to unpickle {self._source}: it references {module}.{name}, which is not one of the "
                f"numpy / scipy.sparse / container types a Planetoid file holds. The file is corrupt or was "
                f"tampered with; re-download it from the catalog URL"
            )
        return super().find_class(module, name)


def safe_unpickle(data: bytes, source: str = "<bytes>"):
    """Unpickle ``data`` admitting only the types Planetoid files need.

    Raises:
        ValueError: "refusing to unpickle ..." for any other global, or when
            the data is not a readable pickle.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's deprecated-module notices for old pickles
        try:
            return _RestrictedUnpickler(io.BytesIO(data), source).load()
        except ValueError:
            raise
        except Exception as err:  # truncated or not a pickle at all
            raise ValueError(f"{source} is not a readable pickle ({type(err).__name__}: {err}); re-download it") from err


def _matrix(obj, source: str) -> np.ndarray:
    if hasattr(obj, "toarray"):
        obj = obj.toarray()
    arr = np.asarray(obj)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{source} holds {type(obj).__name__} of shape {arr.shape}, expected a 2-D numeric matrix")
    return arr.astype(np.float32)


def _test_index(source: Path, n_train_all: int, n_test: int) -> torch.Tensor:
    """The ids of ``test.index``, checked against the ``allx`` / ``tx`` row counts."""
    tokens = tokenize(read_bytes(source), str(source), comments=b"")
    rows(tokens, 1)  # one id per line
    test_index = torch.from_numpy(tokens.to_int(what="test node id"))
    if n_test != test_index.numel():
        raise ValueError(f"{source} lists {test_index.numel()} ids but tx has {n_test} rows")
    if bool((test_index < n_train_all).any()) or test_index.unique().numel() != test_index.numel():
        raise ValueError(f"{source}: test ids must be distinct and >= {n_train_all} (the allx rows)")
    span = int(test_index.max() - test_index.min()) + 1
    if span > 2 * test_index.numel() + 1000:  # CiteSeer pads 15 of 1015: a far larger gap is a stray id
        raise ValueError(f"{source}: test ids run from {int(test_index.min())} to {int(test_index.max())}, a span "
                         f"of {span} for {test_index.numel()} ids; the file is corrupt, re-download it")
    return test_index


def _edges(graph: dict, n: int, source: Path) -> torch.Tensor:
    """The adjacency dict as ``[2, E]`` symmetric edges without self-loops,
    or ``ValueError`` naming the entry that refers outside ``0..n-1``."""
    src = [int(k) for k, nbrs in graph.items() for _ in nbrs]
    dst = [int(v) for nbrs in graph.values() for v in nbrs]
    ei = torch.tensor([src, dst], dtype=torch.long).reshape(2, -1)
    bad = (ei < 0) | (ei >= n)
    if bool(bad.any()):
        col = int(bad.any(0).nonzero()[0, 0])
        node, wrong = int(ei[0, col]), int(ei[1, col] if bad[1, col] else ei[0, col])
        raise ValueError(f"{source}: the adjacency entry of node {node} refers to node {wrong}, outside "
                         f"0..{n - 1}; the file is corrupt or from another dataset, re-download it")
    ei, _ = remove_self_loops(ei)
    return to_undirected(ei, num_nodes=n)[0]


def read_planetoid(folder: str | Path, prefix: str) -> Graph:
    """Read ``<folder>/ind.<prefix>.*`` into a ``Graph`` with the public split.

    Args:
        folder: directory holding the eight ``ind.<prefix>.*`` files.
        prefix: dataset prefix, e.g. ``"cora"``, ``"citeseer"``, ``"pubmed"``.

    Shapes:
        x ``[N, F]`` float32 (as published, not normalised), y ``[N]`` long,
        edge_index ``[2, E]`` symmetric, sorted, no duplicates or self-loops.
    """
    folder = Path(folder)
    prefix = prefix.lower()
    path = {name: folder / f"ind.{prefix}.{name}" for name in PLANETOID_FILES}
    missing = [p.name for p in path.values() if not p.is_file()]
    if missing:
        raise ValueError(f"{folder} lacks Planetoid file(s) {', '.join(missing)}; expected all of "
                         f"ind.{prefix}.{{{','.join(PLANETOID_FILES)}}}")
    loaded = {name: safe_unpickle(read_bytes(path[name], text=False), str(path[name]))
              for name in PLANETOID_FILES[:-1]}
    x, tx, allx = (_matrix(loaded[k], str(path[k])) for k in ("x", "tx", "allx"))
    y, ty, ally = (_matrix(loaded[k], str(path[k])) for k in ("y", "ty", "ally"))
    graph = loaded["graph"]
    if not isinstance(graph, dict):
        raise ValueError(f"{path['graph']} holds a {type(graph).__name__}, expected a dict node -> neighbour list")

    if allx.shape[0] != ally.shape[0] or tx.shape[0] != ty.shape[0]:
        raise ValueError(f"{folder}: allx/ally have {allx.shape[0]}/{ally.shape[0]} rows and tx/ty "
                         f"{tx.shape[0]}/{ty.shape[0]}; each pair must match")
    test_index = _test_index(path["test.index"], allx.shape[0], tx.shape[0])
    sorted_test, _ = test_index.sort()

    # Test ids missing from test.index (isolated nodes) get zero rows, as in torch_geometric.
    span = int(test_index.max() - test_index.min()) + 1
    offset = sorted_test - test_index.min()
    tx_ext = torch.zeros(span, tx.shape[1])
    tx_ext[offset] = torch.from_numpy(tx)
    ty_ext = torch.zeros(span, ty.shape[1])
    ty_ext[offset] = torch.from_numpy(ty)

    feats = torch.cat([torch.from_numpy(allx), tx_ext])
    feats[test_index] = feats[sorted_test]
    labels = torch.cat([torch.from_numpy(ally), ty_ext]).argmax(dim=1)
    labels[test_index] = labels[sorted_test]
    n = labels.numel()

    ei = _edges(graph, n, path["graph"])

    def mask(index: torch.Tensor) -> torch.Tensor:
        m = torch.zeros(n, dtype=torch.bool)
        m[index] = True
        return m

    n_train = y.shape[0]
    return Graph(
        x=feats, edge_index=ei, y=labels,
        train_mask=mask(torch.arange(n_train)),
        val_mask=mask(torch.arange(n_train, min(n_train + 500, n))),
        test_mask=mask(test_index),
        num_nodes=n,
    )
