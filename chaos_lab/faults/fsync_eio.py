"""fsync fails with EIO, with free disk, until healed: a dying disk or a thin pool that ran out.

Every fsync in the engine fails (ledger, snapshots, kill-switch file): ATC'20 "Can applications recover from
fsync failures?" found most storage engines mishandle exactly this. The engine must refuse orders, report
/health degraded (`ledger`), and resume once syncs succeed again, having cut what the failed fsync covered.
"""

from __future__ import annotations

from typing import Any

from chaos_lab.faults import fiu
from chaos_lab.faults.base import Fault
from chaos_lab.faults.lab_ops import engine_running

FSYNC = "posix/io/sync/fsync"


class FsyncEIO(Fault):
    kind = "fsync_eio"

    def __init__(self, lab: Any, errno: int = fiu.EIO) -> None:
        super().__init__(errno=errno)
        self.lab, self.errno = lab, errno

    def inject(self) -> dict[str, Any]:
        return fiu.enable(self.lab, FSYNC, self.errno)

    def heal(self) -> None:
        if engine_running(self.lab):  # a restarted engine starts with every point disabled
            fiu.disable(self.lab, FSYNC, strict=False)
