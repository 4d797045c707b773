"""The dataset catalog: one table from name to format, files, checksums, licence.

Every raw file is listed with its canonical public URL and its sha256 where it
is known (computed from a copy byte-identical to the published file). An
unknown digest (``None``) means: the first download records the digest it got
and warns that it was not verified (trust on first use); later loads check
against that record. MovieLens is published as zip archives, whose members are
the raw files.
"""
from __future__ import annotations

import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

from gnnkit.settings import data_root


@dataclass(frozen=True)
class RawFile:
    """One published file: its name under ``raw/``, URL and sha256 (or ``None``)."""

    name: str
    url: str | None
    sha256: str | None = None
    size: int | None = None
    optional: bool = False  # loads without it (e.g. id maps); still fetched by download_raw(all_files=True)


@dataclass(frozen=True)
class Archive:
    """A published archive whose members (under ``prefix``) are the raw files."""

    name: str
    url: str
    sha256: str | None = None
    prefix: str = ""


@dataclass(frozen=True)
class DatasetInfo:
    """A catalog entry. ``task`` is ``"node"`` (returns a ``Graph``) or
    ``"recommendation"`` (returns an ``InteractionDataset``)."""

    name: str
    task: str
    format: str
    files: tuple[RawFile, ...]
    size: str
    licence: str
    citation: str
    homepage: str
    archive: Archive | None = None
    reader_options: tuple[tuple[str, object], ...] = ()
    description: str = ""
    expected: tuple[tuple[str, int], ...] = ()  # sizes the parsed result must have (see EXPECTED_SIZES)
    class_names: tuple[str, ...] = ()  # class_names[c] names label c, where the source names its classes

    @property
    def urls(self) -> list[str]:
        if self.archive is not None:
            return [self.archive.url]
        return [f.url for f in self.files if f.url]

    @property
    def required(self) -> tuple[RawFile, ...]:
        return tuple(f for f in self.files if not f.optional)

    def raw_dir(self, root: str | Path | None = None) -> Path:
        return data_root(root) / self.name / "raw"

    def present(self, root: str | Path | None = None) -> bool:
        """Whether every required raw file is under ``root`` (built-ins: always)."""
        if not self.files:
            return True
        raw = self.raw_dir(root)
        return all((raw / f.name).is_file() for f in self.required)


# ---------------------------------------------------------------- the table
_PLANETOID_URL = "https://raw.githubusercontent.com/kimiyoung/planetoid/master/data/"
_PLANETOID_CITE = ("Z. Yang, W. Cohen, R. Salakhutdinov. Revisiting Semi-Supervised Learning with Graph "
                   "Embeddings. ICML 2016. https://arxiv.org/abs/1603.08861")
