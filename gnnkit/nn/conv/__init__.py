"""Graph convolution layers, one per file."""
from gnnkit.nn.conv.appnp import APPNP
from gnnkit.nn.conv.gat_conv import GATConv
from gnnkit.nn.conv.gcn2_conv import GCN2Conv
from gnnkit.nn.conv.gcn_conv import GCNConv
from gnnkit.nn.conv.gin_conv import GINConv
from gnnkit.nn.conv.gine_conv import GINEConv
from gnnkit.nn.conv.graph_conv import GraphConv
from gnnkit.nn.conv.lg_conv import LGConv
from gnnkit.nn.conv.rgcn_conv import RGCNConv
from gnnkit.nn.conv.sage_conv import SAGEConv

__all__ = ["APPNP", "GATConv", "GCN2Conv", "GCNConv", "GINConv", "GINEConv", "GraphConv", "LGConv", "RGCNConv", "SAGEConv"]
