"""``load(name)``: catalog name → raw files (downloaded if needed) → cached object.

The steps are kept apart: ``ensure_raw`` makes sure the raw files exist
(fetching them with ``download.fetch`` when allowed), ``raw_digests`` hashes
them and checks them against the catalog / first-download record, the format
reader parses them, and ``cache`` stores the result keyed by those digests.
"""
from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import Any, Callable

import torch

from gnnkit.datasets import cache, download
from gnnkit.datasets.catalog import DatasetInfo, get
from gnnkit.datasets.interactions import InteractionDataset
from gnnkit.datasets.knowledge_graph import KnowledgeGraph
from gnnkit.datasets.formats._text import track_inputs
from gnnkit.graph import Graph
from gnnkit.io import atomic_writer

log = logging.getLogger(__name__)


def karate() -> Graph:
    """Zachary's karate club: 34 nodes, one-hot ``x`` (identity), ``y`` = club
    (0 for Mr. Hi, 1 for Officer), both edge directions, no split masks."""
    import networkx as nx

    g = nx.karate_club_graph()
    y = torch.tensor([0 if g.nodes[v]["club"] == "Mr. Hi" else 1 for v in g.nodes], dtype=torch.long)
    return Graph.from_networkx(g, x=torch.eye(g.number_of_nodes()), y=y)


# format -> (module under gnnkit.datasets.formats, reader function); imported on use.
_READERS = {
    "planetoid": ("planetoid", "read_planetoid"),
    "musae": ("musae", "read_musae"),
    "movielens-100k": ("movielens", "read_movielens"),
    "movielens-1m": ("movielens", "read_movielens"),
    "movielens-latest": ("movielens", "read_movielens"),
    "lightgcn": ("lightgcn", "read_lightgcn"),
    "lastfm": ("lightgcn", "read_lastfm"),
    "triples": ("triples", "read_triples"),
}


def _reader(fmt: str) -> Callable[..., Any]:
    import importlib

    module, func = _READERS[fmt]
    return getattr(importlib.import_module(f"gnnkit.datasets.formats.{module}"), func)


def missing_files_message(info: DatasetInfo, raw: Path, missing: list[str], cli: bool = False) -> str:
    """The error text for absent raw files: what, where, and from which URL;
    ``cli`` words the ways out as command-line options (``--root DIR``)."""
    if info.archive is not None:
        source = (f"download {info.archive.url} and unzip {', '.join(missing)} (from its "
                  f"{info.archive.prefix or 'top'} folder) into {raw}")
    else:
        urls = {f.name: f.url for f in info.files}
        source = "download " + "; ".join(f"{m} from {urls[m]}" for m in missing) + f" into {raw}"
    if cli:
        way_out = ("run again with network access (without --no-download), or pass --root DIR / set "
                   "GNNKIT_DATA=DIR")
    else:
        way_out = f"call load({info.name!r}, download=True) with network access, or pass root= / set GNNKIT_DATA"
    return f"dataset {info.name!r} is missing {', '.join(missing)} under {raw}: {source}, or {way_out} " \
           f"to a folder holding {info.name}/raw/"


def _missing(err_type: type[ValueError], info: DatasetInfo, raw: Path, missing: list[str],
             cause: str = "") -> ValueError:
    """An error for absent raw files carrying both wordings: ``str(err)`` for
    the library, ``err.cli_message`` (one line) for the command line."""
    err = err_type((f"{cause}\n" if cause else "") + missing_files_message(info, raw, missing))
    cli_text = (f"{cause}; " if cause else "") + missing_files_message(info, raw, missing, cli=True)
    err.cli_message = " ".join(cli_text.split("\n"))  # type: ignore[attr-defined]
    return err