_PLANETOID_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_DIGESTS = {  # sha256 of files byte-identical to the published ones
    "ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
    "ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
    "ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
    "ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    "ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
    "ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
    "ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
    "ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
    "ind.citeseer.allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
    "ind.citeseer.ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
    "ind.citeseer.graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
    "ind.citeseer.test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    "ind.citeseer.tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
    "ind.citeseer.ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
    "ind.citeseer.x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
    "ind.citeseer.y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
    "facebook/edges.csv": "7c50d8f02a75cc0829577814a1fc14535164daa38d79c3612340c9e9cdbd4022",
    "facebook/target.csv": "95987f6c9246f461511673041c88aa20cbd8596bc52b9688fdaab7bd5a720000",
    "lastfm-asia/edges.csv": "4a6f555d2ccbbbaf1aa4f46b10b0e612aa515730a513d3e1ac951e1e4dcd733c",
    "lastfm-asia/target.csv": "91f19215f6eca8321feec038bd32900cf13fd4f7e041a9976cf202807c72ac16",
    "twitch/edges.csv": "90ab33e0426913171302dee0bdac35322596f07bee7431aeabaca648bdda7245",
    "twitch/features.csv": "904426f583b2636b2a4343606dea35e44bd06cf1baa3c4aa46b7c8cec86f2820",
    "twitch/target.csv": "635c3aedd9865b48baa27aae4f5bc54b913100aee026589ec3a7bb4dcfcc8b44",
    "lastfm/data1.txt": "c82af3228cbbda2f55a39244de09ed93292894f1d0d9f1908ebb57e27598fded",
    "lastfm/test1.txt": "de4417c0e6123284ce59a0934bcf5288ec1ec8774a18a1eef453c9952dfa48f9",
    "lastfm/trustnetwork.txt": "5b5bd7cbe4d22f3cd333dbfc7ec4b995cb2bdb28d95b0e9c5fc5607079f7b69e",
    "gowalla/test.txt": "099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3",
    "gowalla/user_list.txt": "5344c4d0deef610e1f148f23ad216a0db03b36f88834cd39a06786a672c5f5a1",
    "gowalla/item_list.txt": "6b186f92890cc3f0c15a6dae5d6285f125a302bb8c5ea0cd9a16cf9c16347139",
    # gowalla/train.txt: unknown (the local copy was rebuilt, not byte-identical to the published file)
}
_SIZES = {
    "ind.cora.allx": 257305, "ind.cora.ally": 47959, "ind.cora.graph": 59847, "ind.cora.test.index": 5000,
    "ind.cora.tx": 148025, "ind.cora.ty": 28135, "ind.cora.x": 22119, "ind.cora.y": 4054,
    "ind.citeseer.allx": 595021, "ind.citeseer.ally": 55623, "ind.citeseer.graph": 61987,
    "ind.citeseer.test.index": 5000, "ind.citeseer.tx": 260321, "ind.citeseer.ty": 24135,
    "ind.citeseer.x": 31087, "ind.citeseer.y": 3014,
    "facebook/edges.csv": 1882610, "facebook/target.csv": 168660,
    "lastfm-asia/edges.csv": 270443, "lastfm-asia/target.csv": 56482,
    "twitch/edges.csv": 342164, "twitch/features.csv": 1986466, "twitch/target.csv": 48782,
    "lastfm/data1.txt": 579727, "lastfm/test1.txt": 144867, "lastfm/trustnetwork.txt": 249214,
    "gowalla/test.txt": 1372559, "gowalla/user_list.txt": 351203, "gowalla/item_list.txt": 506926,
}


# What a complete, published copy parses to: a truncated or swapped raw file
# that still parses is caught by these counts. Measured on the published
# files (cora ... gowalla) or taken from the papers / PyG (the others; only
# counts that deduplication cannot change). Interactions count every split.
EXPECTED_SIZES: dict[str, dict[str, int]] = {
    "cora": {"num_nodes": 2708, "num_edges": 10556, "num_features": 1433},
    "citeseer": {"num_nodes": 3327, "num_edges": 9104, "num_features": 3703},
    "pubmed": {"num_nodes": 19717, "num_edges": 88648, "num_features": 500},
    "facebook": {"num_nodes": 22470, "num_edges": 341646},
    "lastfm-asia": {"num_nodes": 7624, "num_edges": 55612},
    "twitch": {"num_nodes": 7126, "num_edges": 70648, "num_features": 3170},
    "github": {"num_nodes": 37700, "num_edges": 578006},
    "deezer": {"num_nodes": 28281, "num_edges": 185504},
    "ml-100k": {"num_users": 943, "num_items": 1682, "interactions": 100000},
    "ml-1m": {"num_users": 6040, "num_items": 3706, "interactions": 1000209},
    "ml-latest-small": {"num_users": 610, "num_items": 9724, "interactions": 100836},
    "lastfm": {"num_users": 1892, "num_items": 4489, "interactions": 52668},
    "gowalla": {"num_users": 29858, "num_items": 40981, "interactions": 1027370},
    "yelp2018": {"num_users": 31668, "num_items": 38048},
    "amazon-book": {"num_users": 52643, "num_items": 91599},
}


