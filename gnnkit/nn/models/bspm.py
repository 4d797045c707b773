"""BSPM (Choi et al., SIGIR 2023): GF-CF's filter, then a sharpening process; no training."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from gnnkit.nn.models.gfcf import GFCF

SOLVERS = ("euler", "rk4")


class BSPM(GFCF):
    r"""Blurring–sharpening process model, "Blurring-Sharpening Process Models
    for Collaborative Filtering", https://arxiv.org/abs/2211.09324 (the
    BSPM-LM variant with a final sharpening).

    With :math:`P = \tilde R^\top \tilde R` (the normalised item–item graph of
    ``GFCF``) and :math:`P_k = D_I^{-1/2} V_k V_k^\top D_I^{1/2}` its ideal
    low-pass filter, a user's binary row :math:`r_u` is first blurred, one
    Euler step of unit length of each heat equation, :math:`s(0) = r_u (P +
    \beta P_k)` (GF-CF with ``alpha = beta``), and then sharpened by solving
    :math:`\mathrm{d}s/\mathrm{d}t = -s(t)\,P` from :math:`t = 0` to
    ``sharpen_time`` in ``sharpen_steps`` steps of ``solver``:

    .. math::
        \text{euler: } s \leftarrow s\,(I - hP), \qquad
        \text{rk4: } s \leftarrow s \sum_{j=0}^{4} \frac{(-hP)^j}{j!},
        \qquad h = T / K

    (one classical Runge–Kutta step of this linear equation is exactly the
    degree-4 Taylor polynomial). The scores are :math:`s(T)`. Every
    application of :math:`P` is two sparse × dense products on the
    transposed ``[items, B]`` batch, so no items × items matrix is built
    (the dense filter of ``GFCF`` is never used): an RK4 step costs four of
    GF-CF's filter products.

    Defaults are the authors' published Gowalla command (``k`` 448, ``beta``
    0.2, one RK4 step to ``T`` = 2.5); on small data sets a smaller ``k`` and a
    shorter or no sharpening do better (docs/results.md has the table).

    Args:
        num_users: number of users.
        num_items: number of items.
        k: singular vectors of the ideal filter (default 448).
        beta: weight of the ideal filter in the blurred start (default 0.2).
        sharpen_time: ``T``, length of the sharpening process (default 2.5; 0: GF-CF).
        sharpen_steps: ``K``, solver steps (default 1).
        solver: ``"rk4"`` (default) or ``"euler"``.
        niter: subspace iterations of the randomized SVD (default 2).

    Shapes:
        ``fit(interactions [2, n])``; ``scores(users [B])`` → ``[B, num_items]``.
    """

    def __init__(self, num_users: int, num_items: int, k: int = 448, beta: float = 0.2, sharpen_time: float = 2.5,
                 sharpen_steps: int = 1, solver: str = "rk4", niter: int = 2) -> None:
        super().__init__(num_users, num_items, k=k, alpha=beta, niter=niter, dense_item_limit=0)
        if not math.isfinite(sharpen_time) or sharpen_time < 0:
            raise ValueError(f"sharpen_time must be a finite time >= 0, got {sharpen_time}")
        if sharpen_steps < 1:
            raise ValueError(f"sharpen_steps must be >= 1, got {sharpen_steps}")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
        self.sharpen_time, self.sharpen_steps, self.solver = float(sharpen_time), int(sharpen_steps), solver

    @property
    def beta(self) -> float:
        """Weight of the ideal filter (GF-CF's ``alpha``)."""
        return self.alpha

    def _apply_p(self, s_t: Tensor, x: Tensor) -> Tensor:
        """``P s`` for ``s_t`` ``[I, B]`` (``P`` is symmetric), in a workspace buffer."""
        mid = torch.mm(self.norm_adj, s_t, out=self._buffer("bspm_users", self.num_users, x))
        return torch.mm(self.norm_adj_t, mid, out=self._buffer("bspm_p", self.num_items, x))

    def _rk4_step(self, base: Tensor, x: Tensor, h: float, out: str) -> Tensor:
        """``base + h/6 (k1 + 2 k2 + 2 k3 + k4)`` with ``k_j = -P(base + c_j h k_{j-1})``,
        into the workspace buffer ``out``; ``base`` is left as it was."""
        acc = self._buffer(out, self.num_items, x).copy_(base)
        stage = base
        for weight, next_offset in ((1 / 6, 0.5), (1 / 3, 0.5), (1 / 3, 1.0), (1 / 6, None)):
            pk = self._apply_p(stage, x)  # -k_j
            acc.add_(pk, alpha=-h * weight)
            if next_offset is not None:
                stage = torch.add(base, pk, alpha=-h * next_offset, out=self._buffer("bspm_stage", self.num_items, x))
        return acc

    def _factored_t(self, x: Tensor) -> Tensor:
        s = super()._factored_t(x)  # [I, B]: r (P + beta P_k), the blurred start
        if self.sharpen_time == 0:
            return s
        h = self.sharpen_time / self.sharpen_steps
        for step in range(self.sharpen_steps):
            if self.solver == "euler":
                s.sub_(self._apply_p(s, x), alpha=h)
            else:  # two buffers in turn: each step reads the last one's result
                s = self._rk4_step(s, x, h, "bspm_a" if step % 2 == 0 else "bspm_b")
        return s

    @staticmethod
    def _init_args(state: dict) -> dict:
        return {"num_users": int(state["num_users"]), "num_items": int(state["num_items"]), "k": int(state["k"]),
                "beta": float(state["alpha"]), "sharpen_time": float(state["sharpen_time"]),
                "sharpen_steps": int(state["sharpen_steps"]), "solver": str(state["solver"])}

    def export(self) -> dict:
        """``GFCF.export()`` and the sharpening process."""
        return {**super().export(), "kind": "bspm", "sharpen_time": self.sharpen_time,
                "sharpen_steps": self.sharpen_steps, "solver": self.solver}

    def extra_repr(self) -> str:
        return (f"users={self.num_users}, items={self.num_items}, k={self.k}, beta={self.alpha}, "
                f"sharpen_time={self.sharpen_time}, sharpen_steps={self.sharpen_steps}, solver={self.solver!r}")
