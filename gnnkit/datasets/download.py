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
    """A download failed (network error, HTTP error, truncated body)."""


class ChecksumError(ValueError):
    """A file's sha256 is not the expected one."""


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
    """Remember ``digest`` as the trusted sha256 of ``url`` (atomic rewrite)."""
    path = _digest_store()
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
    pace = _Pace(url, dest, timeout, min_rate, deadline)
    try:
        with atomic_writer(dest) as out:
            total, digest = _receive(url, dest, out, pace, timeout=timeout, progress=progress, size=size)
            for announced, what in ((total, "the server announced"), (size, "the catalog expects")):
                if announced is not None and pace.got != announced:
                    raise DownloadError(f"downloading {url} was cut off: got {pace.got} bytes, {what} {announced}; "
                                        f"retry the download")
            if expected is not None:
                check_digest(url, expected, digest)
    except OSError as err:  # from atomic_writer: full disk, read-only folder; the message names dest and the fix
        raise DownloadError(f"could not save {url}: {err}") from err
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
            read = getattr(resp, "read1", resp.read)  # read1: whatever has arrived, never waits to fill a block
            from tqdm.auto import tqdm

            with tqdm(total=total or size, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                      disable=not progress, leave=False) as bar:
                for block in iter(lambda: read(_CHUNK), b""):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
                    pace.add(len(block))
    except urllib.error.HTTPError as err:
        raise DownloadError(f"downloading {url} failed: HTTP {err.code} {err.reason}. Check the URL "
                            f"(gnnkit datasets info NAME) or fetch the file by hand into {dest.parent}") from err
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        if isinstance(err, OSError) and err.filename == str(dest):  # writing failed, not the network
            raise DownloadError(f"could not save {url}: {err}") from err
        raise DownloadError(f"downloading {url} failed after {pace.got} bytes ({err}); check the network and "
                            f"retry, or place the file at {dest} by hand") from err
    return total, h.hexdigest()


def _trust_on_first_use(url: str, dest: Path, digest: str, confirmed: bool) -> None:
    if confirmed:
        record_digest(url, digest)
        warnings.warn(f"{dest.name}: no published sha256 is known for {url}; recorded {digest} on this first "
                      f"download (trust on first use) and will check later copies against it", stacklevel=3)
    else:
        warnings.warn(f"{dest.name}: no published sha256 or length is known for {url} and the server sent no "
                      f"Content-Length, so this download cannot be verified and its digest was not recorded as "
                      f"trusted; check the parsed dataset's size", stacklevel=3)