def _expected(name: str) -> tuple[tuple[str, int], ...]:
    return tuple(EXPECTED_SIZES.get(name, {}).items())


# Label c of the Planetoid files (the column of ind.NAME.ally / ty) is the c-th class below. The names are the
# original collections' topics (P. Sen et al., Collective Classification in Network Data, AI Magazine 2008;
# https://linqs.org/datasets/); the Planetoid files carry no names, so the order was matched by class size, which
# is distinct for every class: Cora 351 Theory, 217 Reinforcement_Learning, 418 Genetic_Algorithms, 818
# Neural_Networks, 426 Probabilistic_Methods, 298 Case_Based, 180 Rule_Learning; CiteSeer 249 AI (264 with the 15
# nodes the Planetoid files leave unlabelled, read as class 0), 590 ML, 668 IR, 701 DB, 596 Agents, 508 HCI.
# tests/datasets/test_class_names.py checks the sizes against the files.
PLANETOID_CLASS_NAMES = {
    "cora": ("Theory", "Reinforcement_Learning", "Genetic_Algorithms", "Neural_Networks", "Probabilistic_Methods",
             "Case_Based", "Rule_Learning"),
    "citeseer": ("AI", "ML", "IR", "DB", "Agents", "HCI"),
}


def _planetoid(name: str, size: str, source: str) -> DatasetInfo:
    files = tuple(
        RawFile(f"ind.{name}.{s}", _PLANETOID_URL + f"ind.{name}.{s}",
                _DIGESTS.get(f"ind.{name}.{s}"), _SIZES.get(f"ind.{name}.{s}"))
        for s in _PLANETOID_SUFFIXES
    )
    return DatasetInfo(
        name=name, task="node", format="planetoid", files=files, size=size,
        licence="MIT (kimiyoung/planetoid repository licence)",
        citation=_PLANETOID_CITE + " Original data: " + source,
        homepage="https://github.com/kimiyoung/planetoid", reader_options=(("prefix", name),),
        expected=_expected(name), class_names=PLANETOID_CLASS_NAMES.get(name, ()),
    )


_KARATECLUB = "https://raw.githubusercontent.com/benedekrozemberczki/karateclub/master/dataset/node_level/"
_MUSAE_CITE = ("B. Rozemberczki, C. Allen, R. Sarkar. Multi-scale Attributed Node Embedding. "
               "Journal of Complex Networks 9(2), 2021. https://arxiv.org/abs/1909.13021")
_FEATHER_CITE = ("B. Rozemberczki, R. Sarkar. Characteristic Functions on Graphs: Birds of a Feather, from "
                 "Statistical Descriptors to Parametric Models. CIKM 2020. https://arxiv.org/abs/2005.07959")


# What a MUSAE entry without a features file gives: said by `datasets info` and warned once by `load`.
NO_FEATURES = ("no node features: the catalogued files (karateclub's edges.csv and target.csv) carry none, so "
               "x is None; `gnnkit train node --features auto` uses structural features instead (the authors "
               "publish features for this graph only inside SNAP's MUSAE archives, which gnnkit does not fetch)")


_SPARSE_FEATURES = ("features.json (optional; fetched with the other files on download): sparse binary node "
                    "features, read dense into x while that takes at most 2^25 entries, else x is None (with a "
                    "warning); read them as a sparse CSR with gnnkit.datasets.formats.musae.read_musae_features"
                    "(raw_dir)")


def _musae(name: str, folder: str, size: str, citation: str, features: str | None = None) -> DatasetInfo:
    """``features``: ``"csv"`` (a required ``features.csv``), ``"json"`` (an
    optional ``features.json``) or ``None`` (the source publishes none)."""
    names = ("edges.csv", "target.csv") + ((f"features.{features}",) if features else ())
    files = tuple(
        RawFile(f, _KARATECLUB + f"{folder}/{f}", _DIGESTS.get(f"{name}/{f}"), _SIZES.get(f"{name}/{f}"),
                optional=f == "features.json")
        for f in names
    )
    about = {"csv": "features.csv: sparse binary node features (node_id,feature_id,value), read dense",
             "json": _SPARSE_FEATURES, None: NO_FEATURES}[features]
    return DatasetInfo(
        name=name, task="node", format="musae", files=files, size=size,
        licence="as published by the authors (benedekrozemberczki/karateclub; see its licence)",
        citation=citation, homepage="https://github.com/benedekrozemberczki/karateclub", expected=_expected(name),
        description=about,
    )


