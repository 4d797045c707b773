"""examples/friend_recommendation.py runs with --quick on the real data and writes a sane figure and tables."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gnnkit_testing import dataset_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.data
def test_friend_recommendation_example(data_root: Path, tmp_path: Path):
    import matplotlib.image as mpimg

    dataset_dir(data_root, "lastfm-asia")
    out = tmp_path / "friends"
    env = {**os.environ, "MPLBACKEND": "Agg", "GNNKIT_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "friend_recommendation.py"), "--root",
                           str(data_root), "--out", str(out), "--quick", "--epochs", "20", "--users", "300"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Summary: on lastfm-asia" in proc.stdout
    result = json.loads((out / "results.json").read_text())
    assert set(result["table"]) == {"gnnkit GAE", "common neighbours", "Adamic–Adar"}
    for name, row in result["table"].items():
        assert 0.5 < row["auc"] <= 1 and 0 <= row["precision@10"] <= 1, (name, row)
    assert result["users"] == 300 and len(result["precision_at_k"]["Adamic–Adar"]) == 20
    # the heuristics beat chance by far on a social graph: precision@1 of Adamic-Adar well above 1/N
    assert result["table"]["Adamic–Adar"]["precision@1"] > 0.02
    png = mpimg.imread(out / "precision_at_k.png")
    assert png.shape[0] >= 300 and png.shape[1] >= 400
    assert len(np.unique(png[..., :3].reshape(-1, 3), axis=0)) > 50  # lines were drawn
    assert "| gnnkit GAE |" in (out / "results.md").read_text()
