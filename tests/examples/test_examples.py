"""Each example runs with ``--quick`` on the real data and writes sane figures and tables.

The scripts are run as subprocesses (as a user would run them); the checks read
what they wrote: PNGs that decode and are not blank, tables with the expected
rows and values in range, and the closing summary.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.data]


def run_example(script: str, root: Path, out: Path, *extra: str, cache: Path) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg", "GNNKIT_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / script), "--root", str(root), "--out", str(out),
                           "--device", "cpu", "--quick", *extra],
                          capture_output=True, text=True, env=env, timeout=600, cwd=out.parent)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "Summary" in proc.stdout, proc.stdout[-2000:]
    return proc.stdout


def check_png(path: Path) -> None:
    import matplotlib.image as mpimg

    assert path.is_file(), f"{path.name} was not written"
    assert path.stat().st_size < 200_000, f"{path.name} is {path.stat().st_size} bytes"
    img = mpimg.imread(path)
    assert img.shape[0] >= 300 and img.shape[1] >= 400, f"{path.name} is only {img.shape[:2]} pixels"
    rgb = img[..., :3]
    # something was drawn: many distinct colours, and not (almost) all white
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50, f"{path.name} looks blank"
    assert (rgb.mean(axis=2) < 0.9).mean() > 0.01, f"{path.name} is nearly all white"


def test_citation_classification(data_root: Path, tmp_path: Path):
    out = tmp_path / "citation"
    stdout = run_example("citation_classification.py", data_root, out, "--datasets", "cora", "--seeds", "2",
                         cache=tmp_path / "cache")
    check_png(out / "accuracy.png")
    check_png(out / "confusion_cora.png")
    result = json.loads((out / "results.json").read_text())
    assert result["seeds"] == 2
    table = result["table"]["cora"]
    assert set(table) == {"mlp", "gcn", "sage", "gat"}
    for model, row in table.items():
        assert 1 / 7 < row["mean"] <= 1 and row["std"] >= 0, (model, row)
        assert len(result["runs"]["cora"][model]) == 2
    # even 15 epochs show the graph's worth: the best graph model beats the MLP on Cora
    assert max(table[m]["mean"] for m in ("gcn", "sage", "gat")) > table["mlp"]["mean"]
    assert "| GCN |" in (out / "results.md").read_text()
    # the confusion matrix names Cora's classes (the catalog's names), not 0..6
    assert result["class_names"]["cora"] == ["Theory", "Reinforcement Learning", "Genetic Algorithms",
                                             "Neural Networks", "Probabilistic Methods", "Case Based", "Rule Learning"]
    assert "cora: best is" in stdout


def test_recommend_movies(data_root: Path, tmp_path: Path):
    out = tmp_path / "movies"
    stdout = run_example("recommend_movies.py", data_root, out, "--users", "1", "6", cache=tmp_path / "cache")
    check_png(out / "training_curves.png")
    result = json.loads((out / "results.json").read_text())
    models = result["models"]
    assert set(models) == {"lightgcn", "mf", "pop"}
    for name, row in models.items():
        assert 0 <= row["ndcg@20"] <= 1 and 0 < row["recall@20"] <= 1, (name, row)
    assert models["lightgcn"]["epochs_run"] == 3 and len(result["history"]["lightgcn"]) == 3
    # LightGCN learns quickly on ml-100k: after 3 epochs it is well ahead of MF
    assert models["lightgcn"]["recall@20"] > models["mf"]["recall@20"]
    recs = result["recommendations"]
    assert set(recs) == {"1", "6"} and all(len(v) == 10 and len(set(v)) == 10 for v in recs.values())
    assert "Star Wars (1977)" in stdout or "(19" in stdout  # real titles with years, not item ids
    assert "LightGCN's top 10" in stdout and "rated highly" in stdout
    assert "user 1\n  rated highly:" in stdout  # MovieLens's own user id, not gnnkit's index
    # nothing user 1 rated (u.data, any split) is recommended back
    titles = {int(line.split("|")[0]): line.split("|")[1] for line in
              (data_root / "ml-100k" / "raw" / "u.item").read_bytes().decode("latin-1").splitlines() if line}
    rated = {titles[int(f[1])] for f in (line.split("\t") for line in
             (data_root / "ml-100k" / "raw" / "u.data").read_text().splitlines()) if f[0] == "1"}
    assert len(rated) > 200 and not rated & set(recs["1"])


def test_social_analysis(data_root: Path, tmp_path: Path):
    out = tmp_path / "social"
    run_example("social_analysis.py", data_root, out, cache=tmp_path / "cache")
    for name in ("degree_distribution", "embedding_map", "communities"):
        check_png(out / f"{name}.png")
    result = json.loads((out / "results.json").read_text())
    stats = result["statistics"]
    # facebook page-page: 22470 nodes, 171002 edge rows of which 179 are self-loops
    assert stats["nodes"] == 22470 and stats["edges"] == 171002 - 179
    assert stats["components"] >= 1 and 0 < stats["average_clustering"] < 1
    cls = result["classification"]
    assert set(cls) == {"mlp", "gcn"} and all(0.25 < c["test_accuracy"] <= 1 for c in cls.values())
    inf = result["influence"]
    assert len(inf["pagerank_top"]) == 10 and len(set(inf["embedding_top"])) == 10
    com = result["communities"]
    assert com["communities"] > 4 and com["modularity"] > 0.5
    assert 0 < com["nmi"] < 1 and com["purity"] >= com["class_majority"]


def test_social_analysis_on_own_csv(tmp_path: Path):
    """``--edges/--labels``: two 4-cliques joined by one edge, one class each."""
    edges = [(a, b) for c in (0, 4) for a in range(c, c + 4) for b in range(a + 1, c + 4)] + [(3, 4)]
    big = [(a + 8 * k, b + 8 * k) for k in range(6) for a, b in edges]  # 6 copies, so every class has nodes to split
    (tmp_path / "e.csv").write_text("src,dst\n" + "".join(f"{a},{b}\n" for a, b in big))
    (tmp_path / "l.csv").write_text("id,label\n" + "".join(f"{n},{(n % 8) // 4}\n" for n in range(48)))
    out = tmp_path / "own"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "social_analysis.py"), "--edges",
                           str(tmp_path / "e.csv"), "--labels", str(tmp_path / "l.csv"), "--out", str(out),
                           "--quick", "--device", "cpu", "--top", "5"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert result["statistics"]["nodes"] == 48 and result["statistics"]["edges"] == 6 * 13
    assert result["statistics"]["components"] == 6
    # Louvain finds the cliques, which are exactly the classes
    assert result["communities"]["purity"] == 1.0


HINT = ('matplotlib is not installed, so no figures are drawn: pip install "gnnkit[plot]" '
        '(or, in a checkout, .venv/bin/pip install -e ".[plot]")')


def _without_matplotlib(tmp_path: Path) -> dict[str, str]:
    """An environment in which `import matplotlib` fails as in a venv without it."""
    fake = tmp_path / "no-matplotlib"
    fake.mkdir(exist_ok=True)
    (fake / "matplotlib.py").write_text("raise ModuleNotFoundError(\"No module named 'matplotlib'\")\n")
    env = {**os.environ, "PYTHONPATH": str(fake)}
    env.pop("MPLBACKEND", None)
    return env


@pytest.mark.parametrize("script", ["citation_classification.py", "recommend_movies.py", "friend_recommendation.py",
                                    "social_analysis.py"])
def test_example_without_matplotlib_says_which_extra(tmp_path: Path, script: str):
    """A venv without matplotlib gets one line naming the extra, not a traceback, and the script goes on."""
    proc = subprocess.run([sys.executable, str(REPO / "examples" / script), "--help"], capture_output=True,
                          text=True, env=_without_matplotlib(tmp_path), timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [HINT]
    assert "usage:" in proc.stdout


def test_examples_share_one_plotting_helper():
    """Every example gets matplotlib through examples/_plotting.py, none imports it at the top itself."""
    for script in sorted((REPO / "examples").glob("[!_]*.py")):
        text = script.read_text()
        assert "from _plotting import" in text, script.name
        assert "\nimport matplotlib" not in text and "\ntry:\n    import matplotlib" not in text, script.name


def test_recommend_movies_without_matplotlib_still_trains_and_reports(data_root: Path, tmp_path: Path):
    out = tmp_path / "movies"
    env = {**_without_matplotlib(tmp_path), "GNNKIT_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "recommend_movies.py"), "--root", str(data_root),
                           "--out", str(out), "--device", "cpu", "--quick", "--epochs", "1", "--users", "1"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count(HINT) == 1
    result = json.loads((out / "results.json").read_text())
    assert set(result["models"]) == {"lightgcn", "mf", "pop"} and len(result["recommendations"]["1"]) == 10
    assert not list(out.glob("*.png")) and (out / "results.md").is_file()
    assert "no figures (matplotlib is not installed)" in proc.stdout


def test_friend_recommendation_without_matplotlib_still_ranks_and_reports(data_root: Path, tmp_path: Path):
    out = tmp_path / "friends"
    env = {**_without_matplotlib(tmp_path), "GNNKIT_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "friend_recommendation.py"), "--root",
                           str(data_root), "--out", str(out), "--quick", "--epochs", "2", "--users", "50"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count(HINT) == 1
    result = json.loads((out / "results.json").read_text())
    assert result["users"] == 50 and len(result["table"]) == 3
    assert not list(out.glob("*.png")) and "no figures (matplotlib is not installed)" in proc.stdout


def test_class_labels_name_known_classes_and_number_the_rest(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "examples"))
    from _plotting import class_labels

    assert class_labels("citeseer", 6) == ["AI", "ML", "IR", "DB", "Agents", "HCI"]
    assert class_labels("karate", 2) == ["Mr. Hi", "Officer"]
    assert class_labels("facebook", 4) == ["class 0", "class 1", "class 2", "class 3"]  # names unknown
    assert class_labels("my_edges", 2) == ["class 0", "class 1"]  # a CSV of the user's own
    assert class_labels("cora", 3) == ["class 0", "class 1", "class 2"]  # labels that do not fit the names


def test_embedding_map_projection_separates_what_is_separable():
    """lda_2d: classes that differ along one of 16 noisy directions land apart in 2-D,
    while the leading PCA direction (the largest-variance noise) would mix them."""
    import importlib.util

    import torch

    sys.path.insert(0, str(REPO / "examples"))  # as when the script runs: its folder holds _plotting.py
    try:
        spec = importlib.util.spec_from_file_location("social_analysis", REPO / "examples" / "social_analysis.py")
        social = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(social)
    finally:
        sys.path.remove(str(REPO / "examples"))
    g = torch.Generator().manual_seed(0)
    y = torch.arange(600) % 3
    h = torch.randn(600, 16, generator=g) * torch.linspace(5, 1, 16)  # loud noise first
    h[:, 15] += 2.0 * y  # the class signal sits in the quietest direction
    fit = torch.arange(600) < 400
    xy = social.lda_2d(h, y, fit)
    assert xy.shape == (600, 2)
    test = ~fit
    means = torch.stack([xy[test & (y == c), 0].mean() for c in range(3)])
    spread = torch.stack([xy[test & (y == c), 0].std() for c in range(3)]).mean()
    gaps = means.sort().values.diff()  # the discriminant's sign is arbitrary
    assert bool((gaps > 1.5 * spread).all()), (means, spread)


@pytest.mark.parametrize("argv, message", [
    (["recommend_movies.py", "--dim", "0"], "argument --dim: must be >= 1, got 0"),
    (["recommend_movies.py", "--dataset", "cora"], "--dataset cora is not a user-item dataset"),
    (["citation_classification.py", "--datasets", "nations"], "--datasets nations is not a node-classification"),
    (["friend_recommendation.py", "--dataset", "karate", "--users", "0"], "argument --users: must be >= 1"),
])
def test_examples_say_bad_input_in_one_line(data_root, tmp_path, argv, message):
    # old: a ValueError / AttributeError / IndexError traceback, exit 1
    env = {**os.environ, "MPLBACKEND": "Agg", "GNNKIT_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / argv[0]), "--root", str(data_root), "--out",
                           str(tmp_path / "out"), *argv[1:]], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert message in proc.stderr.strip().splitlines()[-1]  # argparse's usage may come first, as for any script
