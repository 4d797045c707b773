"""Deprecated: moved to ``gnnkit.train.runtime`` (device, seeds, RNG state,
mixed precision, eval mode); ``CSVLogger`` became ``gnnkit.train.logs.MetricLog``."""
from __future__ import annotations

import warnings

from gnnkit.train.runtime import (  # noqa: F401
    AMP_DTYPES,
    autocast,
    eval_mode,
    grad_scaler,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
)

warnings.warn("gnnkit.train.utils is deprecated; import from gnnkit.train.runtime", DeprecationWarning, stacklevel=2)
