"""MkDocs hook: the site's maths renderer, KaTeX, bundled from npm at build time.

The built site must work offline (``file://``, ``mkdocs serve``, no CDN), so
the KaTeX files live next to the pages under ``docs/assets/katex/`` (ignored
by git). When they are missing, ``mkdocs build``/``serve`` fetches the pinned
npm package with ``npm pack``, checks its sha512 against the one recorded here,
and unpacks ``dist/``. ``make docs-assets`` does the same by hand:
``python docs/_ext/katex_assets.py``.
"""
from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.16.22"
# `npm view katex@0.16.22 dist.integrity`
INTEGRITY = "sha512-XCHRdUw4lf3SKBaJe4EvgqIuWwkPSo9XoeO8GjQW94Bp7TWv9hNhzZjZ+OH9yf1UmLygb7DIT5GSFQiyt16zYg=="
DEST = Path(__file__).resolve().parents[1] / "assets" / "katex"
WANTED = ("katex.min.js", "katex.min.css", "fonts/")


def ensure(dest: Path = DEST) -> Path:
    """Unpack KaTeX ``VERSION`` into ``dest`` unless it is there already; return ``dest``.

    Args:
        dest: folder that receives ``katex.min.js``, ``katex.min.css`` and ``fonts/``.
    """
    stamp = dest / "VERSION"
    if stamp.is_file() and stamp.read_text().strip() == VERSION and (dest / "katex.min.js").is_file():
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"the docs need KaTeX {VERSION} under {dest} and npm is not installed: install "
                           f"Node.js/npm (e.g. apt-get install npm), or unpack dist/ of katex-{VERSION}.tgz there")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"katex@{VERSION}", "--pack-destination", tmp, "--silent"], check=True,
                       stdout=subprocess.DEVNULL, timeout=300)
        tgz = Path(tmp) / f"katex-{VERSION}.tgz"
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise RuntimeError(f"katex-{VERSION}.tgz from npm has {digest}, expected {INTEGRITY}: not unpacked")
        staging = Path(tmp) / "katex"
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                rel = member.name.removeprefix("package/dist/")
                if member.isfile() and rel != member.name and rel.startswith(WANTED):
                    member.name = rel
                    tar.extract(member, staging, filter="data")
        (staging / "VERSION").write_text(VERSION + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), dest)
    return dest


def on_config(config, **kwargs):
    """MkDocs hook: make sure the KaTeX files are in ``docs/assets/katex`` before the build."""
    from mkdocs.exceptions import PluginError

    try:
        ensure()
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:  # one line, not a traceback
        raise PluginError(f"KaTeX for the docs' maths: {err}") from err
    return config


if __name__ == "__main__":
    print(ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else DEST))
