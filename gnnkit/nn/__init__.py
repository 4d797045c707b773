"""Layers and models."""
from gnnkit.nn.conv import APPNP, GATConv, GCN2Conv, GCNConv, GINConv, GINEConv, GraphConv, LGConv, SAGEConv
from gnnkit.nn.message_passing import MessagePassing

__all__ = ["APPNP", "GATConv", "GCN2Conv", "GCNConv", "GINConv", "GINEConv", "GraphConv", "LGConv", "MessagePassing", "SAGEConv"]
