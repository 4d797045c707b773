"""Fetch a file, verify its size and sha256, and move it into place atomically.

Nothing else: no parsing, no caching. The body streams into a temporary file
next to the destination (``gnnkit.io.atomic_writer``); only a complete
download whose length and digest check out is renamed onto the final name, so
an interrupted or corrupt transfer never leaves a file that looks complete.

A download must keep moving: a read waits at most ``timeout`` seconds, every
``timeout``-second window must bring at least ``min_rate`` bytes per second,
and ``deadline`` caps the whole transfer, so a server that trickles bytes
cannot hold a run forever.

Where the catalog does not know a file's digest, the first download records
the digest it got (``<cache_dir>/digests.json``, keyed by URL) and warns that
it was not verified (trust on first use); later downloads and loads are
checked against that record. Only a download whose length was confirmed (by
the server's ``Content-Length`` or the catalog's size) is ever recorded: a
body that simply stopped early must not become the trusted copy.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from gnnkit.io import atomic_write_bytes, atomic_writer, sha256_file
from gnnkit.settings import cache_dir

_CHUNK = 1 << 16


class DownloadError(ValueError):
    """A download failed (network error, HTTP error, truncated or wrong body).
    Not the user's input: the command line exits with status 1."""

    exit_status = 1


class ChecksumError(ValueError):
    """A file's sha256 is not the expected one."""


class DownloadChecksumError(ChecksumError, DownloadError):
    """A downloaded body whose sha256 is not the expected one; nothing was saved."""


def _digest_store() -> Path:
    return cache_dir() / "digests.json"


def recorded_digest(url: str) -> str | None:
    """The digest recorded on the first download of ``url`` (or ``None``)."""
    path = _digest_store()
    try:
        return json.loads(path.read_text()).get(url)
    except (OSError, ValueError):
        return None


def record_digest(url: str, digest: str) -> None:
    """Remember ``digest`` as the trusted sha256 of ``url`` (atomic rewrite,
    under a lock that a concurrent download waits for: no entry is lost)."""
    import fcntl

    path = _digest_store()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        try:
            table = json.loads(path.read_text())
        except (OSError, ValueError):
            table = {}
        table[url] = digest
        atomic_write_bytes(path, json.dumps(table, indent=1, sort_keys=True).encode())


def check_digest(path: str | os.PathLike, expected: str, actual: str | None = None) -> str:
    """Raise ``ChecksumError`` naming the file and both digests unless they match."""
    actual = actual or sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}. The file is corrupt, "
            f"truncated or not the published one; delete it and download again"
        )
    return actual


def fetch(url: str, dest: str | os.PathLike, sha256: str | None = None, *, progress: bool = True,
          timeout: float = 60.0, deadline: float | None = None, min_rate: float = 1024.0,
          size: int | None = None) -> str:
    """Download ``url`` to ``dest`` and return its sha256.

    Args:
        url: the file's URL (http, https or file).
        dest: final path; written only when the download is complete and verified.
        sha256: expected hex digest; ``None`` uses the digest recorded on a
            previous download, or records this one and warns (trust on first use).
        progress: show a tqdm progress bar.
        timeout: seconds to connect and to wait for the next bytes; also the
            window over which ``min_rate`` is measured (default 60).
        deadline: seconds for the whole download (default ``None``: no cap
            beyond ``min_rate``); it is checked between reads, so the run
            stops at most ``timeout`` seconds after it.
        min_rate: bytes per second a download must average over every
            ``timeout``-second window (default 1 KiB/s).
        size: expected length in bytes (the catalog's), checked like the
            server's ``Content-Length``.

    Raises:
        DownloadError: network / HTTP failure, a stalled or too slow transfer,
            or a body whose length differs from the announced or expected one.
        ChecksumError: the digest differs from the expected one.
    """
    dest = Path(dest)
    expected = sha256 or recorded_digest(url)
    if expected is None:  # this download's digest must be recordable, or it could never be checked again
        _check_store_writable(url)
    pace = _Pace(url, dest, timeout, min_rate, deadline)
    _remove_stale_temporaries(dest, max(10 * timeout, 600.0))
    try:
        with atomic_writer(dest) as out:
            total, digest = _receive(url, dest, out, pace, timeout=timeout, progress=progress, size=size)
            for announced, what in ((total, "the server announced"), (size, "the catalog expects")):
                if announced is not None and pace.got != announced:
                    raise DownloadError(f"downloading {url} was cut off: got {pace.got} bytes, {what} {announced}; "
                                        f"retry the download")
            if pace.got == 0:
                raise DownloadError(f"the server sent an empty file for {url}; nothing was saved, retry later")
            if expected is not None and digest != expected:
                origin = ("the published one" if sha256 else f"the one recorded on its first download in "
                          f"{_digest_store()}; if that first copy was bad, delete its entry there")
                raise DownloadChecksumError(f"checksum mismatch for {url}: expected sha256 {expected}, got {digest} "
                                            f"(expected: {origin}); nothing was saved. Retry later, or place the "
                                            f"file at {dest} by hand")
    except OSError as err:  # from atomic_writer: full disk, read-only folder; the message names dest and the fix
        raise _saving_error(url, err) from err
    if expected is None:
        _trust_on_first_use(url, dest, digest, confirmed=total is not None or size is not None)
    return digest