def ensure_raw(info: DatasetInfo, raw: Path, download_ok: bool = True, progress: bool = True) -> None:
    """Make sure every required raw file of ``info`` is in ``raw``.

    Raises:
        ValueError: files are missing and ``download_ok`` is false, or the
            download failed (the message lists files, destination and URL).
    """
    missing = [f.name for f in info.required if not (raw / f.name).is_file()]
    if not missing:
        return
    if not download_ok:
        raise _missing(ValueError, info, raw, missing)
    try:
        if info.archive is not None:
            archive = raw / info.archive.name
            if not archive.is_file():
                download.fetch(info.archive.url, archive, info.archive.sha256, progress=progress)
            _extract(archive, info.archive.prefix, missing, raw)
        else:
            for f in info.required:
                if f.name in missing:
                    download.fetch(f.url, raw / f.name, f.sha256, progress=progress, size=f.size)
    except download.DownloadError as err:
        wrapped = _missing(download.DownloadError, info, raw, missing, cause=str(err))
        if getattr(err, "saving", False):  # the network was fine: the fix is a writable folder
            wrapped.cli_message = f"{err}; pass --root DIR with a writable folder, or set GNNKIT_DATA=DIR"
        wrapped.exit_status = err.exit_status  # type: ignore[attr-defined]
        raise wrapped from err
    _fetch_optional(info, raw, progress)


def _fetch_optional(info: DatasetInfo, raw: Path, progress: bool) -> None:
    """With a fresh download, also fetch the optional files (features, id maps);
    one that fails is a warning: the dataset loads without it."""
    for f in info.files:
        if f.optional and f.url and not (raw / f.name).is_file():
            try:
                download.fetch(f.url, raw / f.name, f.sha256, progress=progress, size=f.size)
            except download.DownloadError as err:
                log.warning("optional file %s of %r not fetched (%s); loading without it", f.name, info.name, err)


_MAX_MEMBER = 1 << 30  # a published member this large would not compress 200-fold: refused when it claims to


