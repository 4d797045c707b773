"""gnnkit.settings.retain_freed_memory: freed large blocks stay in the process (no page faults per step)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from gnnkit.cli import console_main  # noqa: F401  (the entry point the executable calls exists)

PROBE = """
import sys, torch
from gnnkit.settings import retain_freed_memory
applied = retain_freed_memory() if sys.argv[1] == "retain" else False
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS:")).split()[1]) // 1024
before = rss()
x = torch.ones(64 * 2**20 // 4)  # 64 MiB: over glibc's 32 MiB limit for its heap
del x
print(applied, rss() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only (returns False elsewhere)")
def test_freed_large_blocks_stay_resident_only_when_asked():
    def run(mode):
        out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True).stdout
        applied, kept = out.split()
        return applied == "True", int(kept)

    applied, kept = run("retain")
    assert applied and kept >= 60  # the 64 MiB stayed in the process for the next allocation
    applied, kept = run("default")
    assert not applied and kept < 8  # glibc gave it back at once


def test_the_command_applies_it_unless_told_not_to(monkeypatch):
    from gnnkit import settings

    monkeypatch.delenv("GNNKIT_RETAIN_MEMORY", raising=False)
    assert settings.retain_memory_wanted()
    monkeypatch.setenv("GNNKIT_RETAIN_MEMORY", "0")
    assert not settings.retain_memory_wanted()
