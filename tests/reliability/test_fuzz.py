"""A seeded fuzz suite: hostile files, ids, weights, checkpoints, downloads and
dead writers. Every case must end in a correct result or a clean error (a
``ValueError`` naming the problem; from the CLI one ``gnnkit: error:`` line),
never a traceback or a silently wrong result.

Each test runs its cases and records the outcomes; the totals (cases, correct
results, clean errors) are printed at the end of the run. Set
``GNNKIT_FUZZ_SEED`` to explore other cases (default 0, what CI runs).
"""
from __future__ import annotations

import gzip
import http.server
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gnnkit.datasets import from_csv, read_edge_list, read_lightgcn, read_movielens, read_musae, read_planetoid
from gnnkit.datasets.download import fetch
from gnnkit.graph import Graph
from gnnkit.io import exclusive_lock, load_verified, save_verified, sha256_bytes

SEED = int(os.environ.get("GNNKIT_FUZZ_SEED", "0"))
REPO = Path(__file__).resolve().parents[2]
TOTALS: Counter = Counter()
# Internal messages that must never reach a user as the whole explanation (inside a
# message that names the file and the fix they are fine).
_INTERNAL = ("index out of range", "Tensor.item()", "object has no attribute", "unsupported operand", "list index",
             "not subscriptable", "invalid literal for int()", "could not convert string to float")


def totals_line() -> str:
    """``fuzz (seed S): N cases, C correct results, E clean errors; by kind: ...``"""
    return (f"fuzz (seed {SEED}): {TOTALS['correct'] + TOTALS['clean']} cases, {TOTALS['correct']} correct results, "
            f"{TOTALS['clean']} clean errors (any other outcome fails its test); by kind: "
            + ", ".join(f"{k} {v}" for k, v in sorted(TOTALS.items()) if ":" in k))


def _run(kind: str, fn, check=None) -> str:
    """Run one case: ``"correct"`` when ``fn()`` returns and ``check`` accepts
    its result, ``"clean"`` for a ``ValueError`` with a user-facing message;
    anything else fails the test, naming the case."""
    try:
        result = fn()
    except ValueError as err:
        text = str(err)
        assert text and not text.startswith(_INTERNAL), f"{kind}: unclear error {text!r}"
        outcome = "clean"
    else:
        if check is not None:
            check(result)
        outcome = "correct"
    TOTALS[outcome] += 1
    TOTALS[f"{kind.split(':')[0]}:{outcome}"] += 1
    return outcome


# ------------------------------------------------------------------ mutations
_TOKENS = ("-1", "-7", "4294967296", "8589934592", "9" * 30, "nan", "inf", "-inf", "1e400", "abc", "", "0x10",
           "1.5", "2e9", "\x00", "é", "3,4", "1 2 3 4 5")


