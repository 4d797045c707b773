"""BSPM: GF-CF's filter sharpened by an ODE solver, against a dense float64 computation."""
import math

import pytest
import torch

from gnnkit.nn.models.bspm import BSPM
from gnnkit.nn.models.gfcf import GFCF

from test_rec_models import clustered, dense_gfcf, dense_normalized


def dense_bspm(train, num_users, num_items, k, beta, time, steps, solver) -> torch.Tensor:
    """Every user's BSPM scores: GF-CF's ``R (P + β P_k)`` times ``steps`` solver
    steps of ``ds/dt = -s P``, written as matrix polynomials of the dense ``P``."""
    _, rt, _, _ = dense_normalized(train, num_users, num_items)
    p = rt.t() @ rt
    h = time / steps
    eye = torch.eye(num_items, dtype=torch.float64)
    if solver == "euler":
        step = eye - h * p
    else:  # one RK4 step of a linear equation: the degree-4 Taylor polynomial of exp(-hP)
        step = sum(torch.linalg.matrix_power(-h * p, j) / math.factorial(j) for j in range(5))
    return dense_gfcf(train, num_users, num_items, k, beta) @ torch.linalg.matrix_power(step, steps)


@pytest.mark.parametrize("solver,steps,time", [("rk4", 1, 2.5), ("rk4", 3, 1.0), ("euler", 2, 1.2), ("rk4", 2, 0.0)])
def test_bspm_scores_match_the_dense_formula(solver, steps, time):
    data = clustered()
    torch.manual_seed(0)
    model = BSPM(data.num_users, data.num_items, k=6, beta=0.2, sharpen_time=time, sharpen_steps=steps,
                 solver=solver, niter=30).fit(data.train_interactions)
    want = dense_bspm(data.train_interactions, data.num_users, data.num_items, 6, 0.2, time, steps, solver)
    torch.testing.assert_close(model.scores(torch.arange(data.num_users)).double(), want, atol=2e-5, rtol=1e-4)


def test_bspm_rk4_step_is_not_the_euler_step_and_time_zero_is_gfcf():
    data = clustered(seed=5)
    users = torch.arange(data.num_users)
    scores = {}
    for name, kwargs in {"rk4": {"solver": "rk4"}, "euler": {"solver": "euler"}, "zero": {"sharpen_time": 0.0}}.items():
        torch.manual_seed(1)
        scores[name] = BSPM(data.num_users, data.num_items, k=4, **kwargs).fit(data.train_interactions).scores(users)
    torch.manual_seed(1)
    gfcf = GFCF(data.num_users, data.num_items, k=4, alpha=0.2, dense_item_limit=0).fit(data.train_interactions)
    torch.testing.assert_close(scores["zero"], gfcf.scores(users))
    assert (scores["rk4"] - scores["euler"]).abs().max() > 1e-2


def test_bspm_batch_scorer_matches_scores_batch_by_batch():
    data = clustered(seed=6)
    model = BSPM(data.num_users, data.num_items, k=4, sharpen_steps=2).fit(data.train_interactions)
    score = model.batch_scorer()
    for users in (torch.arange(0, 16), torch.arange(16, 21)):  # a smaller last batch reuses the buffers
        torch.testing.assert_close(score(users).clone(), model.scores(users))


def test_bspm_export_rebuilds_the_same_model():
    data = clustered(seed=2)
    model = BSPM(data.num_users, data.num_items, k=5, beta=0.1, sharpen_time=1.5, sharpen_steps=2,
                 solver="euler").fit(data.train_interactions)
    again = BSPM.from_export(model.export())
    assert (again.k, again.beta, again.sharpen_time, again.sharpen_steps, again.solver) == (5, 0.1, 1.5, 2, "euler")
    users = torch.arange(0, 60, 7)
    torch.testing.assert_close(again.scores(users), model.scores(users), atol=1e-6, rtol=1e-5)
    assert "sharpen_time=1.5" in repr(again)


def test_bspm_bad_arguments():
    with pytest.raises(ValueError, match="sharpen_time must be"):
        BSPM(3, 4, sharpen_time=-1.0)
    with pytest.raises(ValueError, match="sharpen_time must be"):
        BSPM(3, 4, sharpen_time=float("nan"))
    with pytest.raises(ValueError, match="sharpen_steps must be"):
        BSPM(3, 4, sharpen_steps=0)
    with pytest.raises(ValueError, match="solver must be one of euler, rk4"):
        BSPM(3, 4, solver="dopri5")
    with pytest.raises(ValueError, match="alpha must be"):
        BSPM(3, 4, beta=-0.5)
    with pytest.raises(RuntimeError, match="call fit"):
        BSPM(3, 4).scores(torch.tensor([0]))

