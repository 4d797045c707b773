"""Safe file I/O: atomic writes, verified loads, checksums and output locks.

The bottom layer of gnnkit: everything that writes to disk (checkpoints,
processed caches, downloads, logs) goes through here, and this module imports
nothing else from gnnkit.

* **Atomic writes.** ``atomic_write_bytes`` / ``atomic_writer`` write a
  temporary file in the destination's directory, ``fsync`` it and
  ``os.replace`` it over the destination: a reader sees the old file or the new
  one, never a mix, and a failure (full disk, kill -9) leaves the old file as
  it was. Disk errors come back as ``OSError`` naming the path.
* **Verified files.** ``save_verified`` stores a ``torch.save`` payload behind a
  small header (magic, ``kind``, payload length, sha256 of the payload);
  ``load_verified`` checks all four before unpickling with
  ``torch.load(weights_only=True)``, so a flipped byte, a truncated copy or a
  file of the wrong kind is an error, never a silently different state.
  Files without the header (``torch.save`` output, as written by gnnkit
  0.1's ``save_checkpoint``) are refused: they cannot be verified.
* **Output locks.** ``exclusive_lock`` makes a second run writing the same
  output fail at once with the first run's pid, instead of interleaving.

Header layout (big-endian): the 8-byte magic ``b"\\x89GNNKIT\\n"``, the kind's
length (2 bytes) and the kind (UTF-8), the payload length (8 bytes), the
payload's sha256 (32 bytes), then the payload (``torch.save`` of a dict).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import pickle
import secrets
import stat
import struct
from pathlib import Path
from typing import Any, BinaryIO, Iterator

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_writer", "check_writable", "exclusive_lock",
           "load_verified", "save_verified", "sha256_bytes", "sha256_file"]

MAGIC = b"\x89GNNKIT\n"
_CHUNK = 1 << 20
_MAX_KIND = 256


# ------------------------------------------------------------------ checksums
def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------- atomic writes
class _Sink:
    """The writable end of ``atomic_writer``: unbuffered, every byte reaches
    ``os.write`` (a short write is retried until the chunk is out)."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self._path = path
        self.written = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        done = 0
        try:
            while done < len(view):
                done += os.write(self._fd, view[done:done + _CHUNK])
        except OSError as err:
            raise _disk_error(self._path, err, "write") from err
        self.written += done
        return done


