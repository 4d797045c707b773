"""RecommendationTrainer: validation split, BPR, training improves ranking, resume, bad input."""
import pytest
import torch

from gnnkit_testing import dataset_dir
from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.nn.models import MF, LightGCN, Popularity
from gnnkit.train.checkpoint import load_checkpoint
from gnnkit.train.rec import (
    RecommendationTrainer,
    RecTrainConfig,
    bpr_loss,
    build_model,
    split_validation,
)
from gnnkit.train.runtime import seed_everything



def clustered(num_users=60, num_items=40, seed=0) -> InteractionDataset:
    """Two taste groups: even users pick from the first half of the items, odd from the second."""
    g = torch.Generator().manual_seed(seed)
    users = torch.arange(num_users).repeat_interleave(8)
    half = num_items // 2
    items = torch.randint(0, half, (users.numel(),), generator=g) + (users % 2) * half
    test = torch.rand(users.numel(), generator=g) < 0.2
    return InteractionDataset(num_users, num_items, torch.stack([users[~test], items[~test]]),
                              torch.stack([users[test], items[test]]), name="clustered")


def config(**kw):
    base = dict(epochs=3, batch_size=64, lr=0.01, device="cpu", seed=0, patience=100)
    return RecTrainConfig(**{**base, **kw})


def test_split_validation_partitions_train_and_keeps_one_item_per_user():
    data = clustered()
    train, val = split_validation(data.train_interactions, data.num_items, 0.25, seed=3)
    ni = data.num_items
    whole = set(torch.unique(data.train_interactions[0] * ni + data.train_interactions[1]).tolist())
    a, b = set((train[0] * ni + train[1]).tolist()), set((val[0] * ni + val[1]).tolist())
    assert a.isdisjoint(b) and a | b == whole
    assert len(b) > 0.15 * len(whole)
    assert set(train[0].tolist()) == set(data.train_interactions[0].tolist())
    again, _ = split_validation(data.train_interactions, ni, 0.25, seed=3)
    assert torch.equal(again, train)


def test_bpr_loss_value():
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])
    want = (torch.log1p(torch.exp(torch.tensor(-2.0))) + torch.log1p(torch.exp(torch.tensor(1.0)))) / 2
    torch.testing.assert_close(bpr_loss(pos, neg), want)


@pytest.mark.parametrize("kind", ["lightgcn", "mf"])
def test_training_learns_the_taste_groups(kind):
    data = clustered()
    seed_everything(0)
    model = build_model(kind, data.num_users, data.num_items, 16, 2)
    trainer = RecommendationTrainer(model, data, config(epochs=30, ks=(5, 10, 20)))
    before = trainer.evaluate("test")
    result = trainer.fit()
    assert result["recall@10"] > before["recall@10"] + 0.15
    assert result["epochs_run"] == 30 and 1 <= result["best_epoch"] <= 30
    # best weights restored: validation at the best epoch is what the model gives now
    best = max(h["val_recall@20"] for h in result["history"] if "val_recall@20" in h)
    assert trainer.evaluate("val")["recall@20"] == pytest.approx(best)


def test_early_stopping_stops_after_patience():
    data = clustered()
    seed_everything(0)
    model = MF(data.num_users, data.num_items, 8)
    result = RecommendationTrainer(model, data, config(epochs=500, lr=0.05, patience=3)).fit()
    assert result["stopped_early"] and result["epochs_run"] == result["best_epoch"] + 3


def test_popularity_baseline_needs_no_training():
    data = clustered()
    trainer = RecommendationTrainer(Popularity(data.num_users, data.num_items), data, config())
    result = trainer.fit()
    assert result["epochs_run"] == 0
    counts = torch.bincount(torch.unique(data.train_interactions[0] * 40 + data.train_interactions[1]) % 40,
                            minlength=40)
    torch.testing.assert_close(trainer.model.counts, counts.float())


