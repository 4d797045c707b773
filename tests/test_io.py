"""gnnkit.io: atomic writes, verified files, checksums, writability and output locks."""
from __future__ import annotations

import errno
import hashlib
import io
import os
import pickle
import random
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

from gnnkit import io as gio

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------- atomic write
def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "out.bin"
    gio.atomic_write_bytes(path, b"old")
    gio.atomic_write_text(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.bin"]


def test_atomic_write_keeps_old_file_when_a_write_fails_midway(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.bin"
    path.write_bytes(b"previous content")
    real_write, calls = os.write, []

    def failing_write(fd, data):  # the second chunk hits a full disk after writing half of it
        calls.append(len(data))
        if len(calls) == 2:
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(OSError) as err:
        gio.atomic_write_bytes(path, b"x" * (3 << 20))
    monkeypatch.undo()
    assert err.value.errno == errno.ENOSPC
    assert str(path) in str(err.value) and "disk space" in str(err.value)
    assert path.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.bin"]  # the temporary file is gone


def test_atomic_writer_keeps_old_file_when_the_body_raises(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"old")
    with pytest.raises(KeyError):
        with gio.atomic_writer(path) as out:
            out.write(b"half")
            raise KeyError("caller failed")  # the caller's own error passes through unchanged
    assert path.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_atomic_write_survives_kill_9(tmp_path):
    """A process killed while rewriting a file leaves the old or the new file, whole."""
    path = tmp_path / "f.bin"
    old, new = b"A" * (8 << 20), b"B" * (8 << 20)
    path.write_bytes(old)
    script = textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("gio", {str(REPO / 'gnnkit' / 'io.py')!r})
        gio = importlib.util.module_from_spec(spec); spec.loader.exec_module(gio)
        data = b"B" * (8 << 20)
        print("ready", flush=True)
        while True:
            gio.atomic_write_bytes({str(path)!r}, data)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    import time

    time.sleep(0.3)
    proc.kill()
    proc.wait()
    assert path.read_bytes() in (old, new)


def _read_only(monkeypatch, folder):
    """Make ``folder`` refuse new files: chmod where it binds, and a refusing
    ``os.open`` inside it for root (whom directory permissions do not stop)."""
    folder.chmod(0o555)
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(folder)) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)


def test_atomic_write_read_only_directory(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "f").write_bytes(b"keep")
    _read_only(monkeypatch, folder)
    try:
        with pytest.raises(OSError, match="ro/f"):
            gio.atomic_write_bytes(folder / "f", b"new")
        assert (folder / "f").read_bytes() == b"keep"
    finally:
        folder.chmod(0o755)


def test_atomic_write_keeps_permissions_of_replaced_file(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("a")
    path.chmod(0o640)
    gio.atomic_write_text(path, "b")
    assert path.stat().st_mode & 0o777 == 0o640


# ---------------------------------------------------------------- checksums
def test_sha256(tmp_path):
    data = os.urandom(3 << 20)
    (tmp_path / "f").write_bytes(data)
    assert gio.sha256_file(tmp_path / "f") == gio.sha256_bytes(data) == hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------ verified files
@pytest.fixture
def state():
    g = torch.Generator().manual_seed(0)
    return {"epoch": 3, "weight": torch.randn(64, 64, generator=g), "history": [{"loss": 0.5}], "name": "gcn"}


def test_save_load_roundtrip(tmp_path, state):
    gio.save_verified(tmp_path / "c.pt", state, kind="node-checkpoint")
    back = gio.load_verified(tmp_path / "c.pt", kind="node-checkpoint")
    assert back["epoch"] == 3 and back["history"] == state["history"] and torch.equal(back["weight"], state["weight"])
    assert gio.load_verified(tmp_path / "c.pt")["name"] == "gcn"  # kind=None accepts any kind


def _tensor_record_offset(data: bytes) -> int:
    """Offset in a save_verified file of the first byte of the largest tensor's storage."""
    start = data.index(b"PK\x03\x04")  # the torch.save zip starts after the header
    zf = zipfile.ZipFile(io.BytesIO(data[start:]))
    info = max(zf.infolist(), key=lambda i: i.file_size)
    assert "/data/" in info.filename
    local = start + info.header_offset
    name_len = int.from_bytes(data[local + 26:local + 28], "little")
    extra_len = int.from_bytes(data[local + 28:local + 30], "little")
    return local + 30 + name_len + extra_len


def test_digest_detects_flipped_bytes_in_a_tensor_record(tmp_path, state):
    path = tmp_path / "c.pt"
    gio.save_verified(path, state, kind="node-checkpoint")
    data = bytearray(path.read_bytes())
    at = _tensor_record_offset(bytes(data)) + 100
    for k in range(16):
        data[at + k] ^= 0xFF
    path.write_bytes(bytes(data))
    # without the digest these bytes would load as different weights: torch.load itself does not notice
    with pytest.raises(ValueError, match=r"corrupted \(digest mismatch"):
        gio.load_verified(path, kind="node-checkpoint")


def test_digest_detects_random_bytes_in_the_middle(tmp_path, state):
    path = tmp_path / "c.pt"
    gio.save_verified(path, state, kind="k")
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = random.Random(0).randbytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted"):
        gio.load_verified(path)


@pytest.mark.parametrize("cut", [5, 20, -1, -5000])
def test_truncated_file_is_refused(tmp_path, state, cut):
    path = tmp_path / "c.pt"
    gio.save_verified(path, state, kind="k")
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(ValueError, match="corrupted|truncated|not a file written by gnnkit"):
        gio.load_verified(path)


def test_kind_mismatch_names_both_kinds(tmp_path, state):
    gio.save_verified(tmp_path / "c.pt", state, kind="rec-checkpoint")
    with pytest.raises(ValueError, match="'rec-checkpoint'.*'node-checkpoint'"):
        gio.load_verified(tmp_path / "c.pt", kind="node-checkpoint")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_unsafe_pickle_is_refused_even_with_a_valid_digest(tmp_path):
    buf = io.BytesIO()
    torch.save({"x": _Evil()}, buf)
    payload = buf.getvalue()
    path = tmp_path / "evil.pt"
    path.write_bytes(gio._header("k", len(payload), hashlib.sha256(payload).digest()) + payload)
    with pytest.raises(ValueError, match="refusing to load"):
        gio.load_verified(path)


def test_file_without_header_is_refused_as_old(tmp_path, state):
    torch.save(state, tmp_path / "old.pt")  # what gnnkit 0.1's save_checkpoint wrote
    with pytest.raises(ValueError, match="older gnnkit without a digest"):
        gio.load_verified(tmp_path / "old.pt")
    (tmp_path / "junk").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not a file written by gnnkit"):
        gio.load_verified(tmp_path / "junk")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ValueError, match="nope.pt does not exist"):
        gio.load_verified(tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="is a directory"):
        gio.load_verified(tmp_path)


