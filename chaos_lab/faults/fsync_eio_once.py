"""The next fsync of the engine fails with EIO, once (libfiu `onetime`); later ones succeed.

The harmful case for an engine that retries: the retry succeeds, but the kernel may already have dropped the
dirty pages the failed fsync covered ("fsyncgate"), so a record acknowledged after a retry may not be on
disk. A correct engine treats the failure as fatal for those bytes: it refuses that order (or reports its
outcome unknown), cuts the bytes, and writes them again only as a new record.
"""

from __future__ import annotations

from typing import Any

from chaos_lab.faults import fiu
from chaos_lab.faults.base import Fault
from chaos_lab.faults.fsync_eio import FSYNC
from chaos_lab.faults.lab_ops import engine_running


class FsyncEIOOnce(Fault):
    kind = "fsync_eio_once"

    def __init__(self, lab: Any, errno: int = fiu.EIO) -> None:
        super().__init__(errno=errno)
        self.lab, self.errno = lab, errno

    def inject(self) -> dict[str, Any]:
        return fiu.enable(self.lab, FSYNC, self.errno, onetime=True)

    def heal(self) -> None:
        if engine_running(self.lab):  # not fired yet (no fsync since inject): disable it
            fiu.disable(self.lab, FSYNC, strict=False)
