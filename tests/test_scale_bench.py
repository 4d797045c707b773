"""benchmarks/scale.py: arguments, the log-log slope fit, skip predictions, the summary, and a tiny sweep."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common, scale  # noqa: E402


def test_arguments_default_to_the_issue_sweep_and_keep_the_one_point_run():
    args = scale.parse_args([])
    assert not args.sweep and (args.nodes, args.edges) == (1_000_000, 20_000_000)
    assert args.sizes == [250_000, 1_000_000, 4_000_000, 16_000_000, 64_000_000]
    assert args.thread_counts == [1, 2] and args.models == ["gcn", "sage"]
    quick = scale.parse_args(["--quick"])
    assert (quick.nodes, quick.edges) == (100_000, 2_000_000)
    args = scale.parse_args(["--sweep", "--sizes", "0.25M,2k", "--thread-counts", "2", "--models", "sage"])
    assert args.sizes == [250_000, 2_000] and args.thread_counts == [2] and args.models == ["sage"]


@pytest.mark.parametrize("bad", [["--models", "gat"], ["--sizes", "lots"], ["--thread-counts", "0"],
                                 ["--memory-fraction", "2"], ["--degree", "0"]])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(SystemExit):
        scale.parse_args(bad)


def test_parse_count():
    assert common.parse_count("0.25M") == 250_000
    assert common.parse_count("16M") == 16_000_000
    assert common.parse_count("2k") == 2_000
    assert common.parse_count("123") == 123
    for bad in ("", "M", "1.5", "-3", "x1"):
        with pytest.raises(ValueError):
            common.parse_count(bad)


def test_loglog_slope_recovers_the_exponent():
    edges = [250e3, 1e6, 4e6, 16e6]
    assert common.fit_loglog_slope(edges, [3e-6 * e for e in edges]) == pytest.approx(1.0)
    assert common.fit_loglog_slope(edges, [2.0 * e ** 1.2 for e in edges]) == pytest.approx(1.2)
    # noise that alternates around a linear law leaves the slope near 1
    noisy = [1e-6 * e * f for e, f in zip(edges, (1.1, 0.9, 1.1, 0.9))]
    assert abs(common.fit_loglog_slope(edges, noisy) - 1.0) < 0.1
    with pytest.raises(ValueError):
        common.fit_loglog_slope([1e6], [1.0])
    with pytest.raises(ValueError):
        common.fit_loglog_slope([1e6, 2e6], [1.0, 0.0])


def _point(model, threads, edges, seconds, peak_mib=1000.0):
    return {"model": model, "threads": threads, "edges": edges, "nodes": edges // 20, "epoch_s": seconds,
            "peak_rss_mib": peak_mib, "build_s": 0.1 * seconds, "step_growth_mib": 10.0}


def test_summary_gives_slopes_and_the_two_thread_speedup():
    points = [_point(m, t, e, e * 1e-6 * (1.0 if t == 1 else 0.6))
              for m in ("gcn", "sage") for t in (1, 2) for e in (1_000_000, 4_000_000)]
    summary = scale.summarise(points)
    assert set(summary["slopes"]) == {"gcn, 1 thread", "gcn, 2 threads", "sage, 1 thread", "sage, 2 threads"}
    assert all(s == pytest.approx(1.0) for s in summary["slopes"].values())
    assert summary["slopes_largest_two"] == summary["slopes"]  # two sizes only: the same fit
    assert summary["speedups"]["gcn"][4_000_000] == {"threads": 2, "speedup": pytest.approx(1 / 0.6)}


def test_the_largest_two_slope_shows_growth_settling_to_linear():
    sizes = (250_000, 1_000_000, 4_000_000, 16_000_000)
    seconds = (0.5, 6.0, 30.0, 120.0)  # superlinear at first, then linear
    summary = scale.summarise([_point("sage", 1, e, t) for e, t in zip(sizes, seconds)])
    assert summary["slopes"]["sage, 1 thread"] > 1.2
    assert summary["slopes_largest_two"]["sage, 1 thread"] == pytest.approx(1.0)
    assert "slopes_vs_sampled_edges" not in summary  # points without the sampled counts
    points = [{**_point("sage", 1, e, t), "sampled_edges": int(t * 1e6), "sampled_nodes": int(t ** 2 * 1e5)}
              for e, t in zip(sizes, seconds)]
    summary = scale.summarise(points)
    assert summary["slopes_vs_sampled_edges"]["sage, 1 thread"] == pytest.approx(1.0, abs=1e-3)
    assert summary["slopes_vs_sampled_nodes"]["sage, 1 thread"] == pytest.approx(0.5, abs=1e-3)


def test_a_point_predicted_not_to_fit_is_skipped_with_the_reason():
    args = scale.parse_args(["--sweep", "--memory-fraction", "0.5", "--max-point-seconds", "100"])
    previous = _point("gcn", 1, 16_000_000, seconds=2.0, peak_mib=4096)
    assert scale.predict_skip(None, 64_000_000, args) is None  # nothing measured yet: run it
    reason = scale.predict_skip(previous, 64_000_000, args, available=20 * 2**30)
    assert reason is not None and "predicted peak 20.0 GiB" in reason and "20.0 GiB available" in reason
    assert scale.predict_skip(previous, 64_000_000, args, available=64 * 2**30) is None
    slow = _point("sage", 1, 16_000_000, seconds=60.0, peak_mib=100)
    reason = scale.predict_skip(slow, 64_000_000, args, available=64 * 2**30)
    assert reason is not None and "--max-point-seconds 100" in reason


@pytest.mark.slow
def test_a_tiny_sweep_measures_each_point_in_its_own_process(tmp_path):
    report = scale.main(["--sweep", "--sizes", "10k,20k", "--thread-counts", "1", "--degree", "10",
                         "--repeats", "1", "--hidden", "8", "--features", "8", "--fanout", "3,2",
                         "--batch-size", "256", "--point-runs", "2", "--out", str(tmp_path), "--plot",
                         str(tmp_path / "scale.png")])
    assert [(p["model"], p["edges"]) for p in report["points"]] == [
        ("gcn", 10_000), ("gcn", 20_000), ("sage", 10_000), ("sage", 20_000)]
    assert all(p["sampled_edges"] > 0 for p in report["points"] if p["model"] == "sage")
    for p in report["points"]:
        assert p["epoch_s"] > 0 and p["peak_rss_mib"] > 0 and p["nodes"] == 1000 * (p["edges"] // 10_000)
    assert set(report["slopes"]) == {"gcn, 1 thread", "sage, 1 thread"}
    # torch's own sparse product on the same graphs, the floor the GCN epoch's growth is read against
    assert all(p["spmm_s"] > 0 for p in report["points"] if p["model"] == "gcn")
    assert set(report["slopes_spmm"]) == {"gcn, 1 thread"}
    for p in report["points"]:  # two fresh processes per point; the point is the one with the median (upper) time
        times = p["process_epoch_s"]
        assert len(times) == 2 and times == sorted(times) and p["epoch_s"] == times[1]
    assert all(p["malloc"] == "retain" for p in report["points"])  # as the gnnkit command runs (Linux)
    saved = json.loads((tmp_path / "scale.json").read_text())
    assert saved["points"] == report["points"] and (tmp_path / "scale.png").stat().st_size > 0
    assert "log-log slope" in (tmp_path / "scale.md").read_text()


def test_a_saved_sweep_is_reported_again_without_measuring(tmp_path, capsys):
    points = [_point("gcn", t, e, e * 1e-7 / t) for t in (1, 2) for e in (1_000_000, 4_000_000)]
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({"environment": "then", "settings": {"degree": 20}, "points": points,
                                 "skipped": [{"model": "gcn", "threads": 1, "edges": 64_000_000, "reason": "r"}]}))
    result = scale.main(["--report", str(saved), "--out", str(tmp_path / "again")])
    assert result["points"] == points and result["environment"] == "then"
    assert result["speedups"]["gcn"][4_000_000]["speedup"] == pytest.approx(2.0)
    out = capsys.readouterr().out
    assert "log-log slope of time vs edges, gcn, 1 thread: 1.000" in out and "skipped gcn 64,000,000" in out
    assert json.loads((tmp_path / "again" / "scale.json").read_text())["settings"] == {"degree": 20}


def test_a_failed_point_is_reported_and_the_sweep_goes_on(monkeypatch, tmp_path, capsys):
    import subprocess

    def fake_run(script, argv, env=None):
        edges, threads, model = int(argv[1]), int(argv[2]), argv[3]
        assert env == {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        if edges == 2_000:
            raise subprocess.CalledProcessError(-9, [script], stderr="Killed")
        return {**_point(model, threads, edges, edges * 1e-6), "load_average": 1.0}

    monkeypatch.setattr(scale, "run_isolated", fake_run)
    result = scale.main(["--sweep", "--sizes", "1k,2k,4k", "--thread-counts", "1", "--models", "gcn",
                         "--out", str(tmp_path)])
    assert [p["edges"] for p in result["points"]] == [1_000, 4_000]
    assert result["skipped"][0]["edges"] == 2_000 and "failed (exit -9): Killed" in result["skipped"][0]["reason"]
    partial = json.loads((tmp_path / "scale.partial.json").read_text())
    assert [p["edges"] for p in partial["points"]] == [1_000, 4_000]
    assert "failed (exit -9)" in capsys.readouterr().out