def test_non_dict_payload_refused(tmp_path):
    with pytest.raises(TypeError):
        gio.save_verified(tmp_path / "c.pt", [1, 2], kind="k")  # type: ignore[arg-type]


def test_io_imports_nothing_from_gnnkit():
    import ast

    tree = ast.parse((REPO / "gnnkit" / "io.py").read_text())
    modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert modules and not [m for m in modules if m.split(".")[0] == "gnnkit"]


# ------------------------------------------------------------- check_writable
def test_check_writable(tmp_path):
    gio.check_writable(tmp_path / "new" / "deeper" / "ckpt.pt")  # creates the folders
    assert (tmp_path / "new" / "deeper").is_dir() and not list((tmp_path / "new" / "deeper").iterdir())
    with pytest.raises(ValueError, match="is a directory"):
        gio.check_writable(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="cannot write"):
        gio.check_writable(tmp_path / "file" / "ckpt.pt")  # parent is a file


def test_check_writable_read_only(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    try:
        with pytest.raises(ValueError, match=r"cannot write .*ro/ckpt\.pt"):
            gio.check_writable(ro / "ckpt.pt")
    finally:
        ro.chmod(0o755)


# ---------------------------------------------------------------------- locks
def test_lock_collides_within_a_process_and_is_released(tmp_path):
    out = tmp_path / "log.csv"
    with gio.exclusive_lock(out) as lock:
        assert lock.read_text().strip() == str(os.getpid())
        with pytest.raises(ValueError, match=rf"being written by another run \(pid {os.getpid()}\)"):
            with gio.exclusive_lock(out):
                pass
    assert not lock.exists()
    with gio.exclusive_lock(out):  # free again
        pass


def test_lock_collision_from_a_second_process_and_release_on_death(tmp_path):
    out = tmp_path / "ckpt.pt"
    script = textwrap.dedent(f"""
        import importlib.util, sys, time
        spec = importlib.util.spec_from_file_location("gio", {str(REPO / 'gnnkit' / 'io.py')!r})
        gio = importlib.util.module_from_spec(spec); spec.loader.exec_module(gio)
        with gio.exclusive_lock({str(out)!r}):
            print("locked", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"locked"
        with pytest.raises(ValueError, match=rf"ckpt\.pt is being written by another run \(pid {proc.pid}\)"):
            with gio.exclusive_lock(out):
                pass
    finally:
        proc.kill()  # kill -9: no clean-up code runs, the kernel drops the lock
        proc.wait()
    with gio.exclusive_lock(out):
        pass


def test_datasets_and_ops_do_not_import_upwards():
    """datasets and ops sit below train/cli: they reach disk through gnnkit.io only."""
    offenders = [str(p.relative_to(REPO)) for folder in ("gnnkit/datasets", "gnnkit/ops")
                 for p in (REPO / folder).rglob("*.py")
                 if any(s in p.read_text() for s in ("gnnkit.train", "gnnkit.cli"))]
    assert offenders == []
