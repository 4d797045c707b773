"""GAE / VGAE / LinkPredictor: decoders, losses against dense references and PyG, sparse input."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gnnkit.nn.conv import GCNConv
from gnnkit.nn.features import sparse_features
from gnnkit.nn.models import GAE, VGAE, GraphSAGE, LinkPredictor
from gnnkit.nn.models.gae import (
    DotDecoder,
    HadamardDecoder,
    MLPDecoder,
    dense_recon_loss,
    kl_penalty,
    link_bce_loss,
    make_decoder,
    sample_with_kl,
)
from gnnkit_testing import require


def _graph(n: int = 30, m: int = 80, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, m), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    ei = torch.unique(torch.cat([ei, ei.flip(0)], 1), dim=1)
    x = (torch.rand(n, 12, generator=g) < 0.2).float()
    return x, ei


def test_decoders():
    z = torch.randn(10, 4)
    pairs = torch.tensor([[0, 3, 7], [1, 3, 2]])
    assert torch.allclose(DotDecoder()(z, pairs), (z[pairs[0]] * z[pairs[1]]).sum(1))
    assert torch.allclose(HadamardDecoder(4)(z, pairs), DotDecoder()(z, pairs))  # starts at the inner product
    mlp = MLPDecoder(4, 8, num_layers=3)
    assert mlp(z, pairs).shape == (3,)
    assert torch.allclose(mlp(z, pairs), mlp(z, pairs.flip(0)))  # symmetric in (u, v)
    with pytest.raises(ValueError, match="unknown decoder"):
        make_decoder("cosine", 4)


def test_link_bce_loss_equals_pyg_recon_loss():
    pyg = require("torch_geometric.nn")
    g = torch.Generator().manual_seed(0)
    # moderate logits: PyG's -log(sigmoid(s) + 1e-15) loses float32 digits where softplus does not
    z = 0.5 * torch.randn(20, 8, generator=g)
    pos = torch.randint(0, 20, (2, 30), generator=g)
    neg = torch.randint(0, 20, (2, 30), generator=g)
    model = pyg.GAE(torch.nn.Identity())
    ours = link_bce_loss(DotDecoder()(z, pos), DotDecoder()(z, neg))
    assert torch.allclose(ours, model.recon_loss(z, pos, neg), atol=1e-5)


def test_dense_recon_loss_equals_the_papers_formula():
    # tkipf/gae: norm * mean(weighted_cross_entropy_with_logits(logits, A + I, pos_weight))
    x, ei = _graph()
    n = x.size(0)
    z = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
    adj = torch.zeros(n, n, dtype=torch.float64)
    adj[ei[0], ei[1]] = 1
    label = adj + torch.eye(n, dtype=torch.float64)
    pos_weight = (n * n - adj.sum()) / adj.sum()
    norm = n * n / (2 * (n * n - adj.sum()))
    logits = z @ z.t()
    ce = pos_weight * label * F.softplus(-logits) + (1 - label) * F.softplus(logits)
    expected = norm * ce.mean()
    got = dense_recon_loss(z, ei, chunk_size=7)  # chunks that do not divide n
    assert torch.allclose(got, expected, atol=1e-10)
    g1, = torch.autograd.grad(got, z)
    g2, = torch.autograd.grad(expected, z)
    assert torch.allclose(g1, g2, atol=1e-10)


def test_kl_penalty_reference():
    mu, logstd = torch.randn(7, 3), torch.randn(7, 3) * 0.3
    kl = 0
    for i in range(7):  # KL(N(mu, sigma^2) || N(0, 1)) per node, summed over dims
        var = logstd[i].exp() ** 2
        kl += 0.5 * (var + mu[i] ** 2 - 1 - torch.log(var)).sum()
    assert torch.allclose(kl_penalty(mu, logstd), kl / 7 / 7, atol=1e-6)


def test_kl_penalty_is_pygs_kl_loss_over_n():
    pyg = require("torch_geometric")
    mu, logstd = torch.randn(30, 4, dtype=torch.float64), torch.randn(30, 4, dtype=torch.float64)
    want = pyg.nn.VGAE(torch.nn.Identity()).kl_loss(mu, logstd) / 30  # what PyG's example adds
    torch.testing.assert_close(kl_penalty(mu, logstd), want, rtol=1e-12, atol=0)


def test_sample_with_kl_equals_the_composition_values_and_gradients():
    g = torch.Generator().manual_seed(4)
    mu = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    raw = torch.randn(9, 4, generator=g, dtype=torch.float64)
    raw[0, 0], raw[1, 2] = 2.5, 3.0  # above the cap of 2 below: no gradient there
    raw.requires_grad_(True)
    eps = torch.randn(9, 4, generator=g, dtype=torch.float64)
    weights = torch.randn(9, 4, generator=g, dtype=torch.float64)

    def loss(z, kl):  # both outputs used, with different weights
        return (z * weights).sum() + 3.0 * kl

    z, kl = sample_with_kl(mu, raw, eps, cap=2.0)
    logstd = raw.clamp(max=2.0)
    z_ref, kl_ref = mu + eps * logstd.exp(), kl_penalty(mu, logstd)
    torch.testing.assert_close(z, z_ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(kl, kl_ref, rtol=0, atol=1e-12)
    got = torch.autograd.grad(loss(z, kl), (mu, raw))
    want = torch.autograd.grad(loss(z_ref, kl_ref), (mu, raw))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert got[1][0, 0] == 0 and got[1][1, 2] == 0
    assert torch.autograd.gradcheck(lambda m, r: sample_with_kl(m, r, eps, 2.0), (mu, raw))
    # only the sample used (the KL's gradient arrives as zeros)
    z, _ = sample_with_kl(mu, raw, eps, cap=2.0)
    torch.testing.assert_close(torch.autograd.grad(z.sum(), mu)[0], torch.ones_like(mu))


def test_gae_sparse_and_dense_features_agree():
    x, ei = _graph()
    torch.manual_seed(0)
    model = GAE(12, 8, 4).eval()
    z_dense, pen = model(x, ei)
    z_sparse, _ = model(sparse_features(x), ei)
    assert z_dense.shape == (30, 4) and float(pen) == 0.0
    assert torch.allclose(z_dense, z_sparse, atol=1e-5)
    assert model.decode(z_dense, ei).shape == (ei.size(1),)


def test_vgae_samples_in_training_and_returns_the_mean_in_evaluation():
    x, ei = _graph()
    torch.manual_seed(0)
    model = VGAE(12, 8, 4)
    model.train()
    a, kl_a = model(x, ei)
    b, _ = model(x, ei)
    assert not torch.allclose(a, b) and float(kl_a.detach()) > 0
    model.eval()
    mu1, kl = model(x, ei)
    mu2 = model.encode(x, ei)
    assert torch.equal(mu1, mu2) and float(kl) == 0.0
    h = torch.relu(model.conv1(x, ei))
    assert torch.allclose(mu1, model.conv_mu(h, ei), atol=1e-6)


def test_vgae_heads_in_one_product_equal_two_layers():
    # Training computes μ and log σ with one product of the concatenated weights: the same as the two layers,
    # gradients included; a head that is not a plain GCNConv runs as its own layer.
    x, ei = _graph()
    torch.manual_seed(0)
    model = VGAE(12, 8, 4).double()
    h = torch.randn(x.size(0), 8, dtype=torch.float64, requires_grad=True)
    mu, logstd = model._heads(h, ei, None).split(4, dim=1)
    ref_mu, ref_logstd = model.conv_mu(h, ei), model.conv_logstd(h, ei)
    torch.testing.assert_close(mu, ref_mu, atol=1e-12, rtol=0)
    torch.testing.assert_close(logstd, ref_logstd, atol=1e-12, rtol=0)
    w = torch.randn(x.size(0), 8, dtype=torch.float64)
    got = torch.autograd.grad((mu * w[:, :4]).sum() + (logstd * w[:, 4:]).sum(), [h, *model.parameters()],
                              allow_unused=True)
    want = torch.autograd.grad((ref_mu * w[:, :4]).sum() + (ref_logstd * w[:, 4:]).sum(), [h, *model.parameters()],
                               allow_unused=True)
    for a, b in zip(got, want):
        assert (a is None) == (b is None) and (a is None or torch.allclose(a, b, atol=1e-12))

    class Doubled(GCNConv):
        def message(self, x_j, edge_weight):
            return 2 * super().message(x_j, edge_weight)

    model.conv_logstd = Doubled(8, 4).double()
    _, logstd = model._heads(h, ei, None).split(4, dim=1)
    torch.testing.assert_close(logstd, model.conv_logstd(h, ei), atol=1e-12, rtol=0)


@pytest.mark.parametrize("bad, match", [
    (dict(in_channels=0), "in_channels"),
    (dict(hidden_channels=-1), "hidden_channels"),
    (dict(dropout=1.0), "dropout"),
])
def test_gae_bad_hyper_parameters(bad, match):
    args = dict(in_channels=5)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        GAE(**args)


def test_gae_checks_the_features():
    x, ei = _graph()
    with pytest.raises(ValueError, match="in_channels=13"):
        GAE(13)(x, ei)


def _sbm(n: int = 120, blocks: int = 4, p_in: float = 0.25, p_out: float = 0.01, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    block = torch.arange(n) % blocks
    same = block[:, None] == block[None, :]
    prob = torch.where(same, p_in, p_out)
    upper = torch.triu(torch.rand(n, n, generator=g) < prob, diagonal=1)
    ei = upper.nonzero().t()
    return torch.cat([ei, ei.flip(0)], 1), n


@pytest.mark.parametrize("decoder", ["dot", "hadamard", "mlp"])
def test_link_predictor_learns_a_block_model(decoder):
    from gnnkit import Graph
    from gnnkit.sampling import negative_sampling, split_edges
    from gnnkit.train.link_metrics import roc_auc

    ei, n = _sbm()
    split = split_edges(Graph(edge_index=ei, x=torch.eye(n), num_nodes=n), seed=0)
    torch.manual_seed(0)
    model = LinkPredictor(GraphSAGE(n, 32, 16, dropout=0.0), 16, decoder)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(0)
    mp = split.graph.edge_index
    for _ in range(60):
        z, penalty = model(split.graph.x, mp)
        neg = negative_sampling(mp, n, split.train_pos.size(1), generator=gen)
        loss = link_bce_loss(model.decode(z, split.train_pos), model.decode(z, neg)) + penalty
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    pairs, labels = split.pairs("test")
    with torch.no_grad():
        auc = roc_auc(model.decode(model.encode(split.graph.x, mp), pairs), labels)
    assert auc > 0.8, auc  # graph seeds 0-4 gave 0.83-0.94 for every decoder (chance: 0.5)


@pytest.mark.parametrize("p", [0.3, 0.6, 0.7])
def test_dropout_keeps_one_minus_p_and_the_mean(p):
    from gnnkit.nn.models.gae import dropout

    torch.manual_seed(0)
    x = torch.ones(400, 250)
    out = dropout(x, p, training=True)
    kept = out != 0
    assert abs(float(kept.float().mean()) - (1 - p)) < 0.005
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / (1 - p)))
    assert abs(float(out.mean()) - 1.0) < 0.02
    assert dropout(x, p, training=False) is x
    csr = sparse_features((torch.rand(50, 40) < 0.3).float())
    dropped = dropout(csr, p, training=True)
    assert dropped.nnz == csr.nnz and torch.equal(dropped.col, csr.col)
    values = dropped.value
    assert bool(((values == 0) | torch.isclose(values, torch.tensor(1 / (1 - p)))).all())
    # the mask's stream is seeded from torch's generator: torch.manual_seed (and a checkpoint's RNG state) governs it
    torch.manual_seed(1)
    a = dropout(x, p, training=True)
    torch.manual_seed(1)
    assert torch.equal(dropout(x, p, training=True), a) and not torch.equal(dropout(x, p, training=True), a)
    for dtype in (torch.float64, torch.bfloat16):
        y = dropout(x.to(dtype), p, training=True)
        assert y.dtype == dtype and abs(float((y != 0).float().mean()) - (1 - p)) < 0.005
