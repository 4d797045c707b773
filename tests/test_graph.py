import networkx as nx
import pytest
import scipy.sparse as sp
import torch

from gnnkit import Graph
from gnnkit_testing import require


def small_graph(**overrides):
    fields = dict(
        x=torch.randn(4, 3),
        edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]),
        edge_weight=torch.tensor([1.0, 2.0, 3.0, 4.0]),
        y=torch.tensor([0, 1, 0, 1]),
        train_mask=torch.tensor([True, False, False, False]),
    )
    fields.update(overrides)
    return Graph(**fields)


def test_num_nodes_inference():
    assert Graph(edge_index=torch.tensor([[0, 5], [1, 2]])).num_nodes == 6
    assert Graph(x=torch.ones(9, 2), edge_index=torch.tensor([[0], [1]])).num_nodes == 9
    empty = Graph(x=torch.ones(3, 2), edge_index=torch.empty(2, 0, dtype=torch.long))
    assert empty.num_nodes == 3 and empty.num_edges == 0


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"edge_index": torch.tensor([[0, 1], [1, 7]])}, r"edge_index\[1, 1\] = 7 is out of range"),
        ({"edge_index": torch.tensor([[0, -1], [1, 2]])}, r"edge_index\[0, 1\] = -1"),
        ({"edge_index": torch.tensor([[0.0, 1.0], [1.0, 2.0]])}, "integer"),
        ({"edge_index": torch.tensor([[0, 1], [1, 2], [2, 3]])}, r"shape \[2, E\].*transposed"),
        ({"edge_weight": torch.ones(3)}, r"edge_weight must have shape \[E\] = \[4\]"),
        ({"edge_weight": torch.tensor([1.0, float("nan"), 1.0, 1.0])}, "edge_weight has a non-finite value nan at index \\(1,\\)"),
        ({"x": torch.tensor([[1.0, 2, 3]] * 3 + [[float("inf"), 0, 0]])}, "x has a non-finite value inf at index \\(3, 0\\)"),
        ({"x": torch.ones(5, 3), "num_nodes": 4}, "x has 5 rows but the graph has num_nodes = 4"),
        ({"train_mask": torch.tensor([1, 0, 0, 0])}, "train_mask must be a boolean tensor of shape \\[4\\]"),
        ({"val_mask": torch.ones(3, dtype=torch.bool)}, "val_mask must be a boolean"),
        ({"y": torch.tensor([0, 1])}, "y must have one entry per node"),
    ],
)
def test_validation_errors_name_field_and_value(overrides, message):
    with pytest.raises(ValueError, match=message):
        small_graph(**overrides)


def test_explicit_num_nodes_too_small():
    with pytest.raises(ValueError, match="num_nodes = 2"):
        Graph(edge_index=torch.tensor([[0, 2], [1, 1]]), num_nodes=2)


def test_csr_and_csc_views_are_cached_and_correct():
    g = small_graph()
    csr = g.csr()
    assert csr is g.csr()
    dense = torch.zeros(4, 4)
    dense[g.edge_index[1], g.edge_index[0]] = g.edge_weight
    torch.testing.assert_close(csr.to_dense(), dense)
    torch.testing.assert_close(g.csc().to_dense(), dense.t())
    assert torch.equal(g.edge_weight[csr.perm], csr.value)
    g.edge_index[0, 0] = 2  # an in-place edit must invalidate the cache
    assert g.csr() is not csr


def test_to_device_keeps_fields():
    g = small_graph().to("cpu")
    assert g.num_nodes == 4 and g.train_mask is not None and g.edge_weight.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_networkx_round_trip():
    nxg = nx.karate_club_graph()
    g = Graph.from_networkx(nxg)
    assert g.num_nodes == 34 and g.num_edges == 2 * nxg.number_of_edges()
    back = g.to_networkx(directed=False)
    assert set(map(frozenset, back.edges())) == set(map(frozenset, nxg.edges()))
    weighted = Graph.from_networkx(nxg, weight="weight")
    assert weighted.edge_weight is not None and weighted.edge_weight.numel() == g.num_edges
    with pytest.raises(ValueError, match="no attribute 'cost'"):
        Graph.from_networkx(nxg, weight="cost")