_LIGHTGCN_URL = "https://raw.githubusercontent.com/kuandeng/LightGCN/master/Data/"
_LIGHTGCN_CITE = ("X. He, K. Deng, X. Wang, Y. Li, Y. Zhang, M. Wang. LightGCN: Simplifying and Powering Graph "
                  "Convolution Network for Recommendation. SIGIR 2020. https://arxiv.org/abs/2002.02126")


def _lightgcn(name: str, size: str, source: str) -> DatasetInfo:
    files = tuple(
        RawFile(f, _LIGHTGCN_URL + f"{name}/{f}", _DIGESTS.get(f"{name}/{f}"), _SIZES.get(f"{name}/{f}"),
                optional=f.endswith("_list.txt"))
        for f in ("train.txt", "test.txt", "user_list.txt", "item_list.txt")
    )
    return DatasetInfo(
        name=name, task="recommendation", format="lightgcn", files=files, size=size,
        licence="as published in kuandeng/LightGCN (research use)",
        citation=_LIGHTGCN_CITE + " Original data: " + source,
        homepage="https://github.com/kuandeng/LightGCN", expected=_expected(name),
    )


_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
_MOVIELENS_CITE = ("F. M. Harper, J. A. Konstan. The MovieLens Datasets: History and Context. "
                   "ACM TiiS 5(4), 2015. https://doi.org/10.1145/2827872")
_MOVIELENS_LICENCE = "GroupLens terms: research use, no redistribution (https://grouplens.org/datasets/movielens/)"


def _movielens(name: str, fmt: str, members: tuple[str, ...], size: str) -> DatasetInfo:
    return DatasetInfo(
        name=name, task="recommendation", format=fmt,
        files=tuple(RawFile(m, None) for m in members), size=size,
        licence=_MOVIELENS_LICENCE, citation=_MOVIELENS_CITE, homepage="https://grouplens.org/datasets/movielens/",
        archive=Archive(f"{name}.zip", _GROUPLENS + f"{name}.zip", None, prefix=f"{name}/"),
        expected=_expected(name),
    )


_LASTFM_URL = "https://raw.githubusercontent.com/gusye1234/LightGCN-PyTorch/master/data/lastfm/"