def _mutate(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One seeded change of a text file: ``(name, new bytes)``."""
    kind = rng.choice(["truncate", "flip", "token", "garbage-line", "duplicate-line", "empty", "gzip", "long-token",
                       "blank-lines", "swap-lines"])
    lines = data.split(b"\n")
    if kind == "truncate":
        return kind, data[: int(rng.integers(0, len(data)))]
    if kind == "flip":
        buf = bytearray(data)
        for k in rng.integers(0, len(buf), int(rng.integers(1, 17))):
            buf[k] = int(rng.integers(0, 256))
        return kind, bytes(buf)
    if kind == "token":
        k = int(rng.integers(0, max(len(lines) - 1, 1)))
        parts = lines[k].replace(b",", b" ").replace(b"\t", b" ").replace(b"|", b" ").split(b" ")
        sep = b"," if b"," in lines[k] else b"\t" if b"\t" in lines[k] else b"|" if b"|" in lines[k] else b" "
        parts[int(rng.integers(0, len(parts)))] = str(rng.choice(_TOKENS)).encode()
        lines[k] = sep.join(parts)
        return kind, b"\n".join(lines)
    if kind == "garbage-line":
        lines.insert(int(rng.integers(0, len(lines) + 1)), rng.integers(1, 256, int(rng.integers(1, 40)),
                                                                        dtype=np.uint8).tobytes())
        return kind, b"\n".join(lines)
    if kind == "duplicate-line":
        k = int(rng.integers(0, len(lines)))
        lines.insert(k, lines[k])
        return kind, b"\n".join(lines)
    if kind == "empty":
        return kind, b""
    if kind == "gzip":
        return kind, gzip.compress(data)
    if kind == "long-token":
        return kind, data + b"1" * int(rng.integers(65, 5000)) + b" 2\n"
    if kind == "blank-lines":
        return kind, data + b"\n\n\n"
    k = int(rng.integers(0, len(lines)))
    lines[0], lines[k] = lines[k], lines[0]
    return kind, b"\n".join(lines)


def _valid_graph(g: Graph) -> None:
    """What any Graph a reader returns must satisfy."""
    assert isinstance(g, Graph)
    ei = g.edge_index
    assert ei.dtype == torch.int64 and (ei.numel() == 0 or (int(ei.min()) >= 0 and int(ei.max()) < g.num_nodes))
    for t in (g.x, g.edge_weight):
        assert t is None or bool(torch.isfinite(t).all())
    assert g.y is None or g.y.size(0) == g.num_nodes


def _valid_interactions(ds) -> None:
    tr, te = ds.train_interactions, ds.test_interactions
    for t in (tr, te):
        assert t.dtype == torch.int64
        if t.numel():
            assert int(t.min()) >= 0 and int(t[0].max()) < ds.num_users and int(t[1].max()) < ds.num_items
    pairs = lambda t: set(map(tuple, t.t().tolist()))  # noqa: E731
    assert not pairs(tr) & pairs(te), "a pair is in train and test"


def _same_graph(a: Graph, b: Graph) -> None:
    assert a.num_nodes == b.num_nodes and torch.equal(a.edge_index, b.edge_index)
    for name in ("x", "y", "edge_weight"):
        u, v = getattr(a, name), getattr(b, name)
        assert (u is None) == (v is None) and (u is None or torch.equal(u, v)), name


# ------------------------------------------------------------ the text formats
def _musae_files() -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    n = 12
    edges = "\n".join(f"{u},{v}" for u, v in rng.integers(0, n, (30, 2)))
    feats = "\n".join(f"{i},{f},1" for i in range(n) for f in rng.choice(8, 2, replace=False))
    return {"target.csv": ("id,target\n" + "\n".join(f"{i},{i % 3}" for i in range(n)) + "\n").encode(),
            "edges.csv": f"id_1,id_2\n{edges}\n".encode(),
            "features.csv": f"node_id,feature_id,value\n{feats}\n".encode()}


def _musae_json_files() -> dict[str, bytes]:
    files = _musae_files()
    del files["features.csv"]
    rng = np.random.default_rng(5)
    files["features.json"] = ("{" + ", ".join(f'"{i}": {sorted(set(rng.integers(0, 9, 3).tolist()))}'
                                              for i in range(12)) + "}").encode()
    return files


def _lightgcn_files() -> dict[str, bytes]:
    rng = np.random.default_rng(2)
    train = "\n".join(f"{u} " + " ".join(map(str, sorted(set(rng.integers(0, 15, 4).tolist())))) for u in range(8))
    test = "\n".join(f"{u} {15 + u % 3}" for u in range(8))
    return {"train.txt": (train + "\n").encode(), "test.txt": (test + "\n").encode()}


def _movielens_files() -> dict[str, bytes]:
    rng = np.random.default_rng(3)
    rows = "\n".join(f"{u}\t{i}\t{r}\t{880000000 + k}" for k, (u, i, r) in
                     enumerate(zip(rng.integers(1, 9, 60), rng.integers(1, 13, 60), rng.integers(1, 6, 60))))
    items = "\n".join(f"{i}|Movie {i} (1995)|01-Jan-1995||http://x|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0"
                      for i in range(1, 13))
    return {"u.data": (rows + "\n").encode(), "u.item": (items + "\n").encode("latin-1")}


def _edge_files() -> dict[str, bytes]:
    rng = np.random.default_rng(4)
    return {"e.txt": ("# a comment\n" + "\n".join(f"{u} {v} {w:.3f}" for u, v, w in
                                                  zip(rng.integers(0, 20, 40), rng.integers(0, 20, 40),
                                                      rng.random(40) + 0.1)) + "\n").encode()}


def _csv_files() -> dict[str, bytes]:
    return {"edges.csv": b"src,dst\n0,1\n1,2\n2,3\n3,0\n0,0\n",
            "labels.csv": b"id,label\n0,1\n1,0\n2,1\n3,0\n"}


FORMATS = {  # name -> (files, reader of a folder, validity check)
    "musae": (_musae_files, read_musae, _valid_graph),
    "musae-json": (_musae_json_files, read_musae, _valid_graph),
    "lightgcn": (_lightgcn_files, lambda d: read_lightgcn(d, name="fuzz"), _valid_interactions),
    "movielens": (_movielens_files, lambda d: read_movielens(d, name="fuzz"), _valid_interactions),
    "edgelist": (_edge_files, lambda d: read_edge_list(d / "e.txt", undirected=True), _valid_graph),
    "csv": (_csv_files, lambda d: from_csv(d / "edges.csv", d / "labels.csv"), _valid_graph),
}


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.filterwarnings("ignore:.*may be truncated mid-row")
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_bad_files_per_format(fmt, tmp_path):
    make, read, check = FORMATS[fmt]
    files = make()
    original = read(_write(tmp_path / "original", files))
    check(original)
    rng = np.random.default_rng([SEED, list(FORMATS).index(fmt)])
    for case in range(40):
        name = sorted(files)[int(rng.integers(0, len(files)))]
        kind, data = _mutate(files[name], rng)
        folder = _write(tmp_path / f"case{case}", {**files, name: data})
        _run(f"{fmt}:{name}:{kind}:{case}", lambda: read(folder), check)
    # Changes that must not change the result: a byte-order mark, CRLF line ends, trailing blank lines.
    for case, change in enumerate((lambda b: b"\xef\xbb\xbf" + b, lambda b: b.replace(b"\n", b"\r\n"),
                                   lambda b: b + b"\n\n")):
        folder = _write(tmp_path / f"same{case}", {k: change(v) for k, v in files.items()})
        same = _same_graph if isinstance(original, Graph) else _same_interactions
        _run(f"{fmt}:unchanged", lambda: read(folder), lambda r: same(r, original))


def _same_interactions(a, b) -> None:
    assert (a.num_users, a.num_items) == (b.num_users, b.num_items)
    assert torch.equal(a.train_interactions, b.train_interactions)
    assert torch.equal(a.test_interactions, b.test_interactions)


def _planetoid(folder: Path, rng: np.random.Generator) -> None:
    feats, classes = 5, 3
    allx, tx = rng.random((7, feats)).astype(np.float32), rng.random((3, feats)).astype(np.float32)
    ally, ty = np.eye(classes)[rng.integers(0, classes, 7)], np.eye(classes)[rng.integers(0, classes, 3)]
    graph = defaultdict(list, {0: [1], 1: [2], 2: [9], 9: [7], 5: [6]})
    objs = {"x": sp.csr_matrix(allx[:4]), "tx": sp.csr_matrix(tx), "allx": sp.csr_matrix(allx), "y": ally[:4],
            "ty": ty, "ally": ally, "graph": graph}
    folder.mkdir(parents=True, exist_ok=True)
    for key, obj in objs.items():
        (folder / f"ind.fz.{key}").write_bytes(pickle.dumps(obj, protocol=int(rng.integers(2, 5))))
    (folder / "ind.fz.test.index").write_text("7\n8\n9\n")


def test_bad_planetoid_pickles(tmp_path):
    rng = np.random.default_rng([SEED, 100])
    _planetoid(tmp_path / "ok", rng)
    _valid_graph(read_planetoid(tmp_path / "ok", "fz"))
    for case in range(30):
        folder = tmp_path / f"case{case}"
        _planetoid(folder, rng)
        key = str(rng.choice(["x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"]))
        path = folder / f"ind.fz.{key}"
        kind, data = _mutate(path.read_bytes(), rng)
        path.write_bytes(data)
        _run(f"planetoid:{key}:{kind}", lambda: read_planetoid(folder, "fz"), _valid_graph)
    evil = tmp_path / "evil"  # a pickle that would run code must be refused, never run
    _planetoid(evil, rng)
    (evil / "ind.fz.graph").write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path / "ran").encode() + b"'\ntR.")
    _run("planetoid:code", lambda: read_planetoid(evil, "fz"), _valid_graph)
    assert not (tmp_path / "ran").exists()


# ----------------------------------------------------------- ids and weights
def test_bad_ids_and_weights_in_a_graph():
    rng = np.random.default_rng([SEED, 200])
    for case in range(60):
        n = int(rng.integers(1, 8))
        ei = rng.integers(-2, n + 2, (2, int(rng.integers(0, 10))))
        if rng.random() < 0.2:
            ei[0, 0:1] = 2**40
        w = rng.choice([1.0, 0.5, -1.0, 0.0, np.nan, np.inf, 1e308], ei.shape[1])
        dtype = torch.float32 if rng.random() < 0.9 else torch.float16

        def build():
            return Graph(edge_index=torch.as_tensor(ei), edge_weight=torch.as_tensor(w, dtype=dtype), num_nodes=n)

        _run("graph:ids-weights", build, _valid_graph)


# --------------------------------------------------------------- checkpoints
def test_corrupted_checkpoints(tmp_path):
    rng = np.random.default_rng([SEED, 300])
    state = {"task": "node", "epoch": 3, "model_state": {"w": torch.randn(64, 32)}, "history": [{"loss": 0.5}]}
    path = tmp_path / "ck.pt"
    save_verified(path, state, kind="gnnkit.node")
    good = path.read_bytes()
    for case in range(60):
        buf = bytearray(good)
        how = ["flip", "truncate", "insert", "zero-block", "swap-kind"][case % 5]
        if how == "flip":
            for k in rng.integers(0, len(buf), int(rng.integers(1, 17))):
                buf[k] ^= int(rng.integers(1, 256))
        elif how == "truncate":
            buf = buf[: int(rng.integers(0, len(buf)))]
        elif how == "insert":
            k = int(rng.integers(0, len(buf)))
            buf[k:k] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        elif how == "zero-block":
            k = int(rng.integers(0, len(buf) - 64))
            buf[k:k + 64] = bytes(64)
        target = tmp_path / f"c{case}.pt"
        if how == "swap-kind":
            save_verified(target, state, kind="gnnkit.rec")
        else:
            target.write_bytes(bytes(buf))

        def check(loaded):  # only an unchanged file may load, and then it is the saved state
            assert bytes(buf) == good and torch.equal(loaded["model_state"]["w"], state["model_state"]["w"])

        _run(f"checkpoint:{how}", lambda: load_verified(target, kind="gnnkit.node"), check)


def test_corrupted_and_locked_checkpoints_from_the_cli(tmp_path, capsys):
    from gnnkit.cli import main

    ck = tmp_path / "ck.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "4", "--checkpoint", str(ck), "--quiet"]) == 0
    capsys.readouterr()
    rng = np.random.default_rng([SEED, 400])
    data = ck.read_bytes()
    for case in range(3):
        bad = tmp_path / f"bad{case}.pt"
        k = int(rng.integers(64, len(data) - 64))
        bad.write_bytes(data[:k] + rng.integers(0, 256, 32, dtype=np.uint8).tobytes() + data[k + 32:])
        _cli(f"checkpoint:cli-resume-{case}", ["train", "node", "--dataset", "karate", "--epochs", "6",
                                               "--resume", str(bad), "--quiet"], capsys)
    with exclusive_lock(ck):  # another run is writing this checkpoint
        _cli("checkpoint:cli-locked", ["train", "node", "--dataset", "karate", "--epochs", "6", "--resume",
                                       str(ck), "--checkpoint", str(ck), "--quiet"], capsys,
             expect="is being written by another run")
    # without --resume an existing checkpoint is never replaced by a new run
    _cli("checkpoint:cli-exists", ["train", "node", "--dataset", "karate", "--epochs", "2", "--checkpoint", str(ck),
                                   "--quiet"], capsys, expect="already exists")
    assert load_verified(ck)["epoch"] == 4  # the locked-out run did not touch it


def _cli(kind: str, argv: list[str], capsys, expect: str = "") -> None:
    from gnnkit.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("gnnkit: error: ") and err.count("\n") == 1 and expect in err, (kind, err)
    TOTALS["clean"] += 1
    TOTALS[f"{kind.split(':')[0]}:clean"] += 1


_WRITER = textwrap.dedent("""
    import sys, torch
    from gnnkit.io import save_verified
    k = 0
    while True:
        k += 1
        save_verified(sys.argv[1], {"k": k, "w": torch.full((512, 512), float(k))}, kind="fuzz")
        print(k, flush=True)
""")


def test_killed_writer_leaves_a_whole_checkpoint(tmp_path):
    """kill -9 at a random moment of a checkpoint loop: the file is the last
    whole checkpoint (its tensor all one value), never a mix."""
    rng = np.random.default_rng([SEED, 500])
    path = tmp_path / "ck.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    for case in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, env=env, text=True)
        assert proc.stdout.readline().strip()  # one checkpoint is complete
        time.sleep(float(rng.uniform(0.0, 0.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

        def check(state):
            assert state["k"] >= 1 and bool((state["w"] == float(state["k"])).all())

        _run("kill-9:checkpoint", lambda: load_verified(path, kind="fuzz"), check)


# ------------------------------------------------------------------ downloads
BODY = np.random.default_rng(7).integers(0, 256, 50_000, dtype=np.uint8).tobytes()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):  # /<cut>/<announce>: send BODY[:cut], with or without Content-Length
        try:
            _, cut, announce = self.path.split("/")
            self.send_response(200)
            if announce == "1":
                self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: int(cut)])
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_truncated_downloads(server, tmp_path, monkeypatch):
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng([SEED, 600])
    digest = sha256_bytes(BODY)
    for case in range(24):
        cut = int(rng.integers(0, len(BODY))) if case % 4 else len(BODY)
        announce, known = int(rng.integers(0, 2)), ["digest", "size", "digest"][case % 3]
        dest = tmp_path / f"f{case}"
        kwargs = {"sha256": digest} if known == "digest" else {"sha256": "0" * 64, "size": len(BODY)}
        if known == "size" and cut == len(BODY):
            kwargs["sha256"] = digest

        def check(got, dest=dest):
            assert got == digest and dest.read_bytes() == BODY

        outcome = _run(f"download:{known}", lambda: fetch(f"{server}/{cut}/{announce}", dest, progress=False,
                                                           timeout=5, **kwargs), check)
        if outcome == "clean":
            assert not dest.exists() and not list(tmp_path.glob(f".f{case}.*"))  # nothing half-written kept
