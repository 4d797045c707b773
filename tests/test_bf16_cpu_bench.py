"""benchmarks/bf16_cpu.py: one alternating fp32 / bf16 GCN run on Cora reports both times and their ratio."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from gnnkit_testing import dataset_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bf16_cpu  # noqa: E402
from gnnkit.train.runtime import cpu_has_native_bf16  # noqa: E402

pytestmark = pytest.mark.data


def test_fp32_and_bf16_epochs_on_cora(data_root, capsys):
    dataset_dir(data_root, "cora")
    result = bf16_cpu.main(["--root", str(data_root), "--repeats", "2", "--warmup", "1"])
    assert result["graph"] == "cora" and result["threads"] == 1
    assert result["native_bf16"] is cpu_has_native_bf16()
    assert result["bf16_over_fp32"] == pytest.approx(result["bf16_s"][0] / result["fp32_s"][0])
    out = capsys.readouterr().out
    assert "native bf16 instructions" in out and "| bf16" in out
