"""The one place that knows how to make bytes durable.

Every writer in the engine (ledger, kill switch, snapshots, bar store, config) goes through these helpers so
that "durable" means the same thing everywhere: data fsync'd, and on create/rename the directory fsync'd too,
otherwise a crash can lose the *name* of a file whose bytes were safely written.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def fsync_dir(path: Path) -> None:
    """fsync a directory so that entries created, renamed or removed in it survive a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path) -> None:
    """Create `path` (and missing parents), fsyncing each parent whose entries changed."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        fsync_dir(directory.parent)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until every byte is written: a short write (e.g. a nearly full disk) is not success."""
    written = os.write(fd, data)
    if written == len(data):  # the usual case, without a memoryview (this sits on the ledger's append path)
        return
    view = memoryview(data)[written:]
    while view:
        view = view[os.write(fd, view) :]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file, never a mix.

    Temp file in the same directory (same filesystem, so os.replace is atomic) + fsync + os.replace +
    fsync(dir). On any error the temp file is removed and the old file is untouched.
    """
    path = Path(path)
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    """atomic_write_bytes of compact JSON (a pydantic model is dumped with its own serializer)."""
    if isinstance(obj, BaseModel):
        data = obj.model_dump_json().encode()
    else:
        data = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    atomic_write_bytes(path, data + b"\n")
