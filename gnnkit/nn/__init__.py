"""Layers and models."""
from gnnkit.nn.conv import APPNP, GATConv, GCN2Conv, GCNConv, GINConv, GraphConv, LGConv, SAGEConv
from gnnkit.nn.message_passing import MessagePassing

__all__ = ["APPNP", "GATConv", "GCN2Conv", "GCNConv", "GINConv", "GraphConv", "LGConv", "MessagePassing", "SAGEConv"]
