"""The documentation site builds with ``mkdocs build --strict`` (no warnings)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _mkdocs() -> list[str]:
    exe = Path(sys.executable).with_name("mkdocs")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("mkdocs")
    if found is None:
        pytest.fail("mkdocs is not installed: pip install -e '.[docs]' (make test installs it)")
    return [found]


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(_mkdocs() + ["build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log[-4000:]}"
    assert not re.search(r"^WARNING", log, re.M), log
    site = tmp_path / "site"
    for page in ("index.html", "tutorials/node-classification/index.html", "api/nn/index.html"):
        assert (site / page).is_file(), f"{page} missing from the built site"
    # mkdocstrings rendered real docstrings, not empty stubs
    api = (site / "api" / "nn" / "index.html").read_text()
    assert "GCNConv" in api and "Kipf" in api
    check_offline_maths(site)


def check_offline_maths(site: Path) -> None:
    """Docstring maths reach KaTeX as arithmatex elements (no reST left), and no page
    loads a script, stylesheet or font from outside the site."""
    for page in sorted(site.rglob("*.html")):
        html = page.read_text()
        assert ".. math::" not in html and ":math:`" not in html, f"raw reST maths in {page.relative_to(site)}"
        outside = re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=\"((?:https?:)?//[^\"]+)", html)
        assert not outside, f"{page.relative_to(site)} loads from outside the site: {outside}"
    api = (site / "api" / "nn" / "index.html").read_text()
    assert api.count('<div class="arithmatex">\\[') >= 3, "GCNConv/SAGEConv/GATConv formulas are not maths blocks"
    assert (site / "assets" / "katex" / "katex.min.js").is_file() and any((site / "assets" / "katex" / "fonts").iterdir())


def test_every_docs_page_is_in_the_nav():
    """A page left out of the nav is unreachable; mkdocs only logs that at INFO."""
    nav = (REPO / "mkdocs.yml").read_text()
    docs = REPO / "docs"
    missing = [str(p.relative_to(docs)) for p in docs.rglob("*.md") if str(p.relative_to(docs)) not in nav]
    assert not missing, f"pages not in mkdocs.yml nav: {missing}"


def test_images_are_small_pngs():
    images = sorted((REPO / "docs" / "images").glob("*.png"))
    assert images, "docs/images holds no figures"
    for png in images:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert png.stat().st_size < 200_000, f"{png.name} is {png.stat().st_size} bytes; keep figures < 200 KB"


def test_every_figure_has_its_command_beside_it():
    """A figure in README or docs is drawn by a command a reader can rerun: one must
    appear within 12 lines of the image (above or below)."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    missing = []
    for page in pages:
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.search(r"!\[[^\]]*\]\([^)]+\.png\)", line):
                near = "\n".join(lines[max(0, i - 12): i + 13])
                if not re.search(r"python (examples|benchmarks)/\S+\.py", near):
                    missing.append(f"{page.relative_to(REPO)}:{i + 1}")
    assert not missing, f"figures without the command that draws them nearby: {missing}"
