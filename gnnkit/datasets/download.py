"""Fetch a file, verify its sha256, and move it into place atomically.

Nothing else: no parsing, no caching. The body streams into a temporary file
next to the destination; only a complete download whose digest matches is
renamed onto the final name, so an interrupted or corrupt transfer never
leaves a file that looks complete.

Where the catalog does not know a file's digest, the first download records
the digest it got (``<cache_dir>/digests.json``, keyed by URL) and warns that
it was not verified (trust on first use); later downloads and loads are
checked against that record.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from gnnkit.settings import cache_dir
from gnnkit.train.checkpoint import atomic_write_bytes

_CHUNK = 1 << 16


class DownloadError(ValueError):
    """A download failed (network error, HTTP error, truncated body)."""


class ChecksumError(ValueError):
    """A file's sha256 is not the expected one."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
          timeout: float = 60.0) -> str:
    """Download ``url`` to ``dest`` and return its sha256.

    Args:
        url: the file's URL (http, https or file).
        dest: final path; written only when the download is complete and verified.
        sha256: expected hex digest; ``None`` uses the digest recorded on a
            previous download, or records this one and warns (trust on first use).
        progress: show a tqdm progress bar.
        timeout: socket timeout in seconds.

    Raises:
        DownloadError: network / HTTP failure or a body shorter than announced.
        ChecksumError: the digest differs from the expected one.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    expected = sha256 or recorded_digest(url)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        got = 0
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                from tqdm.auto import tqdm

                with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                          disable=not progress, leave=False) as bar:
                    while True:
                        block = resp.read(_CHUNK)
                        if not block:
                            break
                        out.write(block)
                        h.update(block)
                        got += len(block)
                        bar.update(len(block))
                out.flush()
                os.fsync(out.fileno())
        except urllib.error.HTTPError as err:
            raise DownloadError(f"downloading {url} failed: HTTP {err.code} {err.reason}. Check the URL "
                                f"(gnnkit datasets info NAME) or fetch the file by hand into {dest.parent}") from err
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            raise DownloadError(f"downloading {url} failed after {got} bytes ({err}); check the network and retry, "
                                f"or place the file at {dest} by hand") from err
        if total is not None and got != total:
            raise DownloadError(f"downloading {url} was cut off: got {got} of {total} bytes; retry the download")
        digest = h.hexdigest()
        if expected is not None:
            check_digest(url, expected, digest)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if expected is None:
        record_digest(url, digest)
        warnings.warn(f"{dest.name}: no published sha256 is known for {url}; recorded {digest} on this first "
                      f"download (trust on first use) and will check later copies against it", stacklevel=2)
    return digest
