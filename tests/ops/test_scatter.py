import pytest
import torch

from gnnkit.ops import available_backends, get_backend, scatter, segment, set_backend
from gnnkit_testing import require


def loop_reference(src, index, n, reduce):
    out = torch.zeros((n,) + tuple(src.shape[1:]), dtype=torch.float64)
    for i in range(n):
        rows = src[index == i].double()
        if rows.numel() == 0:
            continue
        out[i] = {"sum": rows.sum(0), "mean": rows.mean(0), "max": rows.max(0).values, "min": rows.min(0).values}[reduce]
    return out


@pytest.fixture(params=available_backends())
def backend(request):
    previous = get_backend()
    set_backend(request.param)
    yield request.param
    set_backend(previous)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("deterministic", [False, True])
def test_scatter_matches_loop_reference(backend, reduce, deterministic):
    g = torch.Generator().manual_seed(1)
    src = torch.randn(40, 3, generator=g)
    index = torch.randint(0, 9, (40,), generator=g)  # node 9 receives nothing
    out = scatter(src, index, 10, reduce=reduce, deterministic=deterministic)
    torch.testing.assert_close(out.double(), loop_reference(src, index, 10, reduce), atol=1e-6, rtol=1e-6)
    assert torch.all(out[9] == 0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_accumulates_in_fp32(backend, dtype):
    # 4096 copies of 1 + 2^-10: fp16 running sums stall at 2048, fp32 accumulation does not.
    src = torch.full((4096, 1), 1.0 + 2**-10, dtype=dtype)
    index = torch.zeros(4096, dtype=torch.long)
    out = scatter(src, index, 1, reduce="sum")
    assert out.dtype == dtype
    assert abs(float(out) - 4096 * float(src[0])) / 4096 < 1e-2


def test_deterministic_is_bit_identical():
    g = torch.Generator().manual_seed(0)
    src = torch.randn(20000, 8, generator=g)
    index = torch.randint(0, 50, (20000,), generator=g)
    a = scatter(src, index, 50, deterministic=True)
    b = scatter(src, index, 50, deterministic=True)
    assert torch.equal(a, b)


def test_backends_agree():
    # `make dev` builds torch-scatter from source (no wheel exists for every torch): under CI=true a
    # missing one fails here instead of leaving the backend untested.
    require("torch_scatter", "the [scatter] extra, built by `make dev`: pip install --no-build-isolation torch-scatter")
    assert "torch_scatter" in available_backends()
    src = torch.randn(100, 4)
    index = torch.randint(0, 12, (100,))
    previous = get_backend()
    try:
        results = {}
        for name in ("torch", "torch_scatter"):
            set_backend(name)
            results[name] = [scatter(src, index, 12, reduce=r) for r in ("sum", "mean", "max", "min")]
    finally:
        set_backend(previous)
    for a, b in zip(results["torch"], results["torch_scatter"]):
        torch.testing.assert_close(a, b)


def test_set_backend_auto_and_errors():
    previous = get_backend()
    try:
        assert set_backend("auto") in available_backends()
        with pytest.raises(ValueError, match="unknown scatter backend"):
            set_backend("cuda_magic")
    finally:
        set_backend(previous)


def test_segment_matches_scatter():
    rowptr = torch.tensor([0, 2, 2, 5, 6])
    src = torch.randn(6, 3)
    index = torch.repeat_interleave(torch.arange(4), rowptr[1:] - rowptr[:-1])
    for reduce in ("sum", "mean", "max", "min"):
        torch.testing.assert_close(segment(src, rowptr, reduce), scatter(src, index, 4, reduce))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_gradcheck(reduce):
    src = torch.randn(15, 2, dtype=torch.float64, requires_grad=True)
    index = torch.tensor([0, 1, 1, 3, 3, 3, 0, 5, 5, 1, 0, 3, 5, 5, 1])
    assert torch.autograd.gradcheck(lambda s: scatter(s, index, 6, reduce=reduce), (src,))
    assert torch.autograd.gradcheck(lambda s: scatter(s, index, 6, reduce=reduce, deterministic=True), (src,))
    rowptr = torch.tensor([0, 3, 3, 9, 15])
    assert torch.autograd.gradcheck(lambda s: segment(s, rowptr, reduce), (src,))


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown reduce"):
        scatter(torch.ones(3), torch.zeros(3, dtype=torch.long), 1, reduce="median")
    with pytest.raises(ValueError, match="one entry per row"):
        scatter(torch.ones(3, 2), torch.zeros(4, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="rowptr"):
        segment(torch.ones(3), torch.tensor([0, 2]))


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_tied_extremes_share_the_gradient_on_every_backend(backend, reduce):
    # two tied maxima (minima) in group 0: each gets half of the gradient, as in torch and PyG
    src = torch.tensor([[1.0], [3.0], [3.0], [-1.0], [-1.0]], requires_grad=True)
    if reduce == "min":
        src = (-src).detach().requires_grad_()
    scatter(src, torch.tensor([0, 0, 0, 1, 1]), 2, reduce=reduce).sum().backward()
    assert src.grad.flatten().tolist() == [0.0, 0.5, 0.5, 0.5, 0.5]


def test_pyg_argument_order_dim_and_add():
    pyg = require("torch_geometric")
    src = torch.randn(3, 6, 2, dtype=torch.float64)
    index = torch.tensor([0, 0, 1, 1, 1, 3])
    for reduce in ("sum", "mean", "max", "min"):
        want = pyg.utils.scatter(src, index, 1, 5, reduce)
        torch.testing.assert_close(scatter(src, index, 1, 5, reduce), want)  # PyG's positional order
        torch.testing.assert_close(scatter(src, index, 5, reduce, dim=1), want)
        torch.testing.assert_close(scatter(src, index, dim=-2, dim_size=5, reduce=reduce), want)
    torch.testing.assert_close(scatter(src[0], index, reduce="add"), pyg.utils.scatter(src[0], index, reduce="sum"))
