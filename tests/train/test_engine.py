"""The engine on a task written here: a new task is one class, and the loop's
guarantees (early stopping, exact resume, logs written once, settings checked,
outputs locked) hold for it without any code of its own."""
from __future__ import annotations

import csv
import warnings

import pytest
import torch

from gnnkit_testing import Interrupt, stop_at
import torch.nn.functional as F

from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.io import exclusive_lock
from gnnkit.nn.models import LightGCN
from gnnkit.train.config import OptimConfig, RunConfig, StopConfig
from gnnkit.train.engine import Engine
from gnnkit.train.task import Task
from gnnkit.train.tasks.rec import RecConfig, RecTask


class Regression(Task):
    """Least squares with dropout and shuffled mini-batches: uses the global
    RNG (dropout, shuffling), so exact resume needs the RNG state restored."""

    name = "regression"
    monitors = (("val_loss", "min"),)

    def __init__(self, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(200, 5, generator=g)
        self.y = self.x @ torch.randn(5, 1, generator=g) + 0.1 * torch.randn(200, 1, generator=g)
        torch.manual_seed(seed)  # the same initial weights in every run
        self.model = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(5, 1))

    def train_epoch(self, engine):
        total = 0.0
        for idx in torch.randperm(150).split(32):
            loss = F.mse_loss(engine.train_model(self.x[idx]), self.y[idx])
            engine.step(loss)
            total += float(loss.detach())
        return total

    def validate(self, engine):
        self.model.eval()
        with torch.no_grad():
            return {"val_loss": float(F.mse_loss(self.model(self.x[150:175]), self.y[150:175]))}

    def test(self, engine):
        self.model.eval()
        with torch.no_grad():
            return {"test_loss": float(F.mse_loss(self.model(self.x[175:]), self.y[175:]))}




def fit(task=None, callback=None, optim=None, **run):
    run.setdefault("progress", False)
    engine = Engine(task or Regression(), optim or OptimConfig(lr=0.05), StopConfig(epochs=30, patience=5),
                    RunConfig(**run))
    return engine, engine.fit(callback)


def test_csv_keeps_validation_columns_that_first_appear_after_epoch_one(tmp_path):
    # Validation every 3rd epoch: epoch 1's row has no val_loss; the column must still reach the file.
    path = tmp_path / "log.csv"
    engine = Engine(Regression(), OptimConfig(lr=0.05), StopConfig(epochs=7, eval_every=3),
                    RunConfig(progress=False, log_csv=str(path)))
    result = engine.fit()
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 8))
    assert [r["val_loss"] != "" for r in rows] == [e % 3 == 0 or e == 7 for e in range(1, 8)]
    for row, hist in zip(rows, result.history):
        if "val_loss" in hist:
            assert float(row["val_loss"]) == pytest.approx(hist["val_loss"], rel=1e-12)


def test_a_task_trains_and_stops_early_on_its_monitor():
    engine, result = fit()
    assert result.metrics["test_loss"] < 0.5
    losses = [r["val_loss"] for r in result.history]
    assert result.best_epoch == 1 + min(range(len(losses)), key=losses.__getitem__)
    assert result.stopped_early == (result.epochs_run < 30)


def test_a_diverged_loss_stops_the_run_with_a_clear_error(tmp_path):
    task = Regression()
    task.y[7] = 1e30  # one extreme target: its square overflows float32, the loss is inf, then the weights NaN
    with pytest.raises(ValueError, match=r"the training loss is (nan|inf) at epoch 1: the model diverged"):
        fit(task, checkpoint=str(tmp_path / "run.pt"))
    engine, result = fit()  # an ordinary run is untouched by the check
    assert result.epochs_run > 1 and all(r["loss"] < 1e3 for r in result.history)


class BrokenStep(Regression):
    """Its last step leaves a NaN weight while the loss it reported was finite."""

    def train_epoch(self, engine):
        total = super().train_epoch(engine)
        with torch.no_grad():
            self.model[1].weight[0, 0] = float("nan")
        return total


def test_nan_weights_after_a_finite_loss_stop_the_run_before_validation():
    with pytest.raises(ValueError, match=r"the weights \(1.weight\) are NaN or infinite after epoch 1: the model "
                                         r"diverged"):
        fit(BrokenStep())


