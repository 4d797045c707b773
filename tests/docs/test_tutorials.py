"""Every ```python block of every tutorial runs, in page order, in one namespace per page.

A block may opt out only with a marker on the line just before its fence that
states why:

    <!-- docs-test: skip (downloads Gowalla, 200 MB) -->     never run here
    <!-- docs-test: requires-cuda (times the GPU kernels) --> run only where CUDA exists

A marker without a reason in parentheses fails the test, so nothing is skipped
silently. Pages run with ``GNNKIT_DATA`` set to the real data root and inside a
temporary working directory, so what a tutorial writes never lands in the repo.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((REPO / "docs" / "tutorials").glob("*.md"))
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
MARKER = re.compile(r"<!--\s*docs-test:\s*([\w-]+)\s*(?:\((.*?)\))?\s*-->\s*$")


def code_blocks(text: str) -> list[tuple[int, str, str | None, str | None]]:
    """``(line, code, marker, reason)`` of each ```python block of a page."""
    blocks = []
    for m in FENCE.finditer(text):
        if m.group(1) != "python":
            continue
        line = text.count("\n", 0, m.start()) + 1
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        blocks.append((line, m.group(2), marker.group(1) if marker else None,
                       marker.group(2) if marker else None))
    return blocks


def test_the_six_tutorials_exist():
    names = {p.stem for p in TUTORIALS}
    assert names >= {"node-classification", "custom-graph", "recommendation", "social-analysis", "custom-layer",
                     "gpu-and-speed"}, names
    for page in TUTORIALS:
        assert code_blocks(page.read_text()), f"{page.name} has no python code block"


def test_marker_parser():
    text = ("intro\n```python\nx = 1\n```\n<!-- docs-test: skip (needs a GPU) -->\n```python\ny = 2\n```\n"
            "```bash\nls\n```\n")
    blocks = code_blocks(text)
    assert [(b[1], b[2], b[3]) for b in blocks] == [("x = 1\n", None, None), ("y = 2\n", "skip", "needs a GPU")]


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("page", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(page: Path, data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GNNKIT_DATA", str(data_root))
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    ran = 0
    for line, code, marker, reason in code_blocks(page.read_text()):
        if marker is not None:
            assert marker in ("skip", "requires-cuda"), f"{page.name}:{line}: unknown marker {marker!r}"
            assert reason and reason.strip(), f"{page.name}:{line}: a '{marker}' marker must say why, in parentheses"
            if marker == "skip" or not torch.cuda.is_available():
                continue
        try:
            exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
        except Exception as err:  # name the page and line of the failing block
            raise AssertionError(f"{page.name}, code block at line {line} failed: {err!r}") from err
        ran += 1
    assert ran > 0, f"{page.name}: every block was skipped"
