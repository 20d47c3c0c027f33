"""fsync fails with EIO, with free disk, until healed: a dying disk or a thin pool that ran out.

Every fsync in the engine fails (ledger, snapshots, kill-switch file): ATC'20 "Can applications recover from
fsync failures?" found most storage engines mishandle exactly this. The engine must refuse orders, report
/health degraded (`ledger`), and resume once syncs succeed again, having cut what the failed fsync covered.
"""

from __future__ import annotations

from chaos_lab.effects import Effect
from chaos_lab.faults.base import WRITE_FAILED, goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.fiu import FailurePoint

FSYNC = "posix/io/sync/fsync"


class FsyncEIO(FailurePoint):
    kind = "fsync_eio"
    in_process = True
    explore = ExploreRule(no_params, (0.5, 3.0), "disk")
    effects = frozenset({Effect.LEDGER_UNWRITABLE})
    goals = (goal(*WRITE_FAILED, why="a write or sync failed while syncs fail"),)
    point = FSYNC
