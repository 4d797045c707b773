"""KGTask on the engine: it learns a small synthetic graph, resumes exactly,
trains with sampled (filtered) negatives, and `gnnkit train kg` runs on a
folder of triple files and on the real Kinships / Nations."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from gnnkit.cli import main
from gnnkit.datasets.knowledge_graph import KnowledgeGraph, Triples
from gnnkit.train.config import OptimConfig, RunConfig, StopConfig
from gnnkit.train.engine import Engine
from gnnkit.train.tasks.kg import KGConfig, KGTask, build_model
from gnnkit_testing import Interrupt, dataset_dir, stop_at


def synthetic_kg(num_entities=24, seed=0) -> KnowledgeGraph:
    """Two relations with a rule to learn: r0 maps e to e+1 (mod n), r1 maps e to e-1."""
    e = torch.arange(num_entities)
    h = torch.cat([e, e])
    r = torch.cat([torch.zeros_like(e), torch.ones_like(e)])
    t = torch.cat([(e + 1) % num_entities, (e - 1) % num_entities])
    perm = torch.randperm(h.numel(), generator=torch.Generator().manual_seed(seed))
    all_ = Triples(h[perm], r[perm], t[perm])
    return KnowledgeGraph(all_[6:], all_[:3], all_[3:6], [f"e{k}" for k in range(num_entities)], ["next", "prev"],
                          name="ring")


def fit(kind="rotate", config=None, epochs=6, callback=None, **run):
    kg = synthetic_kg()
    config = config or KGConfig()
    kg = kg.with_inverse() if config.inverse else kg
    torch.manual_seed(0)
    task = KGTask(build_model(kind, kg, dim=8), kg, config, seed=0, spec={"kind": kind, "dim": 8})
    engine = Engine(task, OptimConfig(lr=0.05), StopConfig(epochs=epochs, patience=100),
                    RunConfig(device="cpu", progress=False, **run))
    return engine, engine.fit(callback)




@pytest.mark.parametrize("kind", ["rotate", "complex", "distmult", "transe", "rgcn"])
def test_each_model_trains_and_reports_every_metric(kind):
    _, result = fit(kind, epochs=3)
    m = result.metrics
    for split in ("test", "valid"):
        for key in ("mrr", "mr", "hits@1", "hits@3", "hits@10", "head_mrr", "tail_mrr"):
            assert f"{split}_{key}" in m
    assert 0 < m["test_mrr"] <= 1 and 1 <= m["test_mr"] <= 24
    assert "val_mrr" in result.history[-1]


def test_rotate_learns_the_rule():
    _, result = fit("rotate", KGConfig(batch_size=8), epochs=40)
    assert result.metrics["test_mrr"] > 0.5  # a random order of 24 entities scores about 0.16


def test_kill_and_resume_is_bit_identical(tmp_path):
    full_engine, full = fit(epochs=6, checkpoint=str(tmp_path / "a.pt"))
    with pytest.raises(Interrupt):
        fit(epochs=6, checkpoint=str(tmp_path / "b.pt"), checkpoint_every=2, callback=stop_at(3))
    engine, resumed = fit(epochs=6, checkpoint=str(tmp_path / "b.pt"), resume=str(tmp_path / "b.pt"))
    for k, v in full_engine.model.state_dict().items():
        assert torch.equal(engine.model.state_dict()[k], v), k
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in full.history]
    assert resumed.metrics == full.metrics


def test_sampled_negatives_and_their_filter():
    cfg = KGConfig(loss="nssa", num_negatives=8, filter_negatives=True, batch_size=16)
    engine, result = fit("rotate", cfg, epochs=3)
    assert result.metrics["test_mrr"] > 0
    task = engine.task
    kg = task.kg_dev
    # every training triple is recognised, a corruption that is not one is not
    head, rel, tail = kg.train.head[:5], kg.train.relation[:5], kg.train.tail[:5]
    assert task._is_training_triple(head, rel, tail).all()
    wrong = (tail + 5) % kg.num_entities
    assert not task._is_training_triple(head, rel, wrong).any()
    _, margin = fit("transe", KGConfig(loss="margin", margin=1.0, inverse=False), epochs=2)
    assert margin.metrics["test_mrr"] > 0


@pytest.mark.parametrize("inverse", [True, False])
def test_one_vs_all_per_triple(inverse):
    engine, result = fit("complex", KGConfig(per_triple=True, inverse=inverse, batch_size=16), epochs=3)
    assert not hasattr(engine.task, "queries")
    assert result.metrics["test_mrr"] > 0 and result.history[0]["loss"] > result.history[-1]["loss"]


def test_one_vs_all_without_inverse_trains_heads_too():
    engine, result = fit("complex", KGConfig(per_triple=False, inverse=False), epochs=3)
    assert {side for side, *_ in engine.task.queries} == {"tail", "head"}
    assert result.metrics["test_head_mrr"] > 0


def test_model_and_graph_sizes_must_match():
    kg = synthetic_kg()
    with pytest.raises(ValueError, match="inverse relations included"):
        KGTask(build_model("rotate", kg, dim=4), kg, KGConfig(inverse=True))
    with pytest.raises(ValueError, match="takes"):
        build_model("transe", kg, regularization=0.1)
    with pytest.raises(ValueError, match="loss must be one of"):
        KGConfig(loss="hinge")


def write_ring(folder: Path) -> Path:
    kg = synthetic_kg()
    folder.mkdir(parents=True)
    for split in ("train", "valid", "test"):
        t = kg.split(split)
        lines = [f"{kg.entities[h]}\t{kg.relations[r]}\t{kg.entities[e]}"
                 for h, r, e in zip(t.head.tolist(), t.relation.tolist(), t.tail.tolist())]
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_cli_on_a_folder_of_triples(tmp_path, capsys):
    write_ring(tmp_path / "data" / "ring" / "raw")
    code = main(["train", "kg", "--dataset", "ring", "--root", str(tmp_path / "data"), "--model", "distmult",
                 "--dim", "8", "--epochs", "3", "--seed", "1", "--json", "-", "--quiet", "--threads", "1",
                 "--log-csv", str(tmp_path / "log.csv")])
    assert code == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    for key in ("test_mrr", "test_hits@1", "test_hits@3", "test_hits@10", "valid_mrr", "seconds"):
        assert isinstance(summary[key], float)
    assert summary["model"] == "distmult" and summary["hparams"]["dim"] == 8
    assert "ring distmult: test MRR" in captured.err
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 4


def test_cli_errors(tmp_path, capsys):
    assert main(["train", "kg", "--dataset", "nowhere", "--root", str(tmp_path)]) == 2
    assert "unknown dataset 'nowhere'" in capsys.readouterr().err
    assert main(["train", "kg", "--dataset", "cora", "--root", str(tmp_path)]) == 2
    assert "not a knowledge graph" in capsys.readouterr().err
    write_ring(tmp_path / "ring")
    assert main(["train", "kg", "--dataset", str(tmp_path / "ring"), "--model", "transe", "--regularization",
                 "0.1"]) == 2
    assert "--regularization does not apply" in capsys.readouterr().err


@pytest.mark.data
@pytest.mark.slow
def test_default_model_on_nations(data_root, tmp_path, monkeypatch):
    dataset_dir(data_root, "nations")
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "n.json"
    assert main(["train", "kg", "--dataset", "nations", "--root", str(data_root), "--json", str(out), "--quiet",
                 "--threads", "1", "--epochs", "40"]) == 0
    summary = json.loads(out.read_text())
    assert summary["test_mrr"] > 0.65 and summary["test_hits@10"] > 0.97


@pytest.mark.data
def test_kinships_loads_from_the_catalog(data_root, tmp_path, monkeypatch):
    from gnnkit.datasets import load

    dataset_dir(data_root, "kinships")
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    kg = load("kinships", root=data_root, download=False, progress=False)
    assert isinstance(kg, KnowledgeGraph)
    assert (kg.num_entities, kg.num_relations, len(kg.train)) == (104, 25, 8544)
    again = load("kinships", root=data_root, download=False, progress=False)  # from the cache
    assert torch.equal(again.test.stack(), kg.test.stack()) and again.entities == kg.entities


def test_predict_answers_a_query_by_names(tmp_path, capsys):
    root = tmp_path / "data"
    write_ring(root / "ring" / "raw")
    ckpt = str(tmp_path / "ring.pt")
    assert main(["train", "kg", "--dataset", "ring", "--root", str(root), "--model", "rotate", "--dim", "8",
                 "--epochs", "30", "--batch-size", "8", "--checkpoint", ckpt, "--quiet", "--threads", "1"]) == 0
    capsys.readouterr()
    assert main(["predict", "kg", "--checkpoint", ckpt, "--dataset", "ring", "--root", str(root), "--head", "e3",
                 "--relation", "next", "--k", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    tails = out["tails"]
    assert [t["rank"] for t in tails] == [1, 2, 3, 4]
    assert [t["score"] for t in tails] == sorted((t["score"] for t in tails), reverse=True)
    known = [t["entity"] for t in tails if t["known"]]
    assert known == ["e4"] or ("e4" not in [t["entity"] for t in tails] and not known)
    # heads of (?, next, e5) through the inverse relation: e4 is the known one
    assert main(["predict", "kg", "--checkpoint", ckpt, "--dataset", "ring", "--root", str(root), "--head", "e5",
                 "--relation", "next_inverse", "--k", "24"]) == 0
    table = capsys.readouterr().out
    assert "top 24 tails of (e5, next_inverse, ?)" in table
    assert [line.split()[1] for line in table.splitlines()[1:] if line.endswith("*")] == ["e4"]


def test_predict_bad_input(tmp_path, capsys):
    root = tmp_path / "data"
    write_ring(root / "ring" / "raw")
    ckpt = str(tmp_path / "ring.pt")
    assert main(["train", "kg", "--dataset", "ring", "--root", str(root), "--model", "distmult", "--dim", "4",
                 "--epochs", "1", "--checkpoint", ckpt, "--quiet"]) == 0
    base = ["predict", "kg", "--checkpoint", ckpt, "--dataset", "ring", "--root", str(root)]
    capsys.readouterr()
    assert main(base + ["--head", "e33x", "--relation", "next"]) == 2
    assert "unknown entity 'e33x'; did you mean 'e3'" in capsys.readouterr().err
    assert main(base + ["--head", "e3", "--relation", "nxt"]) == 2
    assert "unknown relation 'nxt'; did you mean 'next'" in capsys.readouterr().err
    # a checkpoint of another task
    from gnnkit.train.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(ckpt)
    state["task"] = "node"
    save_checkpoint(tmp_path / "node.pt", state)
    assert main(["predict", "kg", "--checkpoint", str(tmp_path / "node.pt"), "--dataset", "ring", "--root",
                 str(root), "--head", "e3", "--relation", "next"]) == 2
    assert "checkpoint of `gnnkit train node`, not of `gnnkit train kg`" in capsys.readouterr().err


def test_a_graph_too_dense_for_filtered_negatives_says_so_and_trains(tmp_path):
    from gnnkit.datasets.formats.triples import read_triples

    for part in ("train", "valid", "test"):  # every (head, tail) pair of the one relation is a fact
        (tmp_path / f"{part}.txt").write_text("a\tr\ta\na\tr\tb\nb\tr\ta\nb\tr\tb\n")
    kg = read_triples(tmp_path)
    cfg = KGConfig(loss="nssa", num_negatives=4, filter_negatives=True, inverse=False)
    model = build_model("transe", kg)
    task = KGTask(model, kg, cfg)
    with pytest.warns(RuntimeWarning, match="every sampled negative of a training batch was a training triple"):
        result = Engine(task, OptimConfig(lr=0.01), StopConfig(epochs=2), RunConfig(progress=False)).fit()
    assert all(math.isfinite(h["loss"]) for h in result.history)