def test_kg_ranking_refuses_non_finite_scores():
    from gnnkit.train.kg_metrics import TripleFilter, evaluate_ranking

    h, r, t = torch.tensor([0, 1]), torch.tensor([0, 0]), torch.tensor([1, 2])
    known = TripleFilter(h, r, t, num_entities=3, num_relations=1)
    finite = lambda a, b: torch.randn(a.numel(), 3)  # noqa: E731
    broken = lambda a, b: torch.full((a.numel(), 3), float("inf"))  # noqa: E731
    assert 0 < evaluate_ranking(finite, finite, h, r, t, known)["mrr"] <= 1
    with pytest.raises(ValueError, match="scores are NaN or infinite"):
        evaluate_ranking(broken, finite, h, r, t, known)


def test_kill_and_resume_is_bit_identical(tmp_path):
    full_engine, full = fit(checkpoint=str(tmp_path / "full.pt"), log_csv=str(tmp_path / "full.csv"))
    cut = tmp_path / "cut.pt"
    with pytest.raises(Interrupt):
        # checkpoints at epochs 3 and 6; killed after epoch 7, whose row reached the CSV
        fit(checkpoint=str(cut), checkpoint_every=3, log_csv=str(tmp_path / "cut.csv"), callback=stop_at(7))
    assert len(list(csv.DictReader((tmp_path / "cut.csv").open()))) == 7
    engine, resumed = fit(checkpoint=str(cut), checkpoint_every=3, log_csv=str(tmp_path / "cut.csv"), resume=str(cut))
    for (name, a), b in zip(full_engine.model.state_dict().items(), engine.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in full.history]
    assert resumed.metrics == full.metrics and resumed.best_epoch == full.best_epoch
    epochs = [int(r["epoch"]) for r in csv.DictReader((tmp_path / "cut.csv").open())]
    assert epochs == list(range(1, full.epochs_run + 1))  # epoch 7 ran twice but is logged once


def test_resume_with_another_setting_names_it(tmp_path):
    path = tmp_path / "ck.pt"
    with pytest.raises(Interrupt):
        fit(checkpoint=str(path), callback=stop_at(4))
    with pytest.raises(ValueError, match=r"--lr is 0.02 but checkpoint .* was written with 0.05"):
        fit(optim=OptimConfig(lr=0.02), resume=str(path))
    with pytest.raises(ValueError, match=r"--seed is 1 .* written with 0"):
        fit(seed=1, resume=str(path))


def test_checkpoint_of_another_task_or_a_corrupted_one_is_refused(tmp_path):
    path = tmp_path / "ck.pt"
    fit(checkpoint=str(path))
    other = Regression()
    other.name = "other"
    with pytest.raises(ValueError, match="not a other checkpoint"):
        fit(task=other, resume=str(path))
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 16] = bytes(16)  # 16 zeroed bytes inside a tensor record
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted"):
        fit(resume=str(path))


def test_a_second_run_on_the_same_outputs_is_refused(tmp_path):
    path = tmp_path / "ck.pt"
    with exclusive_lock(path):  # another run is writing it
        with pytest.raises(ValueError, match="being written by another run"):
            fit(checkpoint=str(path))


def test_unwritable_checkpoint_fails_before_training(tmp_path):
    (tmp_path / "afile").write_text("")  # a file where the checkpoint's folder should be
    epochs = []
    with pytest.raises(ValueError, match="afile"):
        fit(checkpoint=str(tmp_path / "afile" / "ck.pt"), callback=lambda e, row: epochs.append(e))
    assert epochs == []  # refused before the first epoch, not when the first checkpoint is due


def test_recommendation_kill_and_resume_is_bit_identical(tmp_path):
    g = torch.Generator().manual_seed(0)
    users = torch.arange(50).repeat_interleave(6)
    items = torch.randint(0, 30, (users.numel(),), generator=g)
    test = torch.rand(users.numel(), generator=g) < 0.2
    data = InteractionDataset(50, 30, torch.stack([users[~test], items[~test]]), torch.stack([users[test], items[test]]))

    def run(callback=None, **kw):
        torch.manual_seed(0)
        task = RecTask(LightGCN(50, 30, 8, 2), data, RecConfig(batch_size=64), seed=0)
        engine = Engine(task, OptimConfig(lr=0.01), StopConfig(epochs=6, patience=100),
                        RunConfig(device="cpu", progress=False, **kw))
        return engine, engine.fit(callback)

    full_engine, full = run(checkpoint=str(tmp_path / "a.pt"))
    with pytest.raises(Interrupt):
        run(checkpoint=str(tmp_path / "b.pt"), checkpoint_every=2, callback=stop_at(3))
    engine, resumed = run(checkpoint=str(tmp_path / "b.pt"), resume=str(tmp_path / "b.pt"))
    for k, v in full_engine.model.state_dict().items():
        assert torch.equal(engine.model.state_dict()[k], v), k
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in full.history]
    assert resumed.metrics["recall@20"] == full.metrics["recall@20"]


