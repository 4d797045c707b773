import pytest

from gnnkit.datasets import synthetic
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


def test_minibatch_bad_arguments():
    graph = synthetic(num_nodes=300, num_edges=1000, seed=0)
    with pytest.raises(ValueError, match="fanout \\[5\\] has 1 hops but the model has 2 layers"):
        NodeClassificationTrainer(build_model("sage", graph, config(), hidden_channels=8), graph, config(fanout=(5,)))
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        config(batch_size=0)
    with pytest.raises(ValueError, match="fanout must list one fan-out per layer"):
        config(fanout=(5, 0))
    with pytest.raises(ValueError, match="mode must be 'full' or 'minibatch'"):
        config(mode="sampled")
