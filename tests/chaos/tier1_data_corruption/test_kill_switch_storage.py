"""Tier 1: activating the kill switch when its disk is really full (4 MiB tmpfs filled to ENOSPC)."""

from __future__ import annotations

import errno

import pytest
from solat_engine.execution.kill_switch import KillSwitch, KillSwitchState

pytestmark = [pytest.mark.chaos, pytest.mark.tier1]


def test_kill_switch_disk_full__activate_raises_memory_active_file_intact(small_disk) -> None:
    path = small_disk.root / "kill_switch.json"
    switch = KillSwitch(path)
    switch.save_state()
    old = path.read_bytes()
    small_disk.fill()
    with pytest.raises(OSError) as info:
        switch.activate("loss limit")
    assert info.value.errno == errno.ENOSPC
    assert switch.is_active and switch.reason and switch.reason == "loss limit"
    assert path.read_bytes() == old
    assert KillSwitchState.model_validate_json(path.read_bytes()).active is False
    assert [p.name for p in small_disk.root.iterdir() if not p.name.startswith(".filler")] == [path.name]
    small_disk.free()
    switch.save_state()
    assert KillSwitch(path).is_active
