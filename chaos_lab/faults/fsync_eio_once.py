"""The next fsync of the engine fails with EIO, once (libfiu `onetime`); later ones succeed.

The harmful case for an engine that retries: the retry succeeds, but the kernel may already have dropped the
dirty pages the failed fsync covered ("fsyncgate"), so a record acknowledged after a retry may not be on
disk. A correct engine treats the failure as fatal for those bytes: it refuses that order (or reports its
outcome unknown), cuts the bytes, and writes them again only as a new record.
"""

from __future__ import annotations

from chaos_lab.effects import Effect
from chaos_lab.faults.base import WRITE_FAILED, goal
from chaos_lab.faults.explore_rule import ExploreRule, no_params
from chaos_lab.faults.fiu import FailurePoint
from chaos_lab.faults.fsync_eio import FSYNC


class FsyncEIOOnce(FailurePoint):
    kind = "fsync_eio_once"
    in_process = True
    explore = ExploreRule(no_params, (0.3, 1.0), "disk")
    effects = frozenset({Effect.FSYNC_FAILS_ONCE})
    goals = (goal(*WRITE_FAILED, why="the one failing sync hit an engine write"),)
    point = FSYNC
    onetime = True