@pytest.mark.parametrize("kind", ["lightgcn", "mf"])
def test_resume_equals_uninterrupted(tmp_path, kind):
    data = clustered()

    def run(epochs, ckpt):
        seed_everything(0)
        model = build_model(kind, data.num_users, data.num_items, 8, 2)
        return model, RecommendationTrainer(model, data, config(epochs=epochs, checkpoint=str(ckpt))).fit()

    straight_model, straight = run(4, tmp_path / "a.pt")
    run(2, tmp_path / "b.pt")  # interrupted after 2 epochs ...
    resumed_model, resumed = run(4, tmp_path / "b.pt")  # ... and continued
    assert resumed["epochs_run"] == 4
    for k, v in straight_model.state_dict().items():
        torch.testing.assert_close(resumed_model.state_dict()[k], v, atol=0, rtol=0)
    assert resumed["recall@20"] == straight["recall@20"] and resumed["ndcg@20"] == straight["ndcg@20"]
    a, b = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(tmp_path / "b.pt")
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
    assert a["export"]["user_emb"].shape == (data.num_users, 8)


def test_checkpoint_of_another_model_is_refused(tmp_path):
    data = clustered()
    RecommendationTrainer(MF(data.num_users, data.num_items, 8), data, config(epochs=1, checkpoint=str(tmp_path / "c.pt"))).fit()
    trainer = RecommendationTrainer(LightGCN(data.num_users, data.num_items, 8), data,
                                    config(epochs=2, checkpoint=str(tmp_path / "c.pt")))
    with pytest.raises(ValueError, match="checkpoint holds model"):
        trainer.fit()


def test_bad_input():
    data = clustered()
    empty = InteractionDataset(data.num_users, data.num_items, data.train_interactions,
                               torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="empty test split"):
        RecommendationTrainer(MF(data.num_users, data.num_items), empty, config())
    with pytest.raises(ValueError, match="K = 50 is larger than the number of items \\(40\\)"):
        RecommendationTrainer(MF(data.num_users, data.num_items), data, config(ks=(10, 50), monitor="recall@10"))
    with pytest.raises(ValueError, match="sized for 5 users"):
        RecommendationTrainer(MF(5, data.num_items), data, config())
    with pytest.raises(ValueError, match="monitor must be"):
        config(monitor="recall@50")
    with pytest.raises(ValueError, match="unknown model 'bogus'"):
        build_model("bogus", 3, 3)


@pytest.mark.slow
def test_short_ml100k_run_beats_the_untrained_model(data_root):
    from gnnkit.datasets import load

    dataset_dir(data_root, "ml-100k")
    data = load("ml-100k", root=data_root)
    seed_everything(0)
    model = LightGCN(data.num_users, data.num_items)
    trainer = RecommendationTrainer(model, data, RecTrainConfig(epochs=5, device="cpu", lr=5e-3))
    before = trainer.evaluate("test")
    after = trainer.fit()
    assert before["num_users"] == after["num_users"] > 900
    assert after["recall@20"] > before["recall@20"] + 0.05, (before["recall@20"], after["recall@20"])
    assert after["ndcg@20"] > before["ndcg@20"]


def test_one_triple_per_training_interaction_and_bf16_autocast(monkeypatch):
    data = clustered()
    seed_everything(0)
    trainer = RecommendationTrainer(LightGCN(data.num_users, data.num_items, 8), data, config(epochs=2, amp="bf16"))
    seen = []
    real = trainer.sampler.sample
    monkeypatch.setattr(trainer.sampler, "sample", lambda users, generator=None: seen.append(users) or real(users, generator))
    result = trainer.fit()
    assert len(seen) == 2 and all(u.numel() == trainer.train_pairs.numel() for u in seen)
    # every training (user, item) pair appears exactly once per epoch
    assert sorted(seen[0].tolist()) == sorted((trainer.train_pairs // data.num_items).tolist())
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in result["history"])
    assert trainer.train_pairs.numel() + trainer.val.size(1) == torch.unique(
        data.train_interactions[0] * data.num_items + data.train_interactions[1]).numel()
