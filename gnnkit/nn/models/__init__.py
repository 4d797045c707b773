"""Models built from the layers: plain hyper-parameters, graph given at call time."""
from gnnkit.nn.models.gae import GAE, VGAE, LinkPredictor
from gnnkit.nn.models.appnp import APPNPNet
from gnnkit.nn.models.gat import GAT
from gnnkit.nn.models.gcn import GCN
from gnnkit.nn.models.gcnii import GCNII
from gnnkit.nn.models.mlp import MLP
from gnnkit.nn.models.sage import GraphSAGE
from gnnkit.nn.models.lightgcn import LightGCN
from gnnkit.nn.models.mf import MF, Popularity
from gnnkit.nn.models.bspm import BSPM
from gnnkit.nn.models.gfcf import GFCF
from gnnkit.nn.models.ngcf import NGCF
from gnnkit.nn.models.simplex import SimpleX
from gnnkit.nn.models.ultragcn import UltraGCN
from gnnkit.nn.models.kge import KGEModel, TransE, DistMult, ComplEx, RotatE
from gnnkit.nn.models.rgcn import RGCN, RGCNEncoder

__all__: list[str] = ["APPNPNet", "GAT", "GCN", "GCNII", "GraphSAGE", "MLP", "LightGCN", "MF", "Popularity", "GFCF", "BSPM", "NGCF", "SimpleX", "UltraGCN"]
__all__ += ["KGEModel", "TransE", "DistMult", "ComplEx", "RotatE", "RGCN", "RGCNEncoder"]
__all__ += ["GAE", "VGAE", "LinkPredictor"]