def test_scipy_round_trip():
    g = small_graph()
    m = g.to_scipy()
    assert m.shape == (4, 4) and m.nnz == 4
    back = Graph.from_scipy(m)
    assert torch.equal(back.edge_index, g.edge_index) and torch.allclose(back.edge_weight, g.edge_weight)
    with pytest.raises(ValueError, match="square"):
        Graph.from_scipy(sp.coo_matrix((2, 3)))


def test_pyg_round_trip():
    require("torch_geometric")
    g = small_graph()
    data = g.to_pyg()
    back = Graph.from_pyg(data)
    for name in ("x", "edge_index", "edge_weight", "y", "train_mask"):
        assert torch.equal(getattr(back, name), getattr(g, name))


def test_fields_accept_numpy_arrays_and_lists():
    import numpy as np

    g = Graph(x=np.random.rand(3, 2), edge_index=np.array([[0, 1], [1, 2]]), edge_weight=[0.5, 2.0],
              y=[0, 1, 0], train_mask=np.array([True, False, True]))
    assert g.num_nodes == 3 and isinstance(g.x, torch.Tensor) and g.x.dtype == torch.float64
    assert g.edge_index.dtype == torch.long and g.y.tolist() == [0, 1, 0] and g.train_mask.dtype == torch.bool
    assert Graph(x=[[1.0], [2.0]]).num_nodes == 2  # no num_nodes given: inferred from the converted x
    with pytest.raises(ValueError, match="x must be a tensor or something torch.as_tensor converts"):
        Graph(x=object())


def test_from_edge_list_takes_tables():
    import numpy as np

    g = Graph.from_edge_list(np.array([[0, 1], [1, 2], [0, 1]]))
    assert g.num_nodes == 3 and g.num_edges == 2  # duplicates merged
    w = Graph.from_edge_list(torch.tensor([[0.0, 1.0, 0.5], [1.0, 2.0, 1.5]]), undirected=True)
    assert w.num_edges == 4 and sorted(w.edge_weight.tolist()) == [0.5, 0.5, 1.5, 1.5]
    r = Graph.from_edge_list([[10, 20], [20, 30]], relabel=True)
    assert r.num_nodes == 3 and r.edge_index.tolist() == [[0, 1], [1, 2]]
    with pytest.raises(ValueError, match=r"expected \[E, 2\]"):
        Graph.from_edge_list(np.zeros((2, 4)))


def test_from_edge_list_path_is_deprecated_and_graph_imports_no_dataset_code(tmp_path):
    import ast
    import inspect

    import gnnkit.graph

    path = tmp_path / "g.txt"
    path.write_text("# Directed graph\n% also a comment\n0\t1\n1 2\n2,0\n0 1\n3 3\n")
    with pytest.warns(DeprecationWarning, match="gnnkit.datasets.read_edge_list"):
        assert Graph.from_edge_list(path).num_edges == 4
    imported = {node.module for node in ast.walk(ast.parse(inspect.getsource(gnnkit.graph)))
                if isinstance(node, ast.ImportFrom)}
    assert not any(m.startswith(("gnnkit.datasets", "gnnkit.nn", "gnnkit.train", "gnnkit.cli")) for m in imported)


def test_fields_that_would_be_silently_changed_are_refused():
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="num_nodes must be a whole number, got 3.5"):
        Graph(edge_index=ei, num_nodes=3.5)  # int(3.5) would drop a node
    assert Graph(edge_index=ei, num_nodes=3.0).num_nodes == 3
    with pytest.raises(ValueError, match=r"x is a torch sparse tensor .*x.to_dense\(\)"):
        Graph(x=torch.eye(3).to_sparse(), edge_index=ei)
    with pytest.raises(ValueError, match="x must be real"):
        Graph(x=torch.ones(3, 2, dtype=torch.complex64), edge_index=ei)
