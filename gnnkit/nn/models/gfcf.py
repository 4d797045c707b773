"""GF-CF (Shen et al., CIKM 2021): a graph filter over the item–item graph, no training."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from gnnkit.nn.models.lightgcn import _check_ids
from gnnkit.ops.sparse import csr_to_dense, torch_csr

# Above this many items the dense item–item filter (num_items² floats) is not
# built: 20,000 items are 1.6 GB in float32. The factored path gives the same
# scores without it.
DENSE_ITEM_LIMIT = 20_000


def _orthonormalize(b: Tensor, rounds: int = 2) -> Tensor:
    """An orthonormal basis of the columns of ``b`` ``[n, q]``: CholeskyQR2 (two
    rounds of ``b L^{-T}`` with ``LLᵀ = bᵀb``, the Cholesky factor and its
    inverse in float64, then one GEMM; several times faster than Householder
    QR on a CPU), Householder QR when the Gram matrix is too ill-conditioned
    for Cholesky. One round (``rounds=1``) leaves an orthogonality error of
    about cond(b)² × eps: a well-conditioned basis, enough between two steps
    of a subspace iteration."""
    out = b
    eye = torch.eye(b.size(1), dtype=torch.float64, device=b.device)
    for _ in range(rounds):
        chol, info = torch.linalg.cholesky_ex((out.t() @ out).double())
        if int(info) != 0 or not bool(torch.isfinite(chol).all()):
            return torch.linalg.qr(b).Q
        out = out @ torch.linalg.solve_triangular(chol.t(), eye, upper=True).to(b.dtype)
    return out


def top_right_singular_vectors(a: Tensor, a_t: Tensor, k: int, niter: int = 2) -> Tensor:
    r"""``[n, k]`` the top-``k`` right singular vectors of the sparse ``a`` ``[m, n]``
    (``a_t`` its transpose), largest first, by randomized subspace iteration
    with ``q = 2k`` columns (Halko et al. 2011, Alg. 4.4, re-orthonormalised
    after every multiplication by :math:`a^\top a`) and a Rayleigh–Ritz step
    (eigenvectors of :math:`Q^\top a^\top a Q`); only CSR × dense products and
    ``[·, q]`` × ``[q, q]`` dense work.

    Args:
        a: sparse CSR ``[m, n]``.
        a_t: its transpose as sparse CSR ``[n, m]``.
        k: how many vectors (``<= min(m, n)``).
        niter: subspace iterations (default 2: with ``2k`` columns the top ``k``
            vectors give GF-CF's Gowalla figures of 4 iterations, in under half the time).
    """
    m, n = a.shape
    q = min(2 * k, m, n)
    # Gaussian columns are already well conditioned: only the basis the
    # Rayleigh–Ritz step uses must be orthonormal to working precision
    basis = torch.randn(n, q, device=a.device)
    if niter == 0:
        basis = _orthonormalize(basis)
    for step in range(niter):
        # the columns of aᵀa Q span (σ_1/σ_q)² at most: one orthonormalisation per step is enough
        basis = _orthonormalize(torch.sparse.mm(a_t, torch.sparse.mm(a, basis)), 2 if step == niter - 1 else 1)
    small = torch.sparse.mm(a, basis)  # [m, q]
    _, vecs = torch.linalg.eigh((small.t() @ small).double())  # ascending eigenvalues σ²
    return basis @ vecs[:, -k:].flip(1).to(basis.dtype)


class GFCF(nn.Module):
    r"""GF-CF, "How Powerful is Graph Convolution for Recommendation?",
    https://arxiv.org/abs/2108.07567.

    With the binary interactions :math:`R` (users × items), the normalised
    :math:`\tilde R = D_U^{-1/2} R D_I^{-1/2}` and :math:`V_k` its top-``k``
    right singular vectors, a user's scores are the linear low-pass filter plus
    ``alpha`` times the ideal low-pass filter:

    .. math::
        s_u = r_u \left(\tilde R^\top \tilde R
              + \alpha\, D_I^{-1/2} V_k V_k^\top D_I^{1/2}\right)

    Nothing is trained: ``fit`` builds :math:`\tilde R` and the singular
    vectors (``top_right_singular_vectors``: a randomized subspace iteration
    with ``2k`` columns so the top ``k`` are accurate). With at most
    ``dense_item_limit`` items the bracket is stored as one dense
    items × items matrix and a batch of users is one sparse × dense product;
    above it the scores are computed factored and transposed (items × users),
    :math:`(\tilde R^\top (\tilde R\, r_u^\top)) + \alpha\, (D_I^{1/2} V_k) ((r_u D_I^{-1/2} V_k)^\top)`,
    without any items × items matrix (same scores, more work per batch): a
    sparse × sparse product (a user's items reach few users), one SpMM of
    :math:`\tilde R^\top` with the dense users × batch matrix, and the
    rank-``k`` GEMM added in place. It is fastest in batches of
    ``score_batch_size`` users (the users × batch matrix then stays in the
    CPU's cache) and keeps its two ``[users, B]`` and ``[items, B]`` work
    matrices between calls (``workspace``): a fresh tensor of that size costs
    more in page faults than the product that fills it. ``scores`` returns a
    new ``[B, I]`` tensor; ``batch_scorer`` returns the work matrix itself,
    transposed, for a ranking that reads it in place.

    The fitted tensors are plain attributes, not parameters or buffers: the
    model's ``state_dict`` is empty and ``fit`` rebuilds them.

    Args:
        num_users: number of users (ids ``0 .. num_users - 1``).
        num_items: number of items (ids ``0 .. num_items - 1``).
        k: singular vectors of the ideal filter (default 256, the paper's;
            at most ``min(num_users, num_items)`` are used).
        alpha: weight of the ideal filter (default 0.3, the paper's).
        niter: subspace iterations of the randomized SVD (default 2).
        dense_item_limit: most items for the dense filter (default 20,000).

    Shapes:
        ``fit(interactions [2, n])``; ``scores(users [B])`` → ``[B, num_items]``.
    """

    def __init__(self, num_users: int, num_items: int, k: int = 256, alpha: float = 0.3, niter: int = 2,
                 dense_item_limit: int = DENSE_ITEM_LIMIT) -> None:
        super().__init__()
        _check_ids(num_users, num_items, 1)
        if k < 0:
            raise ValueError(f"k must be >= 0 singular vectors, got {k}")
        if not math.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite weight >= 0, got {alpha}")
        if niter < 0:
            raise ValueError(f"niter must be >= 0, got {niter}")
        self.num_users, self.num_items, self.k, self.alpha = num_users, num_items, k, float(alpha)
        self.niter, self.dense_item_limit = niter, dense_item_limit
        self.fitted = False
        self.workspace: dict[str, Tensor] = {}

    @property
    def uses_dense_filter(self) -> bool:
        """Whether ``fit`` builds the dense items × items filter."""
        return self.num_items <= self.dense_item_limit

    @property
    def score_batch_size(self) -> int | None:
        """Users per batch the factored filter is fastest with (128: Gowalla's
        full evaluation, one thread, took 14.5 s in batches of 128, 15.2 s of
        64 and 15.0 s of 256), ``None`` for the dense filter (any batch: one
        sparse × dense product)."""
        return None if self.uses_dense_filter else 128

    def fit(self, interactions: Tensor) -> GFCF:
        """Build the filter from the interactions (duplicates merged).

        Args:
            interactions: ``[2, n]`` (user row, item row).
        """
        nu, ni = self.num_users, self.num_items
        key = torch.unique(interactions[0].long() * ni + interactions[1].long())
        users, items = key // ni, key % ni
        dev = key.device
        deg_u = torch.bincount(users, minlength=nu).float()
        deg_i = torch.bincount(items, minlength=ni).float()
        inv_u = deg_u.pow(-0.5).masked_fill_(deg_u == 0, 0)
        self.item_scale = deg_i.pow(-0.5).masked_fill_(deg_i == 0, 0)  # D_I^{-1/2}
        values = inv_u[users] * self.item_scale[items]
        self.rowptr = torch.zeros(nu + 1, dtype=torch.long, device=dev)
        torch.cumsum(torch.bincount(users, minlength=nu), 0, out=self.rowptr[1:])
        self.cols = items
        self.norm_adj = torch_csr(self.rowptr, items, values, (nu, ni))
        order = torch.argsort(items, stable=True)
        crow_t = torch.zeros(ni + 1, dtype=torch.long, device=dev)
        torch.cumsum(torch.bincount(items, minlength=ni), 0, out=crow_t[1:])
        self.norm_adj_t = torch_csr(crow_t, users[order], values[order], (ni, nu))
        k = min(self.k, nu, ni)
        if k > 0:
            v = top_right_singular_vectors(self.norm_adj, self.norm_adj_t, k, self.niter)
            self.left = v * self.item_scale.unsqueeze(1)  # D_I^{-1/2} V_k
            self.right_t = v * deg_i.sqrt().unsqueeze(1)  # D_I^{1/2} V_k: (V_k^T D_I^{1/2})^T, contiguous
        else:
            self.left = self.right_t = None
        self.filter = self._dense_filter() if self.uses_dense_filter else None
        self.workspace = {}
        self.fitted = True
        return self

    def _dense_filter(self) -> Tensor:
        """``R̃ᵀR̃ + α D^{-1/2} V Vᵀ D^{1/2}`` as one dense ``[I, I]`` matrix."""
        # sparse x sparse, then dense: never an users x items dense matrix
        p = torch.sparse.mm(self.norm_adj_t, self.norm_adj).to_dense()
        if self.left is not None and self.alpha:
            p.addmm_(self.left, self.right_t.t(), alpha=self.alpha)
        return p

    def _rows(self, users: Tensor) -> Tensor:
        """The binary interaction rows of ``users`` as a sparse CSR ``[B, I]``."""
        starts, ends = self.rowptr[users], self.rowptr[users + 1]
        counts = ends - starts
        crow = torch.zeros(users.numel() + 1, dtype=torch.long, device=users.device)
        torch.cumsum(counts, 0, out=crow[1:])
        seg = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), counts)
        cols = self.cols[torch.arange(seg.numel(), device=users.device) - crow[seg] + starts[seg]]
        return torch_csr(crow, cols, torch.ones(cols.numel(), device=users.device), (users.numel(), self.num_items))

    def scores(self, users: Tensor, out: Tensor | None = None) -> Tensor:
        """``[B, I]`` filtered scores of ``users`` (their own items not masked).

        Args:
            users: ``[B]`` user ids.
            out: ``[B, I]`` float tensor to write the scores into (default: a new one).
        """
        if not self.fitted:
            raise RuntimeError("GFCF.scores needs the interactions first: call fit(interactions)")
        x = self._rows(users.long())
        if out is None:
            out = torch.empty(x.size(0), self.num_items, device=x.device)
        if self.filter is not None:
            return torch.mm(x, self.filter, out=out)
        return out.copy_(self._factored_t(x).t())

    def _factored_t(self, x: Tensor) -> Tensor:
        """``[I, B]`` the scores of the binary rows ``x`` ``[B, I]``, transposed,
        by the factored filter, in the workspace (valid until the next call)."""
        # X R̃ᵀ is sparse x sparse (a user's items reach few users); scattered transposed
        y_t = csr_to_dense(torch.sparse.mm(x, self.norm_adj_t), self._buffer("y_t", self.num_users, x), transpose=True)
        lin_t = torch.mm(self.norm_adj_t, y_t, out=self._buffer("lin_t", self.num_items, x))  # [I, B]
        if self.left is not None and self.alpha:
            # both factors contiguous: 20 % faster than GEMM on transposed views here
            lin_t.addmm_(self.right_t, torch.sparse.mm(x, self.left).t().contiguous(), alpha=self.alpha)
        return lin_t

    def batch_scorer(self) -> Callable[[Tensor], Tensor]:
        """``scores`` for one pass over the users in batches (``evaluate_scores``,
        best with ``batch_size=score_batch_size``): every call writes into the
        same buffer, so each result is valid until the next call (a fresh
        ``[B, I]`` tensor per batch costs more in page faults than the GEMM that
        fills it). The factored filter returns its ``[I, B]`` work matrix
        transposed (a column-major ``[B, I]`` view), which
        ``gnnkit.train.ranking.top_k_indices`` ranks without a copy."""
        if self.filter is None:
            def factored(users: Tensor) -> Tensor:
                if not self.fitted:
                    raise RuntimeError("GFCF.scores needs the interactions first: call fit(interactions)")
                return self._factored_t(self._rows(users.long())).t()
            return factored
        buf = torch.empty(0)

        def score(users: Tensor) -> Tensor:
            nonlocal buf
            if buf.size(0) < users.numel() or buf.device != users.device:
                buf = torch.empty(users.numel(), self.num_items, device=users.device)
            return self.scores(users, out=buf[: users.numel()])
        return score

    def _buffer(self, name: str, rows: int, x: Tensor) -> Tensor:
        """A contiguous ``[rows, B]`` work matrix on the storage kept for the
        largest batch seen (a smaller last batch uses its first ``rows × B`` floats)."""
        need = rows * x.size(0)
        buf = self.workspace.get(name)
        if buf is None or buf.numel() < need or buf.device != x.device:
            buf = self.workspace[name] = torch.empty(need, device=x.device)
        return buf[:need].view(rows, x.size(0))

    def forward(self, users: Tensor) -> Tensor:
        """``scores(users)``."""
        return self.scores(users)

    def export(self) -> dict[str, Tensor | float | int]:
        """What ``from_export`` needs to score again (no dense filter: it is rebuilt when small)."""
        return {"kind": "gfcf", "num_users": self.num_users, "num_items": self.num_items, "k": self.k, "alpha": self.alpha,
                "rowptr": self.rowptr.cpu(), "cols": self.cols.cpu(), "norm_values": self.norm_adj.values().cpu(),
                "item_scale": self.item_scale.cpu(),
                "left": None if self.left is None else self.left.cpu(),
                "right": None if self.right_t is None else self.right_t.t().contiguous().cpu()}

    @staticmethod
    def _init_args(state: dict) -> dict:
        """The constructor's arguments recorded in ``export()``."""
        return {"num_users": int(state["num_users"]), "num_items": int(state["num_items"]), "k": int(state["k"]),
                "alpha": float(state["alpha"])}

    @classmethod
    def from_export(cls, state: dict, dense: bool = False) -> GFCF:
        """Rebuild a fitted model from ``export()`` without a new SVD.

        Args:
            state: what ``export()`` returned.
            dense: also build the dense filter when the items allow it (default ``False``).
        """
        model = cls(**cls._init_args(state))
        nu, ni = model.num_users, model.num_items
        model.rowptr, model.cols, model.item_scale = state["rowptr"], state["cols"], state["item_scale"]
        model.left = state["left"]
        model.right_t = None if state["right"] is None else state["right"].t().contiguous()
        values = state["norm_values"]
        model.norm_adj = torch_csr(model.rowptr, model.cols, values, (nu, ni))
        users = torch.repeat_interleave(torch.arange(nu), model.rowptr.diff())
        order = torch.argsort(model.cols, stable=True)
        crow_t = torch.zeros(ni + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(model.cols, minlength=ni), 0, out=crow_t[1:])
        model.norm_adj_t = torch_csr(crow_t, users[order], values[order], (ni, nu))
        model.filter = model._dense_filter() if dense and model.uses_dense_filter else None
        model.fitted = True
        return model

    def extra_repr(self) -> str:
        return f"users={self.num_users}, items={self.num_items}, k={self.k}, alpha={self.alpha}"
