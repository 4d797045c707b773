"""Models built from the layers: plain hyper-parameters, graph given at call time."""
from gnnkit.nn.models.lightgcn import LightGCN
from gnnkit.nn.models.mf import MF, Popularity

__all__: list[str] = ["LightGCN", "MF", "Popularity"]
