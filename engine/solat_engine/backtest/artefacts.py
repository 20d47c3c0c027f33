"""Backtest artefacts: all-or-nothing directories.

Files go into a temp directory (each fsync'd), the directory is fsync'd and renamed to `artefacts/<run_id>`,
the parent fsync'd, and only then is the `COMPLETE` marker written: a reader that sees `COMPLETE` sees every
file, and a crash or a full disk leaves at most a temp directory, never a half run under the real name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from solat_engine.durable import atomic_write_bytes, ensure_dir, fsync_dir, write_all

COMPLETE = "COMPLETE"
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_RUN_ID = re.compile(RUN_ID_PATTERN)


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_artefacts(root: Path, run_id: str, files: dict[str, Any]) -> Path:
    """Write `files` (name -> JSON-able) as `root/<run_id>/`; OSError leaves no partial run behind."""
    if not _RUN_ID.match(run_id):
        raise ValueError(f"invalid run_id {run_id!r}")
    ensure_dir(root)
    final = root / run_id
    tmp = root / f".tmp-{run_id}"
    try:
        tmp.mkdir()
        for name, obj in files.items():
            # allow_nan=False: `NaN`/`Infinity` are not JSON; a reader would choke on the "complete" run
            text = json.dumps(obj, separators=(",", ":"), default=str, allow_nan=False)
            _write_file(tmp / name, text.encode() + b"\n")
        fsync_dir(tmp)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(root)
    atomic_write_bytes(final / COMPLETE, b"complete\n")
    return final


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} in summary.json")


def read_run(root: Path, run_id: str) -> dict[str, Any] | None:
    """Summary of a complete run, None if there is no complete run of that id. ValueError if the summary is
    not strict JSON (`NaN`/`Infinity` written by an older engine): that run cannot be served as a result."""
    if not _RUN_ID.match(run_id):
        raise ValueError(f"invalid run_id {run_id!r}")
    run_dir = root / run_id
    if not (run_dir / COMPLETE).exists():
        return None
    return json.loads((run_dir / "summary.json").read_bytes(), parse_constant=_no_constant)