_ENTRIES: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        name="karate", task="node", format="networkx", files=(), size="34 nodes, 156 directed edges, 2 classes",
        licence="public domain (networkx built-in)",
        citation="W. W. Zachary. An Information Flow Model for Conflict and Fission in Small Groups. "
                 "J. Anthropological Research 33(4), 1977.",
        homepage="https://networkx.org/documentation/stable/reference/generated/networkx.generators.social.karate_club_graph.html",
        description="Zachary's karate club from networkx: one-hot x, y = club (0 Mr. Hi, 1 Officer).",
        class_names=("Mr. Hi", "Officer"),
    ),
    _planetoid("cora", "2708 nodes, 10556 directed edges, 1433 features, 7 classes, split 140/500/1000",
               "A. McCallum et al., Automating the Construction of Internet Portals with Machine Learning, 2000."),
    _planetoid("citeseer", "3327 nodes, 9104 directed edges, 3703 features, 6 classes, split 120/500/1000",
               "C. L. Giles et al., CiteSeer: An Automatic Citation Indexing System, 1998."),
    _planetoid("pubmed", "19717 nodes, 88648 directed edges, 500 features, 3 classes, split 60/500/1000",
               "P. Sen et al., Collective Classification in Network Data, AI Magazine 2008."),
    _musae("facebook", "facebook", "22470 nodes, 171002 edge rows, 4 classes", _MUSAE_CITE, features="json"),
    _musae("lastfm-asia", "lastfm", "7624 nodes, 27806 edge rows, 18 classes", _FEATHER_CITE),
    _musae("twitch", "twitch", "7126 nodes, 35324 edge rows, 2 classes, 3170 binary features", _MUSAE_CITE,
           features="csv"),
    _musae("github", "github", "37700 nodes, 289003 edge rows, 2 classes", _MUSAE_CITE),
    _musae("wikipedia", "wikipedia", "Wikipedia page-page network (MUSAE)", _MUSAE_CITE),
    _musae("deezer", "deezer", "28281 nodes, 92752 edge rows, 2 classes", _FEATHER_CITE),
    _movielens("ml-100k", "movielens-100k", ("u.data", "u.item"), "943 users, 1682 items, 100000 ratings"),
    _movielens("ml-1m", "movielens-1m", ("ratings.dat", "movies.dat"), "6040 users, 3706 items, 1000209 ratings"),
    _movielens("ml-latest-small", "movielens-latest", ("ratings.csv", "movies.csv"),
               "610 users, 9724 items, 100836 ratings"),
    DatasetInfo(
        name="lastfm", task="recommendation", format="lastfm",
        files=tuple(RawFile(f, _LASTFM_URL + f, _DIGESTS.get(f"lastfm/{f}"), _SIZES.get(f"lastfm/{f}"))
                    for f in ("data1.txt", "test1.txt", "trustnetwork.txt")),
        size="1892 users, 4489 items, user-user trust network",
        licence="as published in gusye1234/LightGCN-PyTorch (HetRec 2011 Last.fm data, research use)",
        citation="I. Cantador, P. Brusilovsky, T. Kuflik. HetRec 2011 workshop, RecSys 2011; format of "
                 "gusye1234/LightGCN-PyTorch. " + _LIGHTGCN_CITE,
        homepage="https://github.com/gusye1234/LightGCN-PyTorch", expected=_expected("lastfm"),
    ),
    _lightgcn("gowalla", "29858 users, 40981 items, 810128 train + 217242 test interactions",
              "E. Cho, S. A. Myers, J. Leskovec. Friendship and Mobility, KDD 2011."),
    _lightgcn("yelp2018", "31668 users, 38048 items, 1561406 interactions", "Yelp 2018 challenge."),
    _lightgcn("amazon-book", "52643 users, 91599 items, 2984108 interactions",
              "R. He, J. McAuley. Ups and Downs, WWW 2016."),
)
# ------------------------------------------------ knowledge graphs: head \t relation \t tail, train/valid/test
# sha256 unknown (None, trust on first use): no copy was checked byte for byte against the published files.
_PYKEEN_URL = "https://raw.githubusercontent.com/pykeen/pykeen/master/src/pykeen/datasets/"
_VILLMOW_URL = "https://raw.githubusercontent.com/villmow/datasets_knowledge_embedding/master/"
_TOUTANOVA_CITE = ("K. Toutanova, D. Chen. Observed versus latent features for knowledge base and text inference. "
                   "CVSC workshop 2015. https://aclanthology.org/W15-4007/")


def _triples(name: str, url: str, size: str, licence: str, citation: str, homepage: str,
             unseen: str = "error") -> DatasetInfo:
    # WN18RR and FB15k-237 have test triples whose entity never occurs in training: dropped, as PyKEEN does
    return DatasetInfo(
        name=name, task="kg", format="triples",
        files=tuple(RawFile(f, url + f) for f in ("train.txt", "valid.txt", "test.txt")), size=size,
        licence=licence, citation=citation, homepage=homepage,
        reader_options=(("unseen", unseen),) if unseen != "error" else (),
    )


