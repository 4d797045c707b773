"""Digests of data held in memory (tensors, names), for telling datasets apart.

A bottom-layer module beside ``gnnkit.io`` (which digests files): it imports
nothing else from gnnkit."""
from __future__ import annotations

import hashlib
from typing import Any


def content_digest(*parts: Any) -> str:
    """Hex sha256 of data held in memory, for telling two datasets apart:
    tensors (dtype, shape and values; anything with ``rowptr``/``col``/``value``
    such as a ``CSR`` by those parts), strings, numbers, ``None`` and
    sequences of them, in order. Equal data gives an equal digest on any
    machine of the same byte order."""
    h = hashlib.sha256()

    def feed(part: Any) -> None:
        import torch

        if isinstance(part, torch.Tensor):
            t = part.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif all(hasattr(part, a) for a in ("rowptr", "col", "value")):
            h.update(b"C")
            for sub in (part.rowptr, part.col, part.value):
                feed(sub)
        elif isinstance(part, str):
            h.update(b"S" + str(len(part)).encode() + b":" + part.encode("utf-8", "surrogatepass"))
        elif part is None or isinstance(part, (bool, int, float)):
            h.update(f"V{part!r}".encode())
        elif isinstance(part, (list, tuple)):
            h.update(f"L{len(part)}".encode())
            for sub in part:
                feed(sub)
        else:
            raise TypeError(f"content_digest cannot hash {type(part).__name__}")

    for part in parts:
        feed(part)
    return h.hexdigest()
