"""Disk faults: fill the engine's size-limited tmpfs /data for real, then free it.

The filler is written on the engine's own tmpfs (DockerLab.volume_exec: the same filesystem the engine has
mounted at /data, whether the engine runs or not), so the engine's next write gets a genuine ENOSPC.
"""

from __future__ import annotations

import errno
import uuid
from typing import Annotated, Any

from pydantic import model_validator

from chaos_lab.bounds import Between
from chaos_lab.effects import Effect
from chaos_lab.faults.base import WRITE_FAILED, Fault, FaultError, goal
from chaos_lab.faults.explore_rule import ExploreRule
from chaos_lab.faults.params import FaultParams
from chaos_lab.lab.protocol import Lab
from chaos_lab.lab.volume import query_data, run_on_data
from chaos_lab.models import Goal

FILLER = "/data/.chaos-filler"  # one file per fault: <FILLER>-<hex>, so what a fill wrote is its file's size
START_FILLER = "/data/.chaos-start-filler"  # a start from captured data: the volume as full as production's
MAX_BYTES = 2**40  # 1 TiB: far above any lab volume, far below a typo like 1e30
SLACK = 64 * 1024  # what other writers may free meanwhile; a "full" disk with more free than this is not full

# Runs in the engine image: computes how much to write from statvfs, then writes it with real data pages
# (fallocate on tmpfs reserves pages too; write() is the fallback). Prints "written free".
_FILL_SCRIPT = r"""
import os, sys
mode, amount, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
st = os.statvfs('/data'); total = st.f_blocks * st.f_frsize; free = st.f_bavail * st.f_frsize
if mode == 'bytes': want = min(amount, free)
elif mode == 'percent': want = max(0, min(free, total * amount // 100 - (total - free)))
else: want = max(0, free - amount)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
written = 0
try:
    try:
        os.posix_fallocate(fd, os.lseek(fd, 0, os.SEEK_END), want) if want else None
        written = want
    except OSError:
        chunk = b'\0' * 65536
        while written < want:
            try: written += os.write(fd, chunk[: min(len(chunk), want - written)])
            except OSError: break
    os.fsync(fd)
finally:
    os.close(fd)
st = os.statvfs('/data')
print(written, st.f_bavail * st.f_frsize)
"""

# What a fill did, read again when Docker lost the fill's own output: its file's size, and /data's free bytes.
_MEASURE_SCRIPT = r"""
import os, sys
st = os.statvfs('/data')
print(os.stat(sys.argv[1]).st_size if os.path.exists(sys.argv[1]) else 0, st.f_bavail * st.f_frsize)
"""


class DiskFill(Fault):
    """Fill /data: `bytes=N` writes exactly N bytes (capped by free space), `percent=P` brings usage to P %,
    `leave_bytes=N` leaves exactly N bytes free (0 = completely full)."""

    kind = "disk_fill"
    explore = ExploreRule(lambda r: {"leave_bytes": r.choice([0, 0, 4096, 65536])}, (0.5, 3.0), "disk")
    effects = frozenset({Effect.DISK_FULL})

    class Params(FaultParams):
        """Exactly one of the three; byte counts up to MAX_BYTES (the lab's /data is 64 MiB by default)."""

        bytes: Annotated[int, Between(0, MAX_BYTES, " bytes", integer=True)] | None = None
        percent: Annotated[int, Between(0, 100, " %", integer=True)] | None = None
        leave_bytes: Annotated[int, Between(0, MAX_BYTES, " bytes", integer=True)] | None = None

        @model_validator(mode="after")
        def _one(self) -> DiskFill.Params:
            given = [k for k in ("bytes", "percent", "leave_bytes") if getattr(self, k) is not None]
            if len(given) != 1:
                got = ", ".join(given) or "none"
                raise ValueError(f"exactly one of bytes, percent, leave_bytes (got {got})")
            return self

    @classmethod
    def default_goals(cls, params: dict[str, Any]) -> tuple[Goal, ...]:
        """A disk filled to the last byte must make an engine write fail with ENOSPC while it is full; a
        partial fill promises no failure, so it has no default goal (a scenario states its own)."""
        if params.get("leave_bytes") != 0:
            return ()
        return (goal(*WRITE_FAILED, errno=errno.ENOSPC, why="an engine write failed with ENOSPC while full"),)

    def __init__(
        self, lab: Lab, bytes: int | None = None, percent: int | None = None, leave_bytes: int | None = None
    ) -> None:
        given = [
            (m, v)
            for m, v in (("bytes", bytes), ("percent", percent), ("leave", leave_bytes))
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError("DiskFill needs exactly one of bytes, percent, leave_bytes")
        super().__init__(
            **{
                k: v
                for k, v in (("bytes", bytes), ("percent", percent), ("leave_bytes", leave_bytes))
                if v is not None
            }
        )
        self.lab = lab
        self.mode, self.amount = given[0]
        self.filler = f"{FILLER}-{uuid.uuid4().hex[:12]}"

    def inject(self) -> dict[str, Any]:
        out = run_on_data(self.lab, ["python3", "-c", _FILL_SCRIPT, self.mode, str(self.amount), self.filler])
        if out is None:  # it ran (exit 0); Docker lost what it printed
            out = query_data(self.lab, ["python3", "-c", _MEASURE_SCRIPT, self.filler])
        try:
            written, free = (int(x) for x in out.split()[-2:])
        except ValueError as exc:
            raise FaultError(f"disk fill printed {out!r}") from exc
        if self.mode == "leave" and free > self.amount + SLACK:
            raise FaultError(f"/data still has {free} bytes free after the fill (wanted {self.amount})")
        return {"written_bytes": written, "free_bytes_after": free}

    def heal(self) -> None:
        run_on_data(self.lab, ["rm", "-f", self.filler])


def fill_at_start(lab: Lab, leave_bytes: int) -> dict[str, Any]:
    """Leave `leave_bytes` free on /data before the engine starts, as production's disk was: the filler
    stays for the whole run (faults come on top of it); the next reset wipes it with the rest."""
    fill = DiskFill(lab, leave_bytes=leave_bytes)
    fill.filler = START_FILLER
    return fill.inject()
