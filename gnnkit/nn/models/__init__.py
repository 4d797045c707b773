"""Models built from the layers: plain hyper-parameters, graph given at call time."""

__all__: list[str] = []