def _extract(archive: Path, prefix: str, members: list[str], raw: Path) -> None:
    """Stream ``prefix + member`` out of a zip into ``raw/member`` (atomically
    each, in 1 MiB blocks, so a huge member never sits in memory)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in members:
                try:
                    info = zf.getinfo(prefix + member)
                except KeyError:
                    raise ValueError(f"{archive} has no member {prefix + member}; delete it and download "
                                     f"again") from None
                if info.file_size > _MAX_MEMBER and info.file_size > 200 * max(info.compress_size, 1):
                    raise ValueError(f"{archive}: member {info.filename} unpacks to {info.file_size} bytes from "
                                     f"{info.compress_size} (a zip bomb, or not the published archive); delete it "
                                     f"and download again")
                with zf.open(info) as src, atomic_writer(raw / member) as out:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        out.write(block)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{archive} is not a valid zip ({err}); delete it and download again") from err


def raw_digests(info: DatasetInfo, raw: Path) -> dict[str, str]:
    """sha256 of each raw file present, checked against the catalog digest or
    the first-download record where one exists."""
    out = {}
    for f in info.files:
        path = raw / f.name
        if not path.is_file():
            continue
        digest = download.sha256_file(path)
        expected = f.sha256 or (download.recorded_digest(f.url) if f.url else None)
        if expected is not None and digest != expected:
            raise download.ChecksumError(
                f"checksum mismatch for {path}: expected sha256 {expected} (the published {f.name}), got {digest}. "
                f"Delete it to download it again, or read your own modified copy with the format reader "
                f"(gnnkit.datasets.read_{info.format.split('-')[0]})"
            )
        out[f.name] = digest
    return out


def load(name: str, root: str | os.PathLike | None = None, download: bool = True, *,
         progress: bool = True, use_cache: bool = True, **options: Any) -> Graph | InteractionDataset:
    """Load a catalogued dataset by name.

    Args:
        name: a catalog name (``gnnkit.datasets.list_datasets()``), e.g. ``"cora"``.
        root: data root holding ``<name>/raw/<files>``; default
            ``gnnkit.settings.data_root()`` ($GNNKIT_DATA, the checkout's
            ``datasets/``, or ``~/.cache/gnnkit/data``). Never written to
            except to store downloaded raw files.
        download: fetch missing raw files (verified) from the catalog URLs.
        progress: show download progress bars.
        use_cache: read / write the processed cache in ``$GNNKIT_CACHE``.
        **options: reader options, e.g. ``split="temporal"``, ``min_rating=4``,
            ``seed=0`` for MovieLens.

    Returns:
        a ``Graph`` for node tasks, an ``InteractionDataset`` for recommendation.
    """
    from gnnkit.settings import data_root

    info = get(name)
    if info.format == "networkx":
        if options:
            raise ValueError(f"{name!r} takes no options, got {sorted(options)}")
        return karate()
    raw = data_root(root) / name / "raw"
    ensure_raw(info, raw, download, progress)
    digests = raw_digests(info, raw)
    reader_options = {**dict(info.reader_options), **options}
    path = cache.cache_path(name, digests, reader_options)
    if use_cache:
        hit = cache.load(path, raw, digests)
        if hit is not None:
            log.debug("loaded %s from cache %s", name, path)
            _say_if_featureless(info, hit)
            return hit
    reader = _reader(info.format)
    named = {"name": name} if info.task == "recommendation" else {}
    with track_inputs() as inputs:  # every file the reader opens or looks for keys the cache entry
        obj = reader(raw, **named, **reader_options)
    if not set(options) - _SPLIT_OPTIONS:
        check_sizes(info, obj, raw)
    _say_if_featureless(info, obj)
    if use_cache:
        try:
            cache.save(path, obj, cache.relative_inputs(inputs, raw))
        except OSError as err:  # a full or read-only cache dir must not stop a load: continue uncached
            log.warning("could not write cache %s (%s); continuing without it", path, err)
    return obj


_WARNED_FEATURELESS: set[str] = set()


def _say_if_featureless(info: DatasetInfo, obj: Graph | InteractionDataset) -> None:
    """Warn once per process that a node dataset came without features (``x`` is ``None``)."""
    if isinstance(obj, Graph) and obj.x is None and info.name not in _WARNED_FEATURELESS:
        _WARNED_FEATURELESS.add(info.name)
        log.warning("dataset %r: x is None (%s)", info.name, info.description or "no node features")


# Reader options that only move interactions between splits: the totals stay as the catalog knows them.
_SPLIT_OPTIONS = frozenset({"split", "test_fraction", "seed"})


def measure(obj: Graph | InteractionDataset | KnowledgeGraph) -> dict[str, int]:
    """The sizes ``DatasetInfo.expected`` speaks of, measured on a parsed dataset."""
    if isinstance(obj, KnowledgeGraph):
        return {"num_entities": obj.num_entities, "num_relations": obj.num_base_relations,
                **{s: len(obj.split(s)) for s in ("train", "valid", "test")}}
    if isinstance(obj, InteractionDataset):
        splits = (obj.train_interactions, obj.val_interactions, obj.test_interactions)
        return {"num_users": obj.num_users, "num_items": obj.num_items,
                "interactions": sum(int(t.size(1)) for t in splits if t is not None)}
    out = {"num_nodes": obj.num_nodes, "num_edges": int(obj.edge_index.size(1))}
    if obj.x is not None:
        out["num_features"] = int(obj.x.size(1))
    return out


def check_sizes(info: DatasetInfo, obj: Graph | InteractionDataset | KnowledgeGraph, raw: Path) -> None:
    """``ValueError`` when the parsed ``obj`` differs from the sizes the
    catalog knows for ``info``: a raw file is truncated or not the published one."""
    if not info.expected:
        return
    got = measure(obj)
    wrong = [f"{k} = {got.get(k)} (expected {v})" for k, v in info.expected if got.get(k) != v]
    if wrong:
        raise ValueError(f"dataset {info.name!r} under {raw} parsed to {', '.join(wrong)}: a raw file is truncated, "
                         f"corrupt or not the published one. Delete {raw} and load again to download verified "
                         f"copies, or read your own files with gnnkit.datasets.read_{info.format.split('-')[0]}")
