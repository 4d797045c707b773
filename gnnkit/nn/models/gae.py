"""Link predictors: graph auto-encoders (GAE, VGAE) and an encoder + decoder pair.

A link predictor embeds the nodes with a GNN encoder, ``Z = f(X, A)``, and
scores a pair ``(u, v)`` with a decoder ``s(z_u, z_v)``, a logit whose sigmoid
is the probability that the edge exists. Every model here returns, from
``forward``, the embeddings and a regulariser (the KL term of the variational
model, zero otherwise), so one training step serves them all::

    z, penalty = model(x, edge_index)
    loss = link_bce_loss(model.decode(z, pos), model.decode(z, neg)) + penalty

The decoders and losses live in ``gnnkit.nn.models.link_decoders`` (and
are importable from here as well); nothing here holds an optimiser.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnkit.nn.conv import GCNConv
from gnnkit.nn.features import dropout, linear  # noqa: F401  (dropout lived here: still importable)
from gnnkit.nn.models._input import check_input
from gnnkit.nn.models.link_decoders import (DECODERS, DotDecoder, HadamardDecoder, MLPDecoder,  # noqa: F401
                                            dense_recon_loss, link_bce_loss, make_decoder)
from gnnkit.ops.sparse import CSR

_LOGSTD_MAX = 10.0  # exp(2 · 10) is already far beyond any useful variance; keeps exp() finite


def kl_penalty(mu: Tensor, logstd: Tensor) -> Tensor:
    r""":math:`\tfrac{1}{N}\,\mathrm{mean}_i\,\mathrm{KL}(\mathcal N(\mu_i, \sigma_i^2) \,\|\, \mathcal N(0, I))`, the VGAE term.

    The ``1/N`` is the authors' (Kipf's ``gae`` code); it equals
    ``(1 / N) * kl_loss(mu, logstd)`` of PyG's ``VGAE``, the term PyG's
    autoencoder example adds to its loss (PyG's ``kl_loss`` alone is ``N``
    times this). The log standard deviations are used as given (PyG clamps
    them at 10; ``VGAE`` caps them at 10 before calling this).
    """
    kl = -0.5 * (1 + 2 * logstd - mu.pow(2) - logstd.exp().pow(2)).sum(-1).mean()
    return kl / mu.size(0)


class _SampleWithKL(torch.autograd.Function):
    """``(μ + ε ⊙ exp(min(log σ, cap)), kl_penalty(μ, min(log σ, cap)))`` in
    one function, from the heads' joint output ``[μ | log σ]`` (``[N, 2D]``):
    the sample and the KL term share ``σ``, and the backward writes the
    gradient of both heads into one ``[N, 2D]`` tensor with a handful of
    operations, instead of the autograd records of the composition and the
    backward of two slices (each a zero-filled ``[N, 2D]`` tensor, then
    their sum)."""

    @staticmethod
    def forward(ctx, both: Tensor, eps: Tensor, cap: float) -> tuple[Tensor, Tensor]:
        d = both.size(1) // 2
        mu, raw = both[:, :d], both[:, d:]
        logstd = raw.clamp(max=cap)
        std = logstd.exp()
        z = torch.addcmul(mu, eps, std)
        total = 2 * logstd.sum() - mu.pow(2).sum() - std.pow(2).sum() + mu.numel()  # Σ (1 + 2 log σ - μ² - σ²)
        ctx.save_for_backward(both, eps, std)
        ctx.cap, ctx.scale = cap, -0.5 / mu.size(0) / mu.size(0)
        return z, total * ctx.scale

    @staticmethod
    def backward(ctx, grad_z: Tensor, grad_kl: Tensor):
        both, eps, std = ctx.saved_tensors
        d = both.size(1) // 2
        c2 = 2 * grad_kl * ctx.scale  # 2 · d kl / d total, times the incoming gradient
        grad = torch.empty_like(both)
        grad_mu, grad_log = grad[:, :d], grad[:, d:]
        torch.sub(grad_z, both[:, :d] * c2, out=grad_mu)
        torch.mul(grad_z, eps, out=grad_log)
        grad_log.mul_(std).sub_(std.pow(2).mul_(c2)).add_(c2)
        grad_log.masked_fill_(both[:, d:] > ctx.cap, 0)  # clamp: no gradient above the cap (as torch.clamp)
        return grad, None, None


def sample_with_kl(mu: Tensor, logstd: Tensor, eps: Tensor | None = None,
                   cap: float = _LOGSTD_MAX) -> tuple[Tensor, Tensor]:
    r"""The VGAE sample :math:`z = \mu + \epsilon \odot \sigma` and its KL term
    ``kl_penalty(μ, log σ)``, with ``log σ`` clamped at ``cap`` (default 10:
    ``exp`` stays finite), computed together (one function with a hand-written
    backward; the same values as the composition up to rounding).

    Args:
        mu: ``[N, D]`` means.
        logstd: ``[N, D]`` log standard deviations (before the clamp).
        eps: ``[N, D]`` standard normal noise (default: drawn with ``randn_like``).
        cap: largest ``log σ``.
    """
    return _sample_joint(torch.cat([mu, logstd], 1), eps, cap)


def _sample_joint(both: Tensor, eps: Tensor | None = None, cap: float = _LOGSTD_MAX) -> tuple[Tensor, Tensor]:
    """``sample_with_kl`` of the heads' joint output ``[μ | log σ]``."""
    if eps is None:
        eps = torch.randn(both.size(0), both.size(1) // 2, dtype=both.dtype, device=both.device)
    return _SampleWithKL.apply(both, eps, cap)


# ------------------------------------------------------------------ models
class GAE(nn.Module):
    r"""Graph auto-encoder, Kipf & Welling 2016, https://arxiv.org/abs/1611.07308.

    .. math::
        Z = \hat A\, \mathrm{ReLU}(\hat A X W_0)\, W_1,\qquad
        p(A_{uv} = 1) = \sigma(z_u^\top z_v)

    with :math:`\hat A = D^{-1/2}(A + I)D^{-1/2}`. The first layer takes
    sparse features (a ``CSR``, ``gnnkit.nn.features.sparse_features``), so
    ``X W_0`` costs ``nnz(X) · hidden``.

    Args:
        in_channels: input features per node.
        hidden_channels: width of the first layer (paper: 32).
        out_channels: embedding width (paper: 16).
        dropout: dropout on each layer's input (paper: 0).

    Shapes:
        forward: x ``[N, in_channels]`` (dense or ``CSR``), edge_index ``[2, E]``
        → ``(z [N, out_channels], penalty [])``; decode: z, pairs ``[2, B]`` → ``[B]``.
    """

    variational = False

    def __init__(self, in_channels: int, hidden_channels: int = 32, out_channels: int = 16,
                 dropout: float = 0.0) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("hidden_channels", hidden_channels),
                            ("out_channels", out_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive integer, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        self.hparams = dict(in_channels=in_channels, hidden_channels=hidden_channels, out_channels=out_channels,
                            dropout=dropout)
        self.in_channels, self.dropout = in_channels, dropout
        self.conv1 = GCNConv(in_channels, hidden_channels, cached=True)
        self.conv_mu = GCNConv(hidden_channels, out_channels, cached=True)
        self.decoder = DotDecoder()

    def _hidden(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None) -> Tensor:
        check_input(x, self.in_channels, type(self).__name__)
        h = self.conv1(dropout(x, self.dropout, self.training), edge_index, edge_weight)
        # GCNConv's output is a fresh tensor that no backward reads: the ReLU can overwrite it
        h = h.relu_() if type(self.conv1) is GCNConv else F.relu(h)
        return dropout(h, self.dropout, self.training)

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR,
                edge_weight: Tensor | None = None) -> tuple[Tensor, Tensor]:
        z = self.conv_mu(self._hidden(x, edge_index, edge_weight), edge_index, edge_weight)
        return z, z.new_zeros(())

    def encode(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        """The node embeddings ``Z`` (the mean for the variational model)."""
        return self.forward(x, edge_index, edge_weight)[0]

    def decode(self, z: Tensor, pairs: Tensor) -> Tensor:
        """``[B]`` logits of the pairs ``[2, B]``."""
        return self.decoder(z, pairs)


class VGAE(GAE):
    r"""Variational graph auto-encoder, Kipf & Welling 2016, https://arxiv.org/abs/1611.07308.

    .. math::
        q(z_i \mid X, A) = \mathcal N\big(\mu_i, \mathrm{diag}(\sigma_i^2)\big),\quad
        \mu = \mathrm{GCN}_\mu(X, A),\ \log\sigma = \mathrm{GCN}_\sigma(X, A)

    with the two heads sharing the first layer. In training ``forward``
    returns a reparameterised sample :math:`z = \mu + \sigma \odot \epsilon`
    and the penalty :math:`\tfrac{1}{N}\mathrm{KL}(q \| \mathcal N(0, I))`; in
    evaluation it returns :math:`\mu` and zero, as the paper's code does.

    Args:
        in_channels: input features per node.
        hidden_channels: width of the shared first layer (paper: 32).
        out_channels: embedding width (paper: 16).
        dropout: dropout on each layer's input (paper: 0).
    """

    variational = True

    def __init__(self, in_channels: int, hidden_channels: int = 32, out_channels: int = 16,
                 dropout: float = 0.0) -> None:
        super().__init__(in_channels, hidden_channels, out_channels, dropout)
        self.conv_logstd = GCNConv(hidden_channels, out_channels, cached=True)

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR,
                edge_weight: Tensor | None = None) -> tuple[Tensor, Tensor]:
        h = self._hidden(x, edge_index, edge_weight)
        if not self.training:
            mu = self.conv_mu(h, edge_index, edge_weight)
            return mu, mu.new_zeros(())
        return _sample_joint(self._heads(h, edge_index, edge_weight))

    def _heads(self, h: Tensor, edge_index: Tensor | CSR, edge_weight: Tensor | None) -> Tensor:
        """``[μ | log σ]``, ``[N, 2D]``. The two heads are GCN layers on the
        same input and graph, so ``Â (H [W_μ | W_σ]) + [b_μ | b_σ]`` computes
        both with one sparse product of twice the width (the same numbers as
        two layers); heads that are not plain, identically configured
        ``GCNConv`` run as two layers."""
        a, b = self.conv_mu, self.conv_logstd
        same = all(getattr(a, k) == getattr(b, k) for k in ("normalize", "add_self_loops", "improved"))
        if not (type(a) is GCNConv and type(b) is GCNConv and same and a.bias is not None and b.bias is not None):
            return torch.cat([a(h, edge_index, edge_weight), b(h, edge_index, edge_weight)], 1)
        block = a.prepare(edge_index, edge_weight, h.size(0), h.dtype)
        both = a.propagate(h @ torch.cat([a.lin.weight, b.lin.weight]).t(), block)
        return both.add_(torch.cat([a.bias, b.bias]))  # (the product's output is fresh and saved by no backward)


class SparseProjection(nn.Module):
    r"""A linear projection of (sparse) node features, then ``encoder``:
    :math:`Z = \mathrm{encoder}(X W)`.

    For encoders whose first layer reads dense input (``GraphSAGE``): with
    ``X`` a ``CSR`` the product costs ``nnz(X) · out_channels`` and memory
    follows the non-zeros instead of ``N · F``.

    Args:
        in_channels: input features per node.
        out_channels: width of the projection (the encoder's input).
        encoder: a module ``encoder(h, edge_index, edge_weight)``.
    """

    def __init__(self, in_channels: int, out_channels: int, encoder: nn.Module) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.encoder = encoder

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        check_input(x, self.in_channels, "SparseProjection")
        return self.encoder(linear(x, self.lin), edge_index, edge_weight)


class LinkPredictor(nn.Module):
    """Any node encoder followed by a pair decoder, trained with BCE on sampled negatives.

    Args:
        encoder: a module ``encoder(x, edge_index, edge_weight) → [N, D]``,
            e.g. ``gnnkit.nn.models.GraphSAGE`` or ``GCN``.
        channels: the encoder's output width ``D``.
        decoder: ``"dot"`` (inner product), ``"hadamard"`` (linear on
            ``z_u ⊙ z_v``) or ``"mlp"`` (MLP on ``z_u ⊙ z_v``), or a module
            ``decoder(z, pairs) → [B]``. Default ``"dot"``.

    Shapes:
        forward: x, edge_index → ``(z [N, D], 0)``; decode: z, pairs ``[2, B]`` → ``[B]``.
    """

    variational = False

    def __init__(self, encoder: nn.Module, channels: int, decoder: str | nn.Module = "dot") -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = make_decoder(decoder, channels) if isinstance(decoder, str) else decoder

    def forward(self, x: Tensor | CSR, edge_index: Tensor | CSR,
                edge_weight: Tensor | None = None) -> tuple[Tensor, Tensor]:
        z = self.encoder(x, edge_index, edge_weight)
        return z, z.new_zeros(())

    def encode(self, x: Tensor | CSR, edge_index: Tensor | CSR, edge_weight: Tensor | None = None) -> Tensor:
        """The node embeddings ``Z``."""
        return self.forward(x, edge_index, edge_weight)[0]

    def decode(self, z: Tensor, pairs: Tensor) -> Tensor:
        """``[B]`` logits of the pairs ``[2, B]``."""
        return self.decoder(z, pairs)


__all__ = ["DECODERS", "GAE", "dropout", "VGAE", "DotDecoder", "HadamardDecoder", "LinkPredictor", "MLPDecoder", "SparseProjection",
           "dense_recon_loss", "kl_penalty", "link_bce_loss", "make_decoder", "sample_with_kl"]