def _disk_error(path: Path, err: OSError, doing: str) -> OSError:
    reason = err.strerror or str(err)
    hint = {errno.ENOSPC: "free some disk space or write elsewhere",
            errno.EDQUOT: "free some quota or write elsewhere",
            errno.EROFS: "the file system is read-only; choose a writable path",
            errno.EACCES: "choose a path you may write to",
            errno.EPERM: "choose a path you may write to"}.get(err.errno, "check the path and the disk")
    out = OSError(err.errno, f"could not {doing} {path}: {reason}; {hint} (any previous {path.name} is unchanged)")
    out.filename = str(path)
    return out


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Context manager: a binary sink whose content replaces ``path`` on a
    clean exit, and is discarded (the old file untouched) on any exception.

    The temporary file ``.<name>.<random>.tmp`` lives beside ``path`` (so the
    rename is atomic), gets the permissions a plain ``open`` would give, and is
    fsynced before the rename; the directory is fsynced after it.

    Raises:
        OSError: the directory cannot be created or written, or the disk is
            full; the message names ``path``.
    """
    path = _write_target(Path(path))
    if path.exists() and not path.is_file():  # a device or FIFO (/dev/null, a pipe): written through, not replaced
        with _direct_sink(path) as sink:
            yield sink
        return
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask, like open()
    except OSError as err:
        raise _disk_error(path, err, "create a file beside") from err
    try:
        try:
            yield _Sink(fd, path)  # type: ignore[misc]
        except BaseException:
            os.close(fd)
            raise
        try:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            with contextlib.suppress(OSError):  # keep the mode of a file we replace (e.g. a shared log)
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
            os.replace(tmp, path)
        except OSError as err:
            raise _disk_error(path, err, "write") from err
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _write_target(path: Path) -> Path:
    """The file a write to ``path`` lands in: a symlink's target (the link stays
    a link; a loop is an ``OSError``), ``path`` itself otherwise."""
    if not path.is_symlink():
        return path
    try:
        return path.resolve(strict=False)
    except (RuntimeError, OSError) as err:  # RuntimeError: a symlink loop (Python < 3.13)
        raise OSError(errno.ELOOP, f"cannot write {path}: it is a symlink loop; pass a file path") from err


@contextlib.contextmanager
def _direct_sink(path: Path) -> Iterator[BinaryIO]:
    """Write into an existing device or FIFO (a rename would replace it by a
    regular file); a FIFO no process reads is an error, not a hang."""
    flags = os.O_WRONLY | (os.O_NONBLOCK if stat.S_ISFIFO(path.stat().st_mode) else 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ENXIO:
            raise OSError(err.errno, f"cannot write {path}: it is a FIFO that no process is reading; start the "
                                     f"reader first or pass a file path") from err
        raise _disk_error(path, err, "write") from err
    os.set_blocking(fd, True)
    try:
        yield _Sink(fd, path)  # type: ignore[misc]
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Persist a rename (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename);
    an ``OSError`` names ``path`` and leaves its previous content unchanged."""
    with atomic_writer(path) as out:
        out.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see ``atomic_write_bytes``)."""
    atomic_write_bytes(path, text.encode(encoding))


def check_writable(path: str | os.PathLike) -> None:
    """Fail now (a ``ValueError`` naming ``path`` and the reason), not after
    hours of training, when ``path`` cannot be written: creates the parent
    directory when needed and writes (then removes) a probe file in it; an
    existing ``path`` must be writable."""
    try:
        path = _write_target(Path(path))
    except OSError as err:
        raise ValueError(err.strerror) from None
    if path.is_dir():
        raise ValueError(f"cannot write {path}: it is a directory; pass a file path")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"cannot write {path}: the file is not writable; choose another path or fix its permissions")
    if path.exists() and not path.is_file():  # a device or FIFO: written through (atomic_writer), no probe
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.parent / f".{path.name}.{secrets.token_hex(6)}.probe"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"cannot write {path}: {err.strerror or err} in {path.parent}; "
                         f"choose a writable path") from err


# ------------------------------------------------------------ verified files
def is_verified_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an existing file written by ``save_verified`` (a
    checkpoint or processed cache): its first bytes are gnnkit's header."""
    if not Path(path).is_file():  # (opening a FIFO to read it would wait for a writer)
        return False
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _header(kind: str, payload_len: int, digest: bytes) -> bytes:
    k = kind.encode("utf-8")
    if not k or len(k) > _MAX_KIND:
        raise ValueError(f"kind must be a non-empty string of at most {_MAX_KIND} bytes, got {kind!r}")
    return MAGIC + struct.pack(">H", len(k)) + k + struct.pack(">Q", payload_len) + digest


def save_verified(path: str | os.PathLike, obj: dict[str, Any], *, kind: str) -> None:
    """Save the dict ``obj`` with ``torch.save`` behind a digest header,
    atomically (an ``OSError`` keeps the previous file). Keep ``obj`` to
    tensors, numbers, strings, lists and dicts (``dataclasses.asdict`` for
    dataclasses) so that ``load_verified`` reads it with ``weights_only=True``;
    ``kind`` says what the file holds (e.g. ``"node-checkpoint"``), and
    ``load_verified(kind=...)`` refuses a file of another kind."""
    import torch

    if not isinstance(obj, dict):
        raise TypeError(f"save_verified stores a dict, got {type(obj).__name__}")
    buf = io.BytesIO()
    torch.save(obj, buf)
    payload = buf.getbuffer()
    header = _header(kind, len(payload), hashlib.sha256(payload).digest())
    with atomic_writer(path) as out:
        out.write(header)
        out.write(payload)


def _old_format(head: bytes) -> bool:
    """A plain ``torch.save`` file: a zip archive, or a legacy pickle."""
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def _read_header(path: Path, data: bytes) -> tuple[str, int]:
    """``(kind, payload offset)`` of a ``save_verified`` file, or ValueError."""
    if not data.startswith(MAGIC):
        if _old_format(data[:4]):
            raise ValueError(f"{path} was written by an older gnnkit without a digest, so it cannot be verified; "
                             f"retrain (or rebuild) to write it again in the current format")
        raise ValueError(f"{path} is not a file written by gnnkit (unknown header {data[:8]!r}); "
                         f"pass a checkpoint or cache file that gnnkit saved")
    pos = len(MAGIC)
    try:
        (klen,) = struct.unpack_from(">H", data, pos)
        kind = data[pos + 2:pos + 2 + klen].decode("utf-8")
        pos += 2 + klen
        (length,) = struct.unpack_from(">Q", data, pos)
        pos += 8 + 32
    except (struct.error, UnicodeDecodeError) as err:
        raise ValueError(f"checkpoint {path} is corrupted or truncated (unreadable header: {err}); "
                         f"delete it and retrain, or restore a good copy") from None
    if len(data) - pos != length:
        raise ValueError(f"checkpoint {path} is corrupted or truncated: it holds {max(len(data) - pos, 0)} payload "
                         f"bytes, its header says {length}; delete it and retrain, or restore a good copy")
    return kind, pos