class _Pace:
    """Stops a transfer that is too slow (under ``min_rate`` bytes/s over a
    ``window``-second stretch) or too long (past ``deadline`` seconds)."""

    def __init__(self, url: str, dest: Path, window: float, min_rate: float, deadline: float | None) -> None:
        self.url, self.dest, self.window, self.min_rate, self.deadline = url, dest, window, min_rate, deadline
        self.started = self.window_start = time.monotonic()
        self.got = self.window_got = 0

    def add(self, n: int) -> None:
        self.got += n
        self.window_got += n
        now = time.monotonic()
        if self.deadline is not None and now - self.started > self.deadline:
            raise DownloadError(f"downloading {self.url} passed its deadline of {self.deadline:g} s after {self.got} "
                                f"bytes; retry on a faster connection, pass a longer deadline, or place the file at "
                                f"{self.dest} by hand")
        if now - self.window_start >= self.window:
            rate = self.window_got / (now - self.window_start)
            if rate < self.min_rate:
                raise DownloadError(f"downloading {self.url} is too slow: {rate:.0f} bytes/s over the last "
                                    f"{now - self.window_start:.1f} s (minimum {self.min_rate:g}; {self.got} bytes so "
                                    f"far); retry later, or place the file at {self.dest} by hand")
            self.window_start, self.window_got = now, 0


def _receive(url: str, dest: Path, out, pace: _Pace, *, timeout: float, progress: bool,
             size: int | None) -> tuple[int | None, str]:
    """Stream ``url``'s body into ``out``; returns ``(Content-Length or None, sha256)``."""
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            _check_headers(url, resp.headers, total, size)
            read = getattr(resp, "read1", resp.read)  # read1: whatever has arrived, never waits to fill a block
            from tqdm.auto import tqdm

            with tqdm(total=total or size, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                      disable=not progress, leave=False) as bar:
                for block in iter(lambda: read(_CHUNK), b""):
                    if size is not None and pace.got + len(block) > size:  # never write past the published size
                        raise DownloadError(f"{url} sends more than the {size} bytes of the published file; "
                                            f"nothing was saved (a wrong file or a broken server)")
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
                    pace.add(len(block))
    except urllib.error.HTTPError as err:
        raise DownloadError(f"downloading {url} failed: HTTP {err.code} {err.reason}. Check the URL "
                            f"(gnnkit datasets info NAME) or fetch the file by hand into {dest.parent}") from err
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        if isinstance(err, OSError) and err.filename == str(dest):  # writing failed, not the network
            raise _saving_error(url, err) from err
        raise DownloadError(f"downloading {url} failed after {pace.got} bytes ({err}); check the network and "
                            f"retry, or place the file at {dest} by hand") from err
    return total, h.hexdigest()


def _remove_stale_temporaries(dest: Path, age: float) -> None:
    """Delete the ``.<name>.<random>.tmp`` files of downloads of ``dest`` that
    were killed (SIGKILL, SIGTERM: no clean-up ran); a live download writes
    its own every few seconds, so only files untouched for ``age`` seconds go."""
    now = time.time()
    for tmp in dest.parent.glob(f".{dest.name}.*.tmp") if dest.parent.is_dir() else ():
        try:
            if now - tmp.stat().st_mtime > age:
                tmp.unlink()
        except OSError:  # gone already, or not ours to delete: harmless
            pass


def _saving_error(url: str, err: OSError) -> DownloadError:
    """The download arrived but could not be written: a folder that may not
    be written is the user's to change (status 2), a full disk is not (1)."""
    import errno

    out = DownloadError(f"could not save {url}: {err}")
    out.saving = True  # type: ignore[attr-defined]
    out.exit_status = 2 if isinstance(err, PermissionError) or err.errno in (errno.EROFS, errno.EACCES) else 1
    return out


def _check_headers(url: str, headers, total: int | None, size: int | None) -> None:
    """Refuse, before a byte is written, a body that cannot be the file: an
    announced length other than the published one, an encoded body (stored
    as is it would be the wrong bytes), or an HTML page (an error or login
    page served with status 200)."""
    if total is not None and size is not None and total != size:
        raise DownloadError(f"the server announces {total} bytes for {url} but the published file has {size}; "
                            f"nothing was saved (a wrong file or an error page)")
    encoding = (headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise DownloadError(f"the server sent {url} {encoding}-encoded, which gnnkit does not decode; nothing was "
                            f"saved: fetch the file by hand")
    kind = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml") and not url.lower().endswith((".html", ".htm")):
        raise DownloadError(f"the server answered {url} with an HTML page (an error or login page?) instead of the "
                            f"file; nothing was saved: check the URL (gnnkit datasets info NAME) or fetch it by hand")


def _check_store_writable(url: str) -> None:
    """The digest store's folder (or the nearest one that exists: nothing is
    created here) must be writable, else a first download could never be
    recorded and so never checked again."""
    folder = _digest_store().parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
    if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        err = DownloadError(f"{url} has no published sha256, so the digest of its first download is recorded in "
                            f"{_digest_store()} to check later copies, and {existing} cannot be written; set "
                            f"GNNKIT_CACHE to a writable folder")
        err.exit_status = 2  # type: ignore[attr-defined]
        raise err


def _trust_on_first_use(url: str, dest: Path, digest: str, confirmed: bool) -> None:
    if confirmed:
        record_digest(url, digest)
        warnings.warn(f"{dest.name}: no published sha256 is known for {url}; recorded {digest} on this first "
                      f"download (trust on first use) and will check later copies against it", stacklevel=3)
    else:
        warnings.warn(f"{dest.name}: no published sha256 or length is known for {url} and the server sent no "
                      f"Content-Length, so this download cannot be verified and its digest was not recorded as "
                      f"trusted; check the parsed dataset's size", stacklevel=3)
