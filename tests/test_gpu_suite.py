"""benchmarks/gpu_suite.py: the parts a CPU can run (arguments, skips with reasons, the correctness check, output).

The correctness check runs the Triton kernels in triton's CPU interpreter
here (``TRITON_INTERPRET=1``, set by conftest before the kernels are imported)
and on the GPU itself when CUDA is present.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import sys
import time
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import gpu_suite as suite  # noqa: E402
from gnnkit.ops import triton as triton_ops  # noqa: E402

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
TINY = (40, 150, 8, 300)  # nodes, edges, features, hub degree: the hub takes the chunked (long-row) kernel path


@pytest.fixture
def kernels():
    """The Triton kernels, interpreted on a CPU (re-decorated if imported earlier without the interpreter)."""
    assert triton_ops.is_available(), "triton is missing: `pip install -e .[dev]` installs it"
    if DEVICE.type == "cpu" and not triton_ops.interpreted():
        importlib.reload(triton_ops._kernels())
    return "triton"


def test_arguments():
    args = suite.parse_args([])
    assert args.parts == list(suite.PARTS) and not args.quick
    args = suite.parse_args(["--quick", "--parts", "lightgcn", "correctness", "--out", "somewhere"])
    assert args.parts == ["lightgcn", "correctness"] and args.quick and args.out == Path("somewhere")
    for bad in (["--parts", "nonsense"], ["--repeats", "0"], ["--max-seconds", "-1"]):
        with pytest.raises(SystemExit):
            suite.parse_args(bad)


def test_out_defaults_to_the_OUT_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("OUT", str(tmp_path))
    assert suite.parse_args([]).out == tmp_path


def test_large_parts_skip_without_cuda_and_say_why(tmp_path):
    parts = ["bandwidth", "gcn_epoch", "bf16", "sage_epoch", "lightgcn"]
    report = suite.main(["--device", "cpu", "--parts", *parts, "--out", str(tmp_path), "--commit", "abc123"])
    for name in parts:
        assert report["parts"][name]["status"] == "skipped"
        assert "needs CUDA" in report["parts"][name]["reason"]
    saved = json.loads((tmp_path / "gpu_suite.json").read_text())
    assert saved["commit"] == "abc123" and list(saved["parts"]) == parts
    text = (tmp_path / "gpu_suite.md").read_text()
    assert text.count("skipped: needs CUDA") == len(parts)
    assert all(g["status"] == "not measured" for g in saved["goals"])


def test_a_spent_budget_skips_the_remaining_parts(tmp_path):
    report = suite.main(["--device", "cpu", "--parts", "bandwidth", "--max-seconds", "5", "--out", str(tmp_path)])
    assert report["parts"]["bandwidth"]["status"] == "skipped"
    assert "time budget" in report["parts"]["bandwidth"]["reason"]


def test_correctness_passes_on_the_triton_kernels(kernels):
    rows = suite.check_layers(DEVICE, kernels, ["fp32", "bf16"], TINY)
    assert {r["layer"] for r in rows} == {"GCNConv", "SAGEConv", "GATConv", "LGConv", "GraphConv"}
    for r in rows:
        assert r["passed"], r
        if r["dtype"] == "fp32":
            assert r["forward_error"] < 1e-5 and r["grad_error"] < 1e-5
        else:
            assert "cpu_forward_error" in r  # the CPU's own error at that dtype, for scale


def test_correctness_catches_a_wrong_kernel(kernels, monkeypatch):
    exact = triton_ops.spmm
    monkeypatch.setattr(triton_ops, "spmm", lambda *a, **k: exact(*a, **k) * 1.001)  # 0.1 % off
    rows = suite.check_layers(DEVICE, kernels, ["fp32"], TINY)
    assert not any(r["passed"] for r in rows)
    assert all(1e-4 < r["forward_error"] < 1e-2 for r in rows)


def test_relative_error():
    ref = torch.tensor([1.0, -4.0, 2.0])
    assert suite.relative_error(ref.clone(), ref) == 0.0
    assert suite.relative_error(ref + torch.tensor([0.0, 0.0, 0.4]), ref) == pytest.approx(0.1)
    assert suite.relative_error(torch.tensor([1.0, float("nan"), 2.0]), ref) == float("inf")
    assert suite.relative_error(ref[:2], ref) == float("inf")


def test_alternate_stops_at_the_cap_and_reports_failures():
    calls = []
    ctx = suite.Context(device=torch.device("cpu"), sizes=suite.QUICK, repeats=5, deadline=time.monotonic() - 1)

    def boom():
        raise RuntimeError("CUDA out of memory. Tried to allocate 60 GiB")

    stats = suite.alternate({"ok": lambda: calls.append(1), "boom": boom}, ctx)
    assert stats["ok"]["repeats"] == 1 and len(calls) == 2  # warm-up + one timed round, then the cap
    assert "time cap" in stats["ok"]["note"]
    assert stats["boom"]["repeats"] == 0 and "out of memory" in stats["boom"]["note"]


def test_ranking_evaluation_by_hand():
    # 2 users, 4 items; user 0 trained on item 0, tests on items 1 and 3; user 1 tests on item 2.
    evaluate = suite.RankingEval(2, 4, (torch.tensor([0]), torch.tensor([0])),
                                 (torch.tensor([0, 0, 1]), torch.tensor([1, 3, 2])), "cpu", k=2)
    users = torch.tensor([[1.0], [1.0]])
    items = torch.tensor([[9.0], [3.0], [2.0], [1.0]])  # item 0 ranks first but is masked for user 0
    # user 0: top-2 of items 1..3 = {1, 2}: 1 of 2 test items; user 1: top-2 = {0, 1}: 0 of 1
    assert evaluate(users, items) == pytest.approx((0.5 + 0.0) / 2)


def test_bipartite_interactions_are_distinct_and_split():
    tu, ti, su, si = suite.bipartite_interactions(40, 60, 900, seed=3)
    users, items = torch.cat([tu, su]), torch.cat([ti, si])
    assert users.numel() == 900 and torch.unique(users * 60 + items).numel() == 900
    assert int(users.max()) < 40 and int(items.max()) < 60
    assert 0.1 < su.numel() / 900 < 0.3
    with pytest.raises(ValueError, match="do not fit"):
        suite.bipartite_interactions(2, 2, 5)


def test_goals_are_judged_on_a_gpu_only():
    parts = {"bandwidth": {"rows": [
        {"graph": "uniform", "dtype": "fp32", "impl": "gnnkit triton", "copy_fraction": 0.8, "gbps": 3000,
         "vs_torch_sparse": 1.4},
        {"graph": "power-law", "dtype": "fp32", "impl": "gnnkit triton", "copy_fraction": 0.5, "gbps": 2000,
         "vs_torch_sparse": 0.9}]},
        "gcn_epoch": {"rows": [{"contender": "gnnkit", "speedup_vs_pyg": 2.5}]}}
    status = {g["goal"]: g["status"] for g in suite.goals(parts, on_gpu=True)}
    assert status["Triton SpMM >= 70% of copy bandwidth, uniform, fp32"] == "met"
    assert status["Triton SpMM >= 70% of copy bandwidth, power-law, fp32"] == "missed"
    assert status["Triton SpMM >= cuSPARSE, power-law, fp32"] == "missed"
    assert status["full-batch GCN epoch >= 2x PyG (best PyG path)"] == "met"
    assert status["mini-batch SAGE epoch >= 2x PyG"] == "not measured"
    on_cpu = {g["goal"]: g["status"] for g in suite.goals(parts, on_gpu=False)}
    assert on_cpu["full-batch GCN epoch >= 2x PyG (best PyG path)"] == "not judged (CPU run)"


def test_quick_lightgcn_without_pyg_writes_json_and_markdown(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch_geometric", None)  # as if PyG were not installed
    monkeypatch.setattr(suite, "QUICK", dataclasses.replace(suite.QUICK, gowalla=(30, 50, 400), rec_batch=128))
    report = suite.main(["--quick", "--device", "cpu", "--parts", "lightgcn", "--repeats", "1", "--out", str(tmp_path)])
    part = report["parts"]["lightgcn"]
    assert part["status"] == "ok", part
    rows = {r["contender"]: r for r in part["rows"]}
    assert rows["gnnkit"]["epoch"]["repeats"] == 1 and 0.0 <= rows["gnnkit"]["recall_at_20"] <= 1.0
    assert "torch_geometric is not importable" in rows["pyg"]["note"]
    saved = json.loads((tmp_path / "gpu_suite.json").read_text())
    assert saved["parts"]["lightgcn"]["rows"][0]["contender"] == "gnnkit"
    text = (tmp_path / "gpu_suite.md").read_text()
    assert "| contender | epoch min s" in text and "torch_geometric is not importable" in text
