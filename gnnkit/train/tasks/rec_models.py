"""The recommendation task's models: names, per-model defaults, and how to
build one and describe it for a checkpoint (``gnnkit train rec --model``)."""
from __future__ import annotations

from typing import Any

from torch import nn

from gnnkit.nn.models.bspm import BSPM
from gnnkit.nn.models.gfcf import GFCF
from gnnkit.nn.models.lightgcn import LightGCN
from gnnkit.nn.models.mf import MF, Popularity
from gnnkit.nn.models.ngcf import NGCF
from gnnkit.nn.models.simplex import SimpleX
from gnnkit.nn.models.ultragcn import UltraGCN

MODEL_KINDS = ("lightgcn", "mf", "ngcf", "simplex", "ultragcn", "pop", "gfcf", "bspm")

# Per-model training defaults of `gnnkit train rec` (and of the results table).
# LightGCN at the paper's lr 1e-3 converges too slowly for early stopping to
# wait for it; MF overfits at lr 5e-3 within ~20 epochs, so each has its own
# learning rate. Validation every 5 epochs, stop after 5 without improvement.
# UltraGCN starts from tiny embeddings (std 1e-4, the authors'): at lr 1e-3 it
# was still at popularity's level when early stopping ended it on ml-100k. Its
# patience is 10 validations: on Gowalla the validation recall dips for four
# validations after the second epoch and then climbs past its first peak, which
# a patience of 5 cut off (docs/results.md).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgcn": {"lr": 5e-3, "reg": 1e-4, "epochs": 300, "eval_every": 5, "patience": 5},
    "mf": {"lr": 1e-3, "reg": 1e-4, "epochs": 300, "eval_every": 5, "patience": 5},
    "ngcf": {"lr": 1e-3, "reg": 1e-4, "epochs": 300, "eval_every": 5, "patience": 5},
    "simplex": {"lr": 1e-3, "reg": 1e-4, "epochs": 100, "eval_every": 2, "patience": 5},
    "ultragcn": {"lr": 1e-2, "reg": 1e-4, "epochs": 300, "eval_every": 2, "patience": 10},
    "pop": {"lr": 1e-3, "reg": 0.0, "epochs": 0, "eval_every": 1, "patience": 1},
    "gfcf": {"lr": 1e-3, "reg": 0.0, "epochs": 0, "eval_every": 1, "patience": 1},
    "bspm": {"lr": 1e-3, "reg": 0.0, "epochs": 0, "eval_every": 1, "patience": 1},
}

# The graph filters' own defaults: GF-CF's paper (k 256, alpha 0.3) and BSPM's
# published Gowalla command (k 448, beta 0.2, one RK4 step to T = 2.5).
FILTER_DEFAULTS: dict[str, dict[str, float]] = {"gfcf": {"k": 256, "alpha": 0.3},
                                                "bspm": {"k": 448, "alpha": 0.2, "sharpen_time": 2.5}}


def build_model(kind: str, num_users: int, num_items: int, embedding_dim: int = 64, num_layers: int = 3,
                k: int | None = None, alpha: float | None = None, sharpen_time: float | None = None,
                sharpen_steps: int = 1) -> nn.Module:
    """``"lightgcn"``, ``"mf"``, ``"ngcf"``, ``"simplex"``, ``"ultragcn"``, ``"pop"``, ``"gfcf"`` or ``"bspm"`` with
    the given sizes (``k`` and ``alpha``: the graph filters' singular vectors and ideal-filter weight, BSPM's
    ``beta``; ``sharpen_time`` / ``sharpen_steps``: BSPM's sharpening; ``None``: ``FILTER_DEFAULTS``)."""
    if kind in FILTER_DEFAULTS:
        chosen = {name: value if given is None else given for (name, value), given
                  in zip(FILTER_DEFAULTS[kind].items(), (k, alpha, sharpen_time))}
        if kind == "bspm":
            return BSPM(num_users, num_items, k=int(chosen["k"]), beta=chosen["alpha"],
                        sharpen_time=chosen["sharpen_time"], sharpen_steps=sharpen_steps)
        return GFCF(num_users, num_items, k=int(chosen["k"]), alpha=chosen["alpha"])
    if kind == "lightgcn":
        return LightGCN(num_users, num_items, embedding_dim, num_layers)
    if kind == "mf":
        return MF(num_users, num_items, embedding_dim)
    if kind == "ngcf":
        return NGCF(num_users, num_items, embedding_dim, num_layers)
    if kind == "simplex":
        return SimpleX(num_users, num_items, embedding_dim)
    if kind == "ultragcn":
        return UltraGCN(num_users, num_items, embedding_dim)
    if kind == "pop":
        return Popularity(num_users, num_items)
    raise ValueError(f"unknown model {kind!r}: choose one of {', '.join(MODEL_KINDS)}")


def model_spec(model: nn.Module) -> dict[str, Any]:
    """What ``build_model`` needs to rebuild ``model`` (stored in checkpoints)."""
    kinds = {LightGCN: "lightgcn", MF: "mf", NGCF: "ngcf", SimpleX: "simplex", UltraGCN: "ultragcn", Popularity: "pop",
             GFCF: "gfcf", BSPM: "bspm"}
    if type(model) not in kinds:
        raise ValueError(f"unsupported model {type(model).__name__}: use LightGCN, MF, NGCF, SimpleX, UltraGCN, "
                         f"Popularity, GFCF or BSPM")
    spec = {"kind": kinds[type(model)], "num_users": model.num_users, "num_items": model.num_items,
            "embedding_dim": getattr(model, "embedding_dim", 1), "num_layers": getattr(model, "num_layers", 0)}
    if isinstance(model, GFCF):
        spec.update(k=model.k, alpha=model.alpha)
    if isinstance(model, BSPM):
        spec.update(sharpen_time=model.sharpen_time, sharpen_steps=model.sharpen_steps)
    return spec
