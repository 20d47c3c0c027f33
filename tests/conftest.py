"""Shared fixtures: real faults need real filesystems, so disk-full tests mount a tiny tmpfs."""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount_tmpfs(target: Path, size_bytes: int) -> None:
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(target)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        # Not a skip: a disk-full test that cannot make a full disk has not tested anything.
        raise RuntimeError(f"cannot mount a tmpfs at {target} (run the tests as root): {proc.stderr.strip()}")


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


class SmallDisk:
    """A real size-limited filesystem. `fill()` leaves it with (almost) no free bytes; `free()` undoes it."""

    def __init__(self, root: Path, size_bytes: int) -> None:
        self.root = root
        self.size_bytes = size_bytes
        self._fillers: list[Path] = []

    def fill(self, leave_bytes: int = 0) -> int:
        """Write filler files until ENOSPC (or until `leave_bytes` remain). Returns bytes written."""
        written = 0
        filler = self.root / f".filler-{uuid.uuid4().hex}"
        self._fillers.append(filler)
        chunk = b"\0" * 65536
        with open(filler, "wb", buffering=0) as fh:
            while True:
                st = os.statvfs(self.root)
                avail = st.f_bavail * st.f_frsize
                if avail <= leave_bytes:
                    break
                want = min(len(chunk), max(avail - leave_bytes, 1))
                try:
                    written += fh.write(chunk[:want])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
        return written

    def free(self) -> None:
        for filler in self._fillers:
            filler.unlink(missing_ok=True)
        self._fillers.clear()

    def available(self) -> int:
        st = os.statvfs(self.root)
        return st.f_bavail * st.f_frsize


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 4 MiB tmpfs mounted under tmp_path; filling it gives genuine ENOSPC to every writer on it."""
    root = tmp_path / "small-disk"
    _mount_tmpfs(root, 4 * 1024 * 1024)
    disk = SmallDisk(root, 4 * 1024 * 1024)
    try:
        yield disk
    finally:
        disk.free()
        _umount(root)
