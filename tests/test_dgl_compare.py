"""benchmarks/dgl_compare.py: arguments, the printed skip without DGL, the GraphBolt stand-in, the case and
the gnnkit side (DGL itself is not installed in the test environment; see docs/performance.md for the run)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import dgl_compare as bench  # noqa: E402


@pytest.fixture
def no_dgl_modules(monkeypatch):
    """Remove every dgl module for the test and put back the previous ones afterwards."""
    saved = {k: v for k, v in sys.modules.items() if k == "dgl" or k.startswith("dgl.")}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in [k for k in sys.modules if k == "dgl" or k.startswith("dgl.")]:
        del sys.modules[name]
    sys.modules.update(saved)


def test_arguments():
    args = bench.parse_args([])
    assert (args.nodes, args.edges, args.features, args.heads) == (100_000, 2_000_000, 64, 4)
    assert args.layers == list(bench.LAYERS) and args.threads == 1 and args.repeats == 7
    args = bench.parse_args(["--quick", "--layers", "gcn,sage", "--threads", "2"])
    assert (args.nodes, args.edges, args.repeats) == (10_000, 200_000, 3) and args.layers == ["gcn", "sage"]
    for bad in (["--layers", "gin"], ["--repeats", "0"], ["--features", "30", "--heads", "4"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_without_dgl_the_benchmark_prints_why_it_is_skipped(monkeypatch, capsys, no_dgl_modules):
    monkeypatch.setitem(sys.modules, "dgl", None)  # makes `import dgl` fail as if it were not installed
    result = bench.main(["--quick", "--no-memory"])
    assert result["status"] == "skipped" and "dgl is not installed" in result["reason"]
    out = capsys.readouterr().out
    assert out.startswith("dgl_compare: skipped: dgl is not installed") and "bench extra" in out


def test_a_missing_graphbolt_library_is_stood_in_for(monkeypatch, tmp_path, no_dgl_modules):
    package = tmp_path / "dgl"
    (package / "graphbolt").mkdir(parents=True)
    (package / "__init__.py").write_text("from . import graphbolt\n__version__ = '0.test'\n")
    (package / "graphbolt" / "__init__.py").write_text(
        "raise FileNotFoundError('Cannot find DGL C++ graphbolt library at libgraphbolt_pytorch_9.9.so')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    dgl, note = bench.import_dgl()
    assert dgl is not None and dgl.__version__ == "0.test"
    assert note.startswith("GraphBolt stubbed") and torch.__version__ in note
    assert isinstance(dgl.graphbolt.FusedCSCSamplingGraph, type)  # a name looked up at import resolves
    with pytest.raises(AttributeError):
        dgl.graphbolt.__file__  # noqa: B018 - module machinery still sees a plain module


def test_another_import_error_is_the_skip_reason(monkeypatch, tmp_path, no_dgl_modules):
    (tmp_path / "dgl").mkdir()
    (tmp_path / "dgl" / "__init__.py").write_text("raise ImportError('libdgl.so: cannot open shared object')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    dgl, reason = bench.import_dgl()
    assert dgl is None and "libdgl.so" in reason


def test_the_case_is_symmetric_loop_free_with_gcn_weights():
    case = bench.make_case(200, 2000, 8, seed=0)
    ei = case["edge_index"]
    assert bool((ei[0] != ei[1]).all())
    forward = sorted(map(tuple, ei.t().tolist()))
    assert forward == sorted(map(tuple, ei.flip(0).t().tolist()))
    looped, w = case["looped"], case["weight"]
    assert looped.size(1) == ei.size(1) + 200
    deg = torch.bincount(looped[1], minlength=200).float()
    dense = torch.zeros(200, 200).index_put_((looped[1], looped[0]), w, accumulate=True)
    expected = torch.zeros(200, 200).index_put_((looped[1], looped[0]), torch.ones(looped.size(1)),
                                                accumulate=True)
    expected = expected / deg.sqrt()[:, None] / deg.sqrt()[None, :]
    assert torch.allclose(dense, expected)


@pytest.mark.parametrize("layer", bench.LAYERS)
def test_gnnkit_side_takes_the_shared_weights_and_matches_its_formula(layer):
    case = bench.make_case(300, 3000, 8, seed=0)
    mod, forward = bench.build(layer, "gnnkit", case, features=8, heads=2, seed=0)
    out = forward()
    assert out.shape == (300, 8)
    if layer in ("gcn", "gcn-weighted"):  # both are  Â X W + b  with the normalised loop-added adjacency
        looped, w = case["looped"], case["weight"]
        adj = torch.zeros(300, 300).index_put_((looped[1], looped[0]), w, accumulate=True)
        weights = bench.layer_weights(layer, 8, 2, seed=0)
        expected = adj @ case["x"] @ weights["lin.weight"].t() + weights["bias"]
        assert torch.allclose(out, expected, atol=1e-5)
    bench.step_of(mod, forward)()
    assert all(p.grad is not None for p in mod.parameters())


def test_the_memory_worker_reports_resident_and_growth():
    args = bench.parse_args(["--nodes", "500", "--edges", "5000", "--features", "8", "--heads", "2"])
    args.worker = ("sage", "gnnkit")
    row = bench.worker(args)
    assert row["resident_before_bytes"] > 0 and row["step_growth_bytes"] >= 0 and row["step_allocated_bytes"] > 0
