"""Fixtures for dataset tests: an isolated cache and the real raw folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Every dataset test writes its caches and digest records under tmp_path,
    never to ~/.cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GNNKIT_CACHE", str(cache))
    return cache


@pytest.fixture
def raw_dir(data_root):
    """``raw_dir(name)`` → ``<data_root>/<name>/raw``; fails under CI and skips
    locally when it is missing."""

    def get(name: str) -> Path:
        path = data_root / name / "raw"
        if not path.is_dir():
            message = f"{path} is missing from the data root"
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(message)
            pytest.skip(message)
        return path

    return get