_ENTRIES += (
    _triples("kinships", _PYKEEN_URL + "kinships/", "104 entities, 25 relations, 8544 / 1068 / 1074 triples",
             "as published in the PyKEEN repository (MIT)",
             "C. Kemp, J. B. Tenenbaum, T. L. Griffiths, T. Yamada, N. Ueda. Learning systems of concepts with an "
             "infinite relational model. AAAI 2006.", "https://github.com/pykeen/pykeen"),
    _triples("nations", _PYKEEN_URL + "nations/", "14 entities, 55 relations, 1592 / 199 / 201 triples",
             "as published in the PyKEEN repository (MIT)",
             "R. J. Rummel. The Dimensionality of Nations project, 1950-1965; split of Kok and Domingos (ICML 2007) "
             "as shipped by PyKEEN.", "https://github.com/pykeen/pykeen"),
    _triples("umls", _PYKEEN_URL + "umls/", "135 entities, 46 relations, 5216 / 652 / 661 triples",
             "as published in the PyKEEN repository (MIT); UMLS semantic network (NLM)",
             "A. T. McCray. An upper-level ontology for the biomedical domain. Comparative and Functional Genomics "
             "4(1), 2003; split of ZhenfengLei/KGDatasets as shipped by PyKEEN.", "https://github.com/pykeen/pykeen"),
    _triples("fb15k-237", _VILLMOW_URL + "FB15k-237/", "14541 entities, 237 relations, 272115 / 17535 / 20466 "
             "triples (a few valid/test triples with unseen entities are dropped)",
             "CC BY 2.5 (Freebase data; Microsoft Research release of FB15K-237)", _TOUTANOVA_CITE,
             "https://www.microsoft.com/en-us/download/details.aspx?id=52312", unseen="drop"),
    _triples("wn18rr", _VILLMOW_URL + "WN18RR/original/", "40943 entities, 11 relations, 86835 / 3034 / 3134 "
             "triples (valid/test triples with entities unseen in training are dropped)",
             "WordNet licence (Princeton); ConvE release", "T. Dettmers, P. Minervini, P. Stenetorp, S. Riedel. "
             "Convolutional 2D Knowledge Graph Embeddings. AAAI 2018. https://arxiv.org/abs/1707.01476",
             "https://github.com/TimDettmers/ConvE", unseen="drop"),
)
_BY_NAME = {e.name: e for e in _ENTRIES}


def names() -> list[str]:
    """Every catalogued dataset name."""
    return list(_BY_NAME)


def get(name: str) -> DatasetInfo:
    """The catalog entry for ``name``, or ``ValueError`` listing the known names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; expected one of {', '.join(_BY_NAME)}. For your own files use "
            f"gnnkit.datasets.read_planetoid / read_musae / read_edge_list / read_movielens / read_lightgcn / from_csv"
        ) from None


def list_datasets(root: str | Path | None = None) -> list[dict]:
    """One row per dataset: name, task, format, size, licence, citation,
    canonical URLs, sha256 known or not, raw directory, and whether its files
    are present under ``root`` (default: ``gnnkit.settings.data_root()``)."""
    out = []
    for e in _ENTRIES:
        digests_known = (e.archive.sha256 is not None) if e.archive else all(f.sha256 for f in e.files)
        out.append({
            "name": e.name, "task": e.task, "format": e.format, "size": e.size, "licence": e.licence,
            "citation": e.citation, "homepage": e.homepage, "urls": e.urls,
            "files": [f.name for f in e.files], "sha256_known": digests_known,
            "raw_dir": str(e.raw_dir(root)) if e.files else None, "present": e.present(root),
        })
    return out


class _CatalogModule(types.ModuleType):
    """``gnnkit.datasets.catalog`` is this module; calling it as the function it
    used to shadow it with still works, with a deprecation warning."""

    def __call__(self, root: str | Path | None = None) -> list[dict]:
        warnings.warn("gnnkit.datasets.catalog() is deprecated: call gnnkit.datasets.list_datasets()",
                      DeprecationWarning, stacklevel=2)
        return list_datasets(root)


sys.modules[__name__].__class__ = _CatalogModule
