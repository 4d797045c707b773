"""APPNP and GCNII in node classification: the registry, the CLI's paper
defaults, weight decay on the right parameters, checkpoints, mini-batch mode."""
from __future__ import annotations

import json

import pytest
import torch

from gnnkit.cli import main
from gnnkit.datasets import synthetic
from gnnkit.nn.models import APPNPNet, GCNII
from gnnkit.train.node import NodeClassificationTrainer, NodeTrainConfig, build_model
from gnnkit.train.tasks.node_models import MODELS, PAPER_DEFAULTS, model_from_spec, model_spec
from node_helpers import sbm_graph


def test_registered():
    assert MODELS["appnp"] is APPNPNet and MODELS["gcnii"] is GCNII
    assert PAPER_DEFAULTS["appnp"]["K"] == 10 and PAPER_DEFAULTS["gcnii"]["layers"] == 64


def test_cli_appnp_defaults_follow_the_paper(tmp_path):
    out = tmp_path / "r.json"
    assert main(["train", "node", "--dataset", "karate", "--model", "appnp", "--epochs", "3", "--json", str(out),
                 "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["hparams"] == {"hidden_channels": 64, "num_layers": 2, "dropout": 0.5, "K": 10, "alpha": 0.1,
                                 "edge_dropout": 0.5}
    assert result["config"]["weight_decay"] == 5e-3 and result["config"]["weight_decay_layers"] == "first"
    assert result["config"]["patience"] == 100


def test_cli_gcnii_defaults_and_options(tmp_path):
    out = tmp_path / "r.json"
    assert main(["train", "node", "--dataset", "karate", "--model", "gcnii", "--epochs", "2", "--layers", "3",
                 "--theta", "0.6", "--json", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["hparams"] == {"hidden_channels": 64, "num_layers": 3, "dropout": 0.6, "alpha": 0.1, "theta": 0.6}
    assert result["config"]["weight_decay"] == 0.01 and result["config"]["lr"] == 0.01


@pytest.mark.parametrize("args, message", [
    (["--model", "gcn", "--theta", "0.5"], "--theta applies to --model gcnii only"),
    (["--model", "gcnii", "--K", "3"], "--K applies to --model appnp only"),
    (["--model", "gat", "--edge-dropout", "0.1"], "--edge-dropout applies to --model appnp only"),
])
def test_cli_model_options_are_checked(args, message, capsys):
    assert main(["train", "node", "--dataset", "karate", "--quiet", *args]) != 0
    assert message in capsys.readouterr().err


def test_gcnii_weight_decay_first_means_the_convolutions():
    graph = sbm_graph(per_class=10, masks=True)
    cfg = NodeTrainConfig(epochs=1, quiet=True, weight_decay=0.01, weight_decay_layers="first")
    model = build_model("gcnii", graph, cfg, hidden_channels=8, num_layers=3)
    trainer = NodeClassificationTrainer(model, graph, cfg)
    groups = trainer.task.configure_optimizer(cfg.parts()[0]).param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {id(p) for p in model.convs.parameters()}
    assert not decayed & {id(p) for p in model.lins.parameters()}


@pytest.mark.parametrize("name, hparams", [("appnp", dict(K=3, alpha=0.2)), ("gcnii", dict(num_layers=4))])
def test_spec_round_trip(name, hparams):
    graph = sbm_graph(per_class=10, masks=True)
    model = build_model(name, graph, NodeTrainConfig(quiet=True), hidden_channels=8, **hparams)
    rebuilt = model_from_spec(model_spec(model))
    rebuilt.load_state_dict(model.state_dict())
    model.eval(), rebuilt.eval()
    torch.testing.assert_close(rebuilt(graph.x, graph.edge_index), model(graph.x, graph.edge_index))


@pytest.mark.parametrize("name, hparams", [("appnp", dict(K=5)), ("gcnii", dict(num_layers=4, dropout=0.5))])
def test_learns_a_block_model(name, hparams):
    graph = sbm_graph(per_class=40, masks=True, noise=2.0)
    cfg = NodeTrainConfig(epochs=60, patience=None, quiet=True, lr=0.01, weight_decay=5e-4, normalize_features=False)
    result = NodeClassificationTrainer(build_model(name, graph, cfg, hidden_channels=16, **hparams), graph, cfg).fit()
    assert result.test_accuracy > 0.8


@pytest.mark.parametrize("name, hparams", [("appnp", dict(K=4)), ("gcnii", dict(num_layers=2))])
def test_minibatch_mode_predicts_layerwise(name, hparams):
    graph = synthetic(num_nodes=500, num_edges=2000, num_features=8, seed=3)
    cfg = NodeTrainConfig(mode="minibatch", batch_size=128, fanout=(5, 5), epochs=2, patience=None, quiet=True,
                          inference_batch_size=64, normalize_features=False)
    trainer = NodeClassificationTrainer(build_model(name, graph, cfg, hidden_channels=8, **hparams), graph, cfg)
    trainer.fit()
    trainer.model.eval()
    with torch.no_grad():
        full = trainer.model(trainer.x, trainer.adj)
    assert torch.equal(trainer.predict(), full.argmax(1))
