"""Layers and models."""
from gnnkit.nn.conv import GATConv, GCNConv, GINConv, GraphConv, LGConv, SAGEConv
from gnnkit.nn.message_passing import MessagePassing

__all__ = ["GATConv", "GCNConv", "GINConv", "GraphConv", "LGConv", "MessagePassing", "SAGEConv"]