def test_profile_writes_a_trace_with_gnnkit_regions(tmp_path, capsys):
    fit(profile=str(tmp_path / "prof"))
    traces = list((tmp_path / "prof").glob("*.pt.trace.json"))
    assert len(traces) == 1
    text = traces[0].read_text()
    assert "gnnkit.train_epoch" in text and "gnnkit.validate" in text
    assert "top 15 operators by self time" in capsys.readouterr().err


def test_the_optimizer_runs_foreach_and_gives_the_per_tensor_loops_numbers():
    engine, result = fit()
    assert engine.optimizer.defaults["foreach"] is True
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    twin = [torch.nn.Parameter(p.detach().clone()) for p in params]
    a = torch.optim.Adam(params, lr=0.01, weight_decay=1e-3, foreach=True)
    b = torch.optim.Adam(twin, lr=0.01, weight_decay=1e-3, foreach=False)
    for step in range(20):
        g = torch.Generator().manual_seed(step)
        for p, q in zip(params, twin):
            p.grad = torch.randn(p.shape, generator=g)
            q.grad = p.grad.clone()
        a.step()
        b.step()
    assert all(torch.equal(p, q) for p, q in zip(params, twin))  # bit for bit: the figures do not move


def test_a_run_cut_short_by_its_epoch_cap_while_improving_says_so():
    def run(epochs, patience, lr=0.01):
        engine = Engine(Regression(), OptimConfig(lr=lr), StopConfig(epochs=epochs, patience=patience),
                        RunConfig(progress=False))
        with pytest.warns() as caught:
            warnings.warn("sentinel")  # pytest.warns needs one; the engine's are counted beside it
            result = engine.fit()
        return result, [str(w.message) for w in caught if "still improving" in str(w.message)]

    result, said = run(epochs=8, patience=5)  # a slow learning rate: still improving at epoch 8
    assert result.best_epoch == 8 and not result.stopped_early
    assert len(said) == 1 and "last epoch (8)" in said[0] and "--epochs" in said[0]
    result, said = run(epochs=300, patience=5, lr=0.05)  # early stopping ends it: nothing to say
    assert result.stopped_early and said == []
    _, said = run(epochs=8, patience=None)  # no early stopping asked for: the cap is the plan
    assert said == []


def test_resume_without_a_checkpoint_path_checkpoints_to_the_resumed_file():
    from gnnkit.train.config import RunConfig

    assert RunConfig(resume="run.pt").checkpoint == "run.pt"
    assert RunConfig(resume="run.pt", checkpoint="next.pt").checkpoint == "next.pt"
    assert RunConfig().checkpoint is None


def test_configs_refuse_values_of_the_wrong_type():
    import pytest

    from gnnkit.train.config import OptimConfig, RunConfig, StopConfig
    from gnnkit.train.node import NodeTrainConfig

    cases = [(lambda: RunConfig(seed=1.5), "seed must be an integer"),  # old: a numpy cast error
             (lambda: RunConfig(seed=2**70), "seed must be an integer in"),  # old: "Overflow when unpacking"
             (lambda: OptimConfig(lr="0.01"), "lr must be a number"),  # old: TypeError comparing int and str
             (lambda: OptimConfig(lr=True), "lr must be a number"),
             (lambda: StopConfig(restore_best="no"), "restore_best must be True or False"),  # old: taken as True
             (lambda: StopConfig(patience=1.5), "patience must be an integer"),
             (lambda: StopConfig(epochs=True), "epochs must be an integer"),
             (lambda: NodeTrainConfig.from_dict({"epoch": 5}), "no setting 'epoch' \\(did you mean 'epochs'\\?\\)")]
    for build, message in cases:
        with pytest.raises(ValueError, match=message):
            build()
    assert NodeTrainConfig.from_dict({"epochs": 5}).epochs == 5
