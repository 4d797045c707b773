import pytest
import torch

from gnnkit.datasets import synthetic
from gnnkit.nn import inference
from gnnkit.train.node import NodeClassificationTrainer, NodeTrainConfig, build_model


def config(**overrides):
    fields = dict(mode="minibatch", batch_size=128, fanout=(5, 5), epochs=8, patience=None, quiet=True,
                  normalize_features=False, weight_decay_layers="all")
    fields.update(overrides)
    return NodeTrainConfig(**fields)


@pytest.mark.parametrize("model", ["sage", "gcn"])
def test_minibatch_training_learns_and_matches_full_batch_band(model):
    graph = synthetic(num_nodes=2000, num_edges=10000, num_features=8, seed=1)
    mini = NodeClassificationTrainer(build_model(model, graph, config(), hidden_channels=32), graph, config()).fit()
    full_cfg = config(mode="full", epochs=100)
    full = NodeClassificationTrainer(build_model(model, graph, full_cfg, hidden_channels=32), graph, full_cfg).fit()
    assert mini.test_accuracy > 0.85
    assert mini.test_accuracy > full.test_accuracy - 0.05


def test_minibatch_evaluation_is_layerwise_in_blocks(monkeypatch):
    """Evaluation and prediction run layer-wise in blocks of
    inference_batch_size nodes, and give what the full forward gives."""
    graph = synthetic(num_nodes=700, num_edges=3000, num_features=8, seed=2)
    cfg = config(epochs=2, inference_batch_size=100)
    trainer = NodeClassificationTrainer(build_model("gcn", graph, cfg, hidden_channels=16), graph, cfg)
    trainer.fit()
    blocks = []
    real_row_block = inference.row_block
    monkeypatch.setattr(inference, "row_block", lambda adj, s, e, *rest: blocks.append(e - s) or real_row_block(adj, s, e, *rest))
    predicted = trainer.predict()
    assert blocks and max(blocks) == 100 and sum(blocks) == 2 * 700  # two layers, every node once each
    trainer.model.eval()
    with torch.no_grad():
        full = trainer.model(trainer.x, trainer.adj)
    assert torch.equal(predicted, full.argmax(1))
    g = trainer.graph
    assert trainer.evaluate()["test_accuracy"] == pytest.approx(
        float((full.argmax(1)[g.test_mask] == g.y[g.test_mask]).float().mean()))


def test_minibatch_bad_arguments():
    graph = synthetic(num_nodes=300, num_edges=1000, seed=0)
    with pytest.raises(ValueError, match="fanout \\[5\\] has 1 hops but the model has 2 layers"):
        NodeClassificationTrainer(build_model("sage", graph, config(), hidden_channels=8), graph, config(fanout=(5,)))
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        config(batch_size=0)
    with pytest.raises(ValueError, match="inference_batch_size must be a positive"):
        config(inference_batch_size=0)
    with pytest.raises(ValueError, match="fanout must list one fan-out per layer"):
        config(fanout=(5, 0))
    with pytest.raises(ValueError, match="mode must be 'full' or 'minibatch'"):
        config(mode="sampled")
