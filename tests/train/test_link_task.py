"""LinkTask on the engine: learning, leakage, features, mini-batches, exact resume, suggestions."""
from __future__ import annotations

import pytest
import torch

from gnnkit import Graph
from gnnkit.nn.models import GAE, VGAE, LinkPredictor
from gnnkit.nn.models._input import LearnedFeatures
from gnnkit.sampling import split_edges
from gnnkit.train.config import MiniBatchConfig, OptimConfig, RunConfig, StopConfig
from gnnkit.train.engine import Engine
from gnnkit.train.node_features import structural_features
from gnnkit.train.tasks.link import LinkConfig, LinkTask, build_model, link_features, suggest
from gnnkit_testing import dataset_dir


def block_graph(n: int = 160, blocks: int = 4, p_in: float = 0.2, p_out: float = 0.005, features: bool = True,
                seed: int = 0) -> Graph:
    """A stochastic block model whose features are a noisy one-hot of the block."""
    g = torch.Generator().manual_seed(seed)
    block = torch.arange(n) % blocks
    prob = torch.where(block[:, None] == block[None, :], p_in, p_out)
    upper = torch.triu(torch.rand(n, n, generator=g) < prob, diagonal=1)
    ei = upper.nonzero().t()
    x = None
    if features:
        x = torch.nn.functional.one_hot(block, blocks).float()
        x = torch.cat([x, (torch.rand(n, 20, generator=g) < 0.1).float()], dim=1)
    return Graph(x=x, edge_index=torch.cat([ei, ei.flip(0)], 1), num_nodes=n)


def fit(graph: Graph, kind: str, config: LinkConfig | None = None, epochs: int = 60, seed: int = 0,
        minibatch: MiniBatchConfig | None = None, run: RunConfig | None = None, **hparams):
    config = config or LinkConfig()
    split = split_edges(graph, seed=seed)
    features = link_features(split, kind, config, sparse=False if minibatch else None)  # as the CLI does
    model = build_model(kind, features, split.num_nodes, seed=seed, **hparams)
    task = LinkTask(split, model, features, config, minibatch=minibatch, seed=seed)
    run = run or RunConfig(seed=seed, device="cpu", progress=False)
    return task, Engine(task, OptimConfig(lr=0.01), StopConfig(epochs=epochs), run).fit()


@pytest.mark.parametrize("kind, hparams", [
    ("gae", {}), ("vgae", {}), ("gcn", {}), ("sage", {"decoder": "mlp"}), ("sage", {"decoder": "hadamard"}),
])
def test_models_learn_a_block_model(kind, hparams):
    # 8 blocks: a held-out non-edge falls inside a block 1 time in 8, so a model that learnt the blocks clears
    # the bar with room (every kind scored AUC >= 0.88 and AP >= 0.85 on seeds 0-3; chance is 0.5)
    task, result = fit(block_graph(n=320, blocks=8, p_in=0.3, p_out=0.003), kind, **hparams)
    m = result.metrics
    assert m["test_auc"] > 0.85 and m["test_ap"] > 0.8, m
    assert {"test_auc", "test_ap", "test_hits@10", "test_hits@50", "test_mrr", "val_auc", "val_ap"} <= set(m)
    assert 1 <= result.best_epoch <= 60
    assert isinstance(task.model, {"gae": GAE, "vgae": VGAE}.get(kind, LinkPredictor))


def test_training_never_sees_held_out_edges():
    graph = block_graph()
    split = split_edges(graph, seed=0)
    features = link_features(split, "gae", LinkConfig())
    task = LinkTask(split, build_model("gae", features, split.num_nodes), features, LinkConfig())
    task.setup(torch.device("cpu"), None)
    seen = set(zip(task.adj.row().tolist(), task.adj.col.tolist()))  # what the encoder passes messages on
    held_out = torch.cat([split.val_pos, split.test_pos], 1)
    for u, v in zip(held_out[0].tolist(), held_out[1].tolist()):
        assert (u, v) not in seen and (v, u) not in seen
    assert len(task.train_edges) == split.graph.num_edges  # training negatives avoid training edges only


def test_featureless_graphs_get_an_embedding_and_structural_features_use_the_training_graph():
    graph = block_graph(features=False)
    split = split_edges(graph, seed=0)
    auto = link_features(split, "gae", LinkConfig())
    assert auto.kind == "embedding" and auto.width == graph.num_nodes and "learnable" in auto.description
    sage = link_features(split, "sage", LinkConfig())
    assert sage.x is None
    model = build_model("sage", sage, graph.num_nodes, embedding_dim=16)
    assert isinstance(model.encoder, LearnedFeatures)
    structural = link_features(split, "gae", LinkConfig(features="structural", feature_norm="none"), sparse=False)
    expected = structural_features(split.graph.edge_index, graph.num_nodes, seed=0)
    assert torch.allclose(structural.x, expected)
    leaky = structural_features(graph.edge_index, graph.num_nodes, seed=0)
    assert not torch.allclose(structural.x, leaky)  # the held-out edges would change the degrees
    _, result = fit(graph, "gae", epochs=60)
    assert result.metrics["test_auc"] > 0.8
    with pytest.raises(ValueError, match="no node features"):
        link_features(split, "gae", LinkConfig(features="given"))
    # mini-batches gather dense rows: "auto" then gives structural features, not an embedding that cannot be
    # gathered (the CLI's `train link --mode minibatch` on a featureless graph failed with its default features)
    for kind in ("gae", "sage"):
        dense = link_features(split, kind, LinkConfig(feature_norm="none"), sparse=False)
        assert dense.kind == "structural" and torch.allclose(dense.x, expected)
    _, result = fit(graph, "sage", LinkConfig(feature_norm="none"), epochs=2,
                    minibatch=MiniBatchConfig(batch_size=64, fanout=(5, 5)))
    assert 0.0 <= result.metrics["test_auc"] <= 1.0


