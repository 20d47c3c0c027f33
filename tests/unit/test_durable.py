"""Unit tests of the durability helpers every storage module relies on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel
from solat_engine import durable
from solat_engine.durable import atomic_write_bytes, atomic_write_json, ensure_dir, fsync_dir, write_all


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.bin"
    atomic_write_bytes(target, b"one")
    assert target.read_bytes() == b"one"
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert leftovers(target.parent) == []


def test_atomic_write_fsyncs_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.fsync is wrapped only to record which kinds of descriptors were synced."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    monkeypatch.setattr(durable.os, "fsync", recording_fsync)
    atomic_write_bytes(tmp_path / "x", b"data")
    assert synced == ["file", "dir"]


def test_failed_replace_keeps_old_file_and_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "occupant").write_text("keeps the directory non-empty")
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert (target / "occupant").exists()
    assert leftovers(tmp_path) == []


def test_failed_write_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Monkeypatches os.write to fail (ENOSPC) so the cleanup path runs; real ENOSPC is in the chaos tests."""
    (tmp_path / "f").write_bytes(b"old")

    def no_space(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable.os, "write", no_space)
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "f", b"new")
    assert (tmp_path / "f").read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_write_all_survives_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.write is wrapped to write at most 3 bytes per call, as a nearly full disk may."""
    real_write = os.write
    monkeypatch.setattr(durable.os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    path = tmp_path / "short"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        write_all(fd, b"0123456789")
    finally:
        os.close(fd)
    assert path.read_bytes() == b"0123456789"


def test_atomic_write_json_model_and_dict(tmp_path: Path) -> None:
    class Thing(BaseModel):
        a: int

    atomic_write_json(tmp_path / "m.json", Thing(a=1))
    atomic_write_json(tmp_path / "d.json", {"b": [1, 2]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    assert json.loads((tmp_path / "d.json").read_text()) == {"b": [1, 2]}


def test_ensure_dir_and_fsync_dir(tmp_path: Path) -> None:
    ensure_dir(tmp_path / "x" / "y")
    ensure_dir(tmp_path / "x" / "y")  # idempotent
    assert (tmp_path / "x" / "y").is_dir()
    fsync_dir(tmp_path / "x")
    with pytest.raises(FileNotFoundError):
        fsync_dir(tmp_path / "missing")