def load_verified(path: str | os.PathLike, *, kind: str | None = None,
                  map_location: Any = "cpu") -> dict[str, Any]:
    """Load a file written by ``save_verified``, after checking it.

    Checks, in order: the file exists; the header is gnnkit's (files without
    one, written by older versions, are refused); the payload has the length
    and sha256 the header records; ``kind`` matches when given; the payload
    unpickles with ``torch.load(weights_only=True)`` (tensors, numbers,
    strings, containers only) into a dict. ``kind=None`` accepts any kind;
    ``map_location`` goes to ``torch.load``. Any failed check is a
    ``ValueError`` naming ``path``, what is wrong, and what to do.
    """
    import torch

    path = Path(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # reading a FIFO would wait forever
            raise ValueError(f"{path} is not a regular file (a FIFO, socket or device); pass the checkpoint file")
        data = path.read_bytes()
    except FileNotFoundError:
        seeds = sorted(path.parent.glob(f"{path.stem}-seed*{path.suffix}")) if path.parent.is_dir() else []
        hint = (f"; a run with several seeds writes one file per seed: {', '.join(p.name for p in seeds[:3])}"
                f"{' ...' if len(seeds) > 3 else ''} in {path.parent}" if seeds else "")
        raise ValueError(f"{path} does not exist; pass the path a run wrote (e.g. with --checkpoint){hint}") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory; pass the checkpoint file inside it") from None
    except OSError as err:
        raise ValueError(f"cannot read {path} ({err.strerror or err})") from err
    stored_kind, offset = _read_header(path, data)
    digest = data[offset - 32:offset]
    payload = data[offset:]
    actual = hashlib.sha256(payload).digest()
    if actual != digest:
        raise ValueError(f"checkpoint {path} is corrupted (digest mismatch: header sha256 {digest.hex()[:16]}…, "
                         f"content {actual.hex()[:16]}…); it changed after it was written (disk fault, partial copy, "
                         f"edit). Delete it and retrain, or restore a good copy")
    if kind is not None and stored_kind != kind:
        raise ValueError(f"{path} holds a {stored_kind!r} file, expected {kind!r}; pass a file of kind {kind!r}")
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f"refusing to load {path}: it holds objects outside the safe set (tensors, numbers, "
                         f"strings, containers) ({err}). Only load files you trust, saved with "
                         f"gnnkit.io.save_verified") from err
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise ValueError(f"checkpoint {path} is unreadable ({err}); delete it and retrain") from err
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, expected a dict written by save_verified")
    return state


# ------------------------------------------------------------------- locking
@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` (through ``<path>.lock``) while
    writing it, so that a second run with the same output fails at once.

    The lock is ``fcntl.flock`` (non-blocking) on ``<path>.lock``, which holds
    the owner's pid; the kernel releases it when the process exits, however it
    dies, and the lock file is removed on a clean exit. Within one process a
    second ``exclusive_lock`` of the same path also collides.

    Yields:
        the lock file's path.

    Raises:
        ValueError: ``"<path> is being written by another run (pid N)..."``.
    """
    import fcntl

    path = Path(path)
    if path.exists() and not path.is_file():  # a device or FIFO (--json /dev/null): nothing to lock beside it
        yield path
        return
    lock = Path(f"{path}.lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot lock {path}: {err.strerror or err}; choose a writable path") from err
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise ValueError(f"cannot lock {path}: {err.strerror or err}; choose a writable path") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ValueError(f"{path} is being written by another run (pid {owner}); wait for it to finish, "
                             f"stop it, or choose another output path") from None
        except OSError as err:
            os.close(fd)
            raise ValueError(f"cannot lock {path}: {err.strerror or err}") from err
        # The holder before us may have unlinked the file we opened: lock the current one instead.
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)  # while still holding it, so a waiter re-checks the inode
        os.close(fd)
