"""Unit tests of the kill switch: durable activation, token-guarded reset, fail-safe restore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solat_engine.execution.kill_switch import KillSwitch


def test_missing_file_means_inactive(tmp_path: Path) -> None:
    switch = KillSwitch(tmp_path / "kill_switch.json")
    assert not switch.is_active and switch.reason is None and switch.activated_at is None


def test_activate_is_saved_and_restored(tmp_path: Path) -> None:
    path = tmp_path / "kill_switch.json"
    KillSwitch(path).activate("drawdown")
    on_disk = json.loads(path.read_text())
    assert on_disk["active"] is True and on_disk["reason"] == "drawdown"
    restored = KillSwitch(path)
    assert restored.is_active and restored.reason == "drawdown"
    assert restored.activated_at is not None and restored.activated_at.utcoffset().total_seconds() == 0
    assert restored.state().active


def test_reset_with_token(tmp_path: Path) -> None:
    path = tmp_path / "kill_switch.json"
    switch = KillSwitch(path)
    switch.activate("manual")
    switch.reset("s3cret", "s3cret")
    assert not switch.is_active
    assert not KillSwitch(path).is_active


@pytest.mark.parametrize(("token", "expected"), [("wrong", "s3cret"), ("", "s3cret"), ("any", None)])
def test_reset_refused(tmp_path: Path, token: str, expected: str | None) -> None:
    path = tmp_path / "kill_switch.json"
    switch = KillSwitch(path)
    switch.activate("manual")
    with pytest.raises(PermissionError):
        switch.reset(token, expected)
    assert switch.is_active and KillSwitch(path).is_active


@pytest.mark.parametrize("content", [b"", b'{"active": fal', b"[]", b'{"active": "maybe"}', b"\xff\xfe"])
def test_corrupt_file_fails_safe_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "kill_switch.json"
    path.write_bytes(content)
    switch = KillSwitch(path)
    assert switch.is_active
    assert str(path) in (switch.reason or "") and "corrupt" in (switch.reason or "")


def test_unreadable_file_fails_safe(tmp_path: Path) -> None:
    path = tmp_path / "kill_switch.json"
    path.mkdir()  # reading a directory fails with a real OSError
    switch = KillSwitch(path)
    assert switch.is_active and "unreadable" in (switch.reason or "") and str(path) in (switch.reason or "")


def test_failed_save_propagates_but_switch_is_active(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be")
    switch = KillSwitch(blocker / "kill_switch.json")
    with pytest.raises(OSError):
        switch.activate("halt")
    assert switch.is_active and switch.reason == "halt"


def test_failed_reset_save_keeps_switch_active(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    path = state_dir / "kill_switch.json"
    switch = KillSwitch(path)
    switch.activate("halt")
    path.unlink()
    state_dir.rmdir()
    state_dir.write_text("a file where the state directory was: the save must fail")
    with pytest.raises(OSError):
        switch.reset("t", "t")
    assert switch.is_active and switch.reason == "halt"


def test_restore_state_rereads_file(tmp_path: Path) -> None:
    path = tmp_path / "kill_switch.json"
    switch = KillSwitch(path)
    KillSwitch(path).activate("other process")
    assert not switch.is_active
    switch.restore_state()
    assert switch.is_active and switch.reason == "other process"
