"""Issue 15's output cases: concurrent runs, a full disk while checkpointing
or logging, a full cache folder, and one-line CLI errors."""
from __future__ import annotations

import csv
import errno
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gnnkit.cli import main
from gnnkit.io import load_verified
from gnnkit_testing import dataset_dir

REPO = Path(__file__).resolve().parents[2]


def _gnnkit(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    # SIGINT back to its default in the child: a test run started in the background (`pytest &`) ignores
    # SIGINT, its children inherit that, and the interrupt this test sends would then never arrive
    return subprocess.Popen([sys.executable, "-m", "gnnkit", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, f"first run ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_two_processes_writing_the_same_outputs(tmp_path):
    """The second run gets one clear error line and exit 2; the first run's
    CSV has each epoch once, in order (issue 15: 156 of 240 rows, 36 twice)."""
    out, log = tmp_path / "r.json", tmp_path / "log.csv"
    first = _gnnkit("train", "node", "--dataset", "karate", "--epochs", "1000000", "--patience", "0", "--quiet",
                    "--json", str(out), "--log-csv", str(log))
    try:
        _wait_for(Path(f"{log}.lock"), first)  # the first run is training (and holds both locks)
        same_json = _gnnkit("train", "node", "--dataset", "karate", "--epochs", "5", "--quiet", "--json", str(out))
        same_csv = _gnnkit("train", "node", "--dataset", "karate", "--epochs", "5", "--quiet",
                           "--json", str(tmp_path / "other.json"), "--log-csv", str(log))
        for proc, path in ((same_json, out), (same_csv, log)):
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 2, err
            assert err.startswith("gnnkit: error: ") and err.count("\n") == 1, err
            assert f"{path} is being written by another run (pid {first.pid})" in err
        assert first.poll() is None  # untouched by the failed runs
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130
    with log.open() as fh:
        epochs = [int(row["epoch"]) for row in csv.DictReader(fh)]
    assert epochs and epochs == list(range(1, len(epochs) + 1))
    assert not out.exists() and not (tmp_path / "other.json").exists()
    assert not Path(f"{log}.lock").exists() and not Path(f"{out}.lock").exists()  # released on the way out


def _enospc_on_rewrite(monkeypatch, name: str) -> None:
    """``os.write`` fails with ENOSPC for temporary files of ``name`` once
    ``name`` exists: the first checkpoint is written, the next ones hit a full disk."""
    real_write = os.write

    def write(fd, data):
        target = os.readlink(f"/proc/self/fd/{fd}")
        if f".{name}." in target and (Path(target).parent / name).exists():
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name a file descriptor")
def test_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch, capsys):
    ck = tmp_path / "ck.pt"
    _enospc_on_rewrite(monkeypatch, ck.name)
    code = main(["train", "node", "--dataset", "karate", "--epochs", "20", "--patience", "0",
                 "--checkpoint-every", "5", "--checkpoint", str(ck), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"gnnkit: error: could not write {ck}: No space left on device; free some disk space")
    assert load_verified(ck)["epoch"] == 5  # the last good checkpoint, whole and verified
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_full_disk_while_logging_is_one_error_line(tmp_path, monkeypatch, capsys):
    import gnnkit.train.logs as logs

    log, calls = tmp_path / "log.csv", []

    def full_open(path, mode="r", **kw):
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return open(path, mode, **kw)

    monkeypatch.setattr(logs, "open", full_open, raising=False)
    code = main(["train", "node", "--dataset", "karate", "--epochs", "10", "--patience", "0",
                 "--log-csv", str(log), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert f"could not append epoch 4 to the CSV log {log}: No space left on device" in err
    assert "(the rows before it are kept)" in err
    assert len(log.read_text().splitlines()) == 4  # header + epochs 1..3


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name a file descriptor")
def test_full_cache_folder_continues_uncached_with_a_warning(data_root, tmp_path, monkeypatch, caplog):
    from gnnkit.datasets import read_musae
    from gnnkit.datasets.loader import load

    raw = dataset_dir(data_root, "lastfm-asia")
    cache = tmp_path / "cache"
    monkeypatch.setenv("GNNKIT_CACHE", str(cache))
    real_write = os.write

    def write(fd, data):
        if str(cache) in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    with caplog.at_level(logging.WARNING):
        graph = load("lastfm-asia", root=data_root, download=False)
    assert torch.equal(graph.edge_index, read_musae(raw).edge_index)
    assert any("No space left on device" in r.getMessage() and "continuing without it" in r.getMessage()
               for r in caplog.records)
    assert not any(p.is_file() and not p.name.startswith(".") for p in cache.rglob("*"))
