"""gnnkit: graph neural networks for PyTorch."""
from gnnkit import datasets, nn, ops
from gnnkit.graph import Graph

__version__ = "0.1.0"

__all__ = ["Graph", "__version__", "datasets", "nn", "ops"]
