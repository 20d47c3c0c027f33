"""Tier 1: config.json torn on disk and saved onto a really full disk."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
from solat_engine.config import ConfigError, EngineConfig, load_config, save_config

pytestmark = [pytest.mark.chaos, pytest.mark.tier1]


def test_config_json_partial_write__run_fails_or_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    save_config(path, EngineConfig(max_order_qty=5))
    full = path.read_bytes()
    for cut in (1, len(full) // 3, len(full) // 2, len(full) - 3):
        with open(path, "wb") as fh:  # a real half-written file
            fh.write(full[:cut])
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert str(path) in str(info.value) and "byte offset" in str(info.value)
    # The same file stops a fresh process (the engine's start path) with the file named.
    proc = subprocess.run(
        [sys.executable, "-c", f"from solat_engine.config import load_config; load_config({str(path)!r})"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "ConfigError" in proc.stderr and str(path) in proc.stderr


def test_config_save_on_full_disk_keeps_old_config(small_disk) -> None:
    path = small_disk.root / "config.json"
    save_config(path, EngineConfig(max_order_qty=5))
    old = path.read_bytes()
    small_disk.fill()
    with pytest.raises(OSError) as info:
        save_config(path, EngineConfig(max_order_qty=9))
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == old and load_config(path).max_order_qty == 5
    assert [p.name for p in small_disk.root.iterdir() if not p.name.startswith(".filler")] == ["config.json"]
