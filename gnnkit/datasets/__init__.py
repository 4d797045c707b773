"""Datasets: catalog names or your own files → ``Graph`` / ``InteractionDataset``.

``load(name)`` reads ``<root>/<name>/raw/`` (downloading verified files when
missing) and caches the processed result; the ``read_*`` functions parse files
in each supported format directly. See ``docs/datasets.md``.
"""
from gnnkit.datasets import catalog
from gnnkit.datasets.catalog import list_datasets
from gnnkit.datasets.formats.csv_table import from_csv
from gnnkit.datasets.formats.edgelist import read_edge_list
from gnnkit.datasets.formats.lightgcn import read_lastfm, read_lightgcn
from gnnkit.datasets.formats.movielens import read_movielens
from gnnkit.datasets.formats.musae import read_musae
from gnnkit.datasets.formats.planetoid import read_planetoid
from gnnkit.datasets.formats.triples import read_triples
from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.datasets.knowledge_graph import KnowledgeGraph, Triples
from gnnkit.datasets.loader import load
from gnnkit.datasets.synthetic import synthetic

__all__ = ["InteractionDataset", "catalog", "list_datasets", "from_csv", "load", "read_edge_list", "read_lastfm", "read_lightgcn",
           "read_movielens", "read_musae", "read_planetoid", "synthetic"]
__all__ += ["KnowledgeGraph", "Triples", "read_triples"]
