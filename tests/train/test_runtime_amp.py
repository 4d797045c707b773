"""gnnkit.train.runtime.autocast: bf16 on a CPU without bf16 instructions says once that it is slower."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch

from gnnkit.train import runtime

CPU = torch.device("cpu")


@pytest.fixture
def fresh_warning():
    """The once-per-process warning, re-armed before and after the test."""
    runtime._warn_slow_cpu_bf16.cache_clear()
    yield
    runtime._warn_slow_cpu_bf16.cache_clear()


def _enter_autocast_steps(steps: int) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # count every warning issued, not Python's once-per-location view
        for _ in range(steps):
            with runtime.autocast(CPU, "bf16"):
                torch.ones(2, 2) @ torch.ones(2, 2)
    return [w for w in caught if "bf16" in str(w.message)]


def test_bf16_on_a_cpu_without_bf16_instructions_warns_once_and_says_what_to_do(monkeypatch, fresh_warning):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    caught = _enter_autocast_steps(5)  # one autocast per training step: still one warning
    assert len(caught) == 1
    message = str(caught[0].message)
    assert caught[0].category is RuntimeWarning
    assert "slower than fp32" in message and "AVX512-BF16" in message and "--amp none" in message
    # the figures measured in docs/performance.md's table, as that table gives them today
    table = (Path(__file__).resolve().parents[2] / "docs" / "performance.md").read_text()
    ratios = re.findall(r"^\| (?:Cora|synthetic)[^\n]*\| ([0-9.]+) \|$", table, flags=re.M)
    assert len(ratios) == 2 and f"{ratios[0]}x" in message and f"{ratios[1]}x" in message


def test_bf16_on_a_cpu_with_bf16_instructions_is_silent(monkeypatch, fresh_warning):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    assert _enter_autocast_steps(2) == []


def test_no_amp_and_fp16_do_not_give_the_bf16_warning(monkeypatch, fresh_warning):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with runtime.autocast(CPU, None):
            pass
        with runtime.autocast(CPU, "fp16"):
            pass
    assert not [w for w in caught if "bf16 on this CPU" in str(w.message)]


def test_fp16_on_the_cpu_warns_once_per_process():
    runtime._warn_cpu_fp16.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):  # training steps and evaluation enter autocast from different places
                with runtime.autocast(CPU, "fp16"):
                    pass
        assert [str(w.message) for w in caught].count("fp16 autocast on CPU is slow and lossy; bf16 is the CPU "
                                                      "choice") == 1
    finally:
        runtime._warn_cpu_fp16.cache_clear()


@pytest.mark.parametrize("cpuinfo, native", [
    ("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n", False),
    ("flags\t\t: fpu avx512f avx512_bf16 avx512_vnni\n", True),
    ("flags\t\t: fpu avx512f amx_bf16 amx_tile amx_int8\n", True),
    ("Features\t: fp asimd evtstrm aes bf16 i8mm\n", True),
    ("Features\t: fp asimd evtstrm aes\n", False),
    ("model name\t: bf16 in a name is not a flag\n", False),
])
def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo, native):
    assert runtime.native_bf16_in(cpuinfo) is native
