"""What every run needs from the machine: the device, seeds and RNG state, mixed precision, eval mode."""
from __future__ import annotations

import contextlib
import functools
import random
import warnings
from typing import Any, Iterator

import numpy as np
import torch

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else is checked."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'") from err
    if dev.type not in ("cpu", "cuda") or (dev.type == "cpu" and dev.index not in (None, 0)):
        # (mps, xpu ... ended in a backend's traceback; "cpu:1" was taken as the one CPU)
        raise ValueError(f"device {device!r} is not one gnnkit runs on: use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here; use --device cpu or auto")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """The random generators' state as tensors, numbers and lists, so that it
    round-trips through ``torch.load(weights_only=True)``."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state = {
        "torch": torch.get_rng_state(),
        "python": [version, list(internal), gauss],
        "numpy": [torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` returned."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def autocast(device: torch.device, amp: str | None) -> contextlib.AbstractContextManager:
    """Autocast context for ``amp`` in (``None``, ``"bf16"``, ``"fp16"``)."""
    if amp is None:
        return contextlib.nullcontext()
    if amp not in AMP_DTYPES:
        raise ValueError(f"amp must be None, 'bf16' or 'fp16', got {amp!r}")
    if amp == "fp16" and device.type == "cpu":
        _warn_cpu_fp16()
    if amp == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        _warn_slow_cpu_bf16()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


# Flags of CPUs that compute in bf16 natively: x86 AMX or AVX512-BF16, Arm's BF16 extension.
_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16", "bf16"})


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic instructions (``/proc/cpuinfo`` flags
    ``amx_bf16``, ``avx512_bf16`` or Arm's ``bf16``). Without them bf16 autocast
    is emulated and slower than fp32. Where the flags cannot be read (not
    Linux), ``True``: no claim is made."""
    try:
        with open("/proc/cpuinfo") as fh:
            return native_bf16_in(fh.read())
    except OSError:
        return True


def native_bf16_in(cpuinfo: str) -> bool:
    """Whether the ``flags`` (x86) or ``Features`` (Arm) lines of ``cpuinfo`` name a bf16 instruction set."""
    flags = {word for line in cpuinfo.splitlines() if line.startswith(("flags", "Features")) for word in line.split()}
    return bool(flags & _BF16_FLAGS)


@functools.lru_cache(maxsize=1)  # once per process, whichever step enters autocast first
def _warn_cpu_fp16() -> None:
    warnings.warn("fp16 autocast on CPU is slow and lossy; bf16 is the CPU choice", stacklevel=4)


@functools.lru_cache(maxsize=1)  # once per process: autocast() is entered for every training step
def _warn_slow_cpu_bf16() -> None:
    warnings.warn(
        "bf16 on this CPU is slower than fp32: it has no AMX or AVX512-BF16 instructions, so bf16 autocast is "
        "emulated (a GCN training epoch took 1.23x as long as fp32 on Cora and 1.15x on a 2M-edge graph on such "
        "a CPU; docs/performance.md, 'bf16 autocast on CPU'); use --amp none (amp=None)",
        RuntimeWarning, stacklevel=3,
    )


def grad_scaler(device: torch.device, amp: str | None):
    """A GradScaler for fp16 on CUDA, else a disabled one."""
    return torch.amp.GradScaler(device.type, enabled=(amp == "fp16" and device.type == "cuda"))


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """``model.eval()`` and ``torch.no_grad()`` for the block, then back to the previous mode."""
    was_training = model.training
    if was_training:  # (a module tree's train()/eval() walk is not free: skipped when already evaluating)
        model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if was_training:
            model.train(True)
