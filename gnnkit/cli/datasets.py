"""``gnnkit datasets list`` and ``gnnkit datasets info NAME``."""
from __future__ import annotations

import argparse

ROOT_HELP = "data root (default: $GNNKIT_DATA, the checkout's datasets/, or ~/.cache/gnnkit/data)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list the dataset catalog or describe one dataset",
                       description="The dataset catalog: names, formats, sizes, licences and where files go.")
    p.add_argument("--root", default=None, help=ROOT_HELP)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    lst = actions.add_parser("list", help="one line per dataset")
    lst.set_defaults(handler=run_list)
    info = actions.add_parser("info", help="files, URLs, checksums, licence and citation of one dataset")
    info.add_argument("name", help="a catalog name, e.g. cora")
    info.set_defaults(handler=run_info)
    for action in (lst, info):
        # accepted after the action too (`gnnkit datasets list --root DIR`); SUPPRESS keeps a
        # --root given before the action from being overwritten by this parser's default
        action.add_argument("--root", default=argparse.SUPPRESS, help=ROOT_HELP)


def load_dataset(name: str, root: str | None, download: bool = True, **options):
    """``gnnkit.datasets.load`` for the command line: the same result, but a
    missing or undownloadable dataset is explained in the CLI's words
    (``--root DIR`` or ``GNNKIT_DATA``, ``--no-download``) instead of the
    library's (``root=``, ``download=True``).

    Args:
        name: a catalog name.
        root: the ``--root`` value (``None``: ``$GNNKIT_DATA`` or the default).
        download: fetch missing raw files (``False`` under ``--no-download``).
        **options: reader options passed to ``load``.
    """
    from gnnkit.datasets import load

    try:
        return load(name, root=root, download=download, progress=False, **options)
    except ValueError as err:
        cli_text = getattr(err, "cli_message", None)
        if cli_text is None:
            raise
        raise ValueError(cli_text) from err


OWN_GRAPH_LAYOUTS = "edges.csv + target.csv (MUSAE layout) or ind.<prefix>.* (Planetoid)"


def own_folders(name: str, root: str | None) -> list:
    """Where the files of a dataset that is not in the catalog are looked
    for, in order: ``<root>/<name>/raw``, ``<root>/<name>``, the folder ``name``."""
    from pathlib import Path

    from gnnkit.settings import data_root

    base = data_root(root)
    return list(dict.fromkeys([base / name / "raw", base / name, Path(name)]))  # (an absolute name: two are one)


def own_place(name: str, files: str = "") -> str:
    """Where a dataset that is not in the catalog may put its files, for an
    error message: ``"the folder NAME or under --root DIR as DIR/NAME/raw/FILES"``
    for a relative name; for an absolute one only the folder (and whether it
    exists), since ``--root`` does not apply to it.

    Args:
        name: the ``--dataset`` value.
        files: what goes inside (e.g. ``"{train,valid,test}.txt"``), appended to both places.
    """
    from pathlib import Path

    path = Path(name)
    if path.is_absolute():
        return f"the folder {path / files if files else path}" + ("" if path.is_dir() else f" ({path} does not exist)")
    return f"the folder {path / files if files else path} or under --root DIR as DIR/{name}/raw/{files}"


def input_files(name: str | None, root: str | None, limit: int = 10_000) -> list:
    """The files a ``--dataset`` may be read from, for ``guard_outputs``: the
    file itself when ``name`` is one, else every file under the folders
    ``own_folders(name, root)`` that exist (a catalog dataset's
    ``<root>/<name>/``, with its ``raw/`` and processed cache, among them);
    at most ``limit`` files."""
    from pathlib import Path

    if not name:
        return []
    if Path(name).is_file():
        return [Path(name)]
    found: list = []
    for folder in own_folders(name, root):
        if folder.is_dir():
            for path in folder.rglob("*"):
                if len(found) >= limit:
                    return found
                if path.is_file():
                    found.append(path)
    return found


def find_own_folder(name: str, root: str | None, holds):
    """The first of ``own_folders(name, root)`` that is a folder for which
    ``holds(folder)`` is true, or ``None``: how every ``train`` command finds
    your own files."""
    return next((f for f in own_folders(name, root) if f.is_dir() and holds(f)), None)


def own_graph_folder(name: str, root: str | None):
    """``(folder, layout)`` of your own graph files: a MUSAE-layout folder
    (``edges.csv``, ``target.csv``, optional ``features.csv`` /
    ``features.json``; layout ``"musae"``) or a Planetoid one
    (``ind.<prefix>.*``; layout ``"planetoid:<prefix>"``), found by
    ``find_own_folder``; ``None`` when no such folder exists."""
    def layout(folder):
        if (folder / "target.csv").is_file() and (folder / "edges.csv").is_file():
            return "musae"
        graphs = sorted(folder.glob("ind.*.graph"))
        return "planetoid:" + graphs[0].name[len("ind."):-len(".graph")] if graphs else None

    folder = find_own_folder(name, root, lambda f: layout(f) is not None)
    return None if folder is None else (folder, layout(folder))


def own_graph_files(name: str, root: str | None):
    """The ``Graph`` of ``own_graph_folder(name, root)``, or ``None``."""
    from gnnkit.datasets import read_musae, read_planetoid

    found = own_graph_folder(name, root)
    if found is None:
        return None
    folder, layout = found
    return read_musae(folder) if layout == "musae" else read_planetoid(folder, layout.split(":", 1)[1])


def run_list(args: argparse.Namespace) -> int:
    from gnnkit.datasets import list_datasets

    rows = list_datasets(args.root)
    width = max(len(r["name"]) for r in rows)
    print(f"{'name':<{width}}  {'task':<14}  {'format':<16}  {'present':<7}  size")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['task']:<14}  {r['format']:<16}  {'yes' if r['present'] else 'no':<7}  {r['size']}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from gnnkit.datasets.catalog import get

    e = get(args.name)
    print(f"{e.name}: {e.task}, format {e.format}")
    print(f"  size:     {e.size}")
    print(f"  licence:  {e.licence}")
    print(f"  citation: {e.citation}")
    print(f"  homepage: {e.homepage}")
    if e.description:
        print(f"  about:    {e.description}")
    if e.class_names:
        print(f"  classes:  {', '.join(f'{c} {n}' for c, n in enumerate(e.class_names))}")
    if not e.files:
        print("  files:    none (built in, no download)")
        return 0
    raw = e.raw_dir(args.root)
    print(f"  raw dir:  {raw} ({'present' if e.present(args.root) else 'missing'})")
    if e.archive is not None:
        print(f"  archive:  {e.archive.url}  sha256 {e.archive.sha256 or 'unknown (recorded on first download)'}")
    for f in e.files:
        state = "ok" if (raw / f.name).is_file() else "missing"
        where = f.url or f"in {e.archive.name}" if e.archive else f.url
        opt = ", optional" if f.optional else ""
        print(f"  - {f.name} [{state}{opt}] {where}  sha256 {f.sha256 or 'unknown (recorded on first download)'}")
    return 0
