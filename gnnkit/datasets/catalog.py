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

from gnnkit.datasets.published import DIGESTS, EXPECTED_SIZES, SIZES
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
                DIGESTS.get(f"ind.{name}.{s}"), SIZES.get(f"ind.{name}.{s}"))
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
        RawFile(f, _KARATECLUB + f"{folder}/{f}", DIGESTS.get(f"{name}/{f}"), SIZES.get(f"{name}/{f}"),
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
        RawFile(f, _LIGHTGCN_URL + f"{name}/{f}", DIGESTS.get(f"{name}/{f}"), SIZES.get(f"{name}/{f}"),
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
        files=tuple(RawFile(f, _LASTFM_URL + f, DIGESTS.get(f"lastfm/{f}"), SIZES.get(f"lastfm/{f}"))
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
# sha256 of FB15k-237 and WN18RR unknown (None, trust on first use): no copy was checked byte for byte against
# the published files.
_PYKEEN_URL = "https://raw.githubusercontent.com/pykeen/pykeen/master/src/pykeen/datasets/"
_VILLMOW_URL = "https://raw.githubusercontent.com/villmow/datasets_knowledge_embedding/master/"
_TOUTANOVA_CITE = ("K. Toutanova, D. Chen. Observed versus latent features for knowledge base and text inference. "
                   "CVSC workshop 2015. https://aclanthology.org/W15-4007/")


def _triples(name: str, url: str, size: str, licence: str, citation: str, homepage: str,
             unseen: str = "error") -> DatasetInfo:
    # WN18RR and FB15k-237 have test triples whose entity never occurs in training: dropped, as PyKEEN does
    return DatasetInfo(
        name=name, task="kg", format="triples",
        files=tuple(RawFile(f, url + f, DIGESTS.get(f"{name}/{f}"), SIZES.get(f"{name}/{f}"))
                    for f in ("train.txt", "valid.txt", "test.txt")), size=size, expected=_expected(name),
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