def test_dense_loss_and_minibatches_learn():
    _, dense = fit(block_graph(), "gae", LinkConfig(loss="dense"))
    assert dense.metrics["test_auc"] > 0.85
    mb = MiniBatchConfig(batch_size=64, fanout=(5, 5))
    # 8 blocks, as test_models_learn_a_block_model: a held-out non-edge falls inside a block 1 time in 8
    # (on 4 blocks, 1 in 4, the bar sat at what a model that learnt the blocks reaches: 0.81-0.85 over seeds 0-3;
    # here 0.885-0.935)
    _, sampled = fit(block_graph(n=320, blocks=8, p_in=0.3, p_out=0.003), "sage", LinkConfig(feature_norm="none"),
                     epochs=25, minibatch=mb)
    assert sampled.metrics["test_auc"] > 0.85


def test_bad_combinations():
    graph = block_graph(features=False)
    split = split_edges(graph, seed=0)
    features = link_features(split, "gae", LinkConfig())
    model = build_model("gae", features, split.num_nodes)
    with pytest.raises(ValueError, match="dense node features"):
        LinkTask(split, model, features, LinkConfig(), minibatch=MiniBatchConfig())
    with pytest.raises(ValueError, match="does not combine with mini-batches"):
        LinkTask(split, model, features, LinkConfig(loss="dense"), minibatch=MiniBatchConfig())
    with pytest.raises(ValueError, match="inner product"):
        build_model("vgae", features, split.num_nodes, decoder="mlp")
    with pytest.raises(ValueError, match="unknown link model"):
        build_model("gat", features, split.num_nodes)
    with pytest.raises(ValueError, match="neg_ratio"):
        LinkConfig(neg_ratio=0)


@pytest.mark.parametrize("kind, minibatch", [("vgae", None), ("sage", MiniBatchConfig(fanout=(5, 5), batch_size=64))],
                         ids=["full-batch", "mini-batch"])
def test_resume_reaches_the_same_weights(tmp_path, kind, minibatch):
    graph = block_graph()
    whole = tmp_path / "whole.pt"
    cut = tmp_path / "cut.pt"
    run = lambda path, resume=None: RunConfig(seed=0, device="cpu", progress=False, checkpoint=str(path),  # noqa: E731
                                              checkpoint_every=10, resume=resume)
    task_a, a = fit(graph, kind, epochs=30, run=run(whole), minibatch=minibatch)
    fit(graph, kind, epochs=12, run=run(cut), minibatch=minibatch)
    task_b, b = fit(graph, kind, epochs=30, run=run(cut, resume=str(cut)), minibatch=minibatch)
    loss = lambda result: [(row["epoch"], row["loss"]) for row in result.history]  # noqa: E731
    assert loss(a) == loss(b)  # every epoch after the resume too, not only the best one's weights
    for (name, p), q in zip(task_a.model.state_dict().items(), task_b.model.state_dict().values()):
        assert torch.equal(p, q), name
    assert a.metrics == b.metrics and a.best_epoch == b.best_epoch


def test_suggestions_leave_out_known_neighbours(tmp_path):
    from gnnkit.io import load_verified

    path = tmp_path / "link.pt"
    task, _ = fit(block_graph(), "sage", epochs=20, decoder="mlp",
                  run=RunConfig(seed=0, device="cpu", progress=False, checkpoint=str(path)))
    ckpt = load_verified(path)
    assert ckpt["model"]["decoder"] == "mlp"
    nodes, scores = suggest(ckpt, 3, k=8)
    split = task.split
    known = torch.cat([split.train_pos, split.val_pos, split.test_pos], 1)
    neighbours = set(known[1][known[0] == 3].tolist()) | set(known[0][known[1] == 3].tolist())
    assert len(nodes) == 8 and not (set(nodes.tolist()) & (neighbours | {3}))
    assert bool((scores[:-1] >= scores[1:]).all())
    with pytest.raises(ValueError, match="outside the graph"):
        suggest(ckpt, 10_000)


@pytest.mark.slow
@pytest.mark.data
def test_cora_gae_one_seed(data_root):
    from gnnkit.datasets import load

    dataset_dir(data_root, "cora")
    graph = load("cora", root=data_root, download=False, progress=False)
    _, result = fit(graph, "gae", epochs=200)
    assert result.metrics["test_auc"] > 0.89 and result.metrics["test_ap"] > 0.89, result.metrics


def test_sparse_features_stay_sparse_and_match_dense_ones():
    from gnnkit.nn.features import sparse_features
    from gnnkit.ops.sparse import CSR

    graph = block_graph()
    split = split_edges(graph, seed=0)
    dense = link_features(split, "gae", LinkConfig(), sparse=False)
    given = link_features(split, "gae", LinkConfig(), x=sparse_features(graph.x))
    assert isinstance(given.x, CSR) and given.x.nnz == int((graph.x != 0).sum())
    assert torch.allclose(given.x.to_dense(), dense.x, atol=1e-6)  # the same row normalisation
    assert "sparse features" in given.description
    from gnnkit.nn.models.gae import SparseProjection

    sage = build_model("sage", given, graph.num_nodes)
    assert isinstance(sage.encoder, SparseProjection)  # CSR × W first, then the dense SAGE layers
    z, _ = sage(given.x, split.graph.edge_index)
    assert z.shape == (graph.num_nodes, 32)
